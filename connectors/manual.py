"""The `manual` connector: audits what no API shows, from an export ITS makes by hand.

A Facebook group's member list, an Instagram account's admins, a platform without an API: ITS
exports (or types) them into one CSV per account, named by the registry's `export:`. Columns:

    record        admin | participant | post | interaction
    kind          for interactions: comment, reply, mention, tag, ...; for admins: the role
    id            the platform id of the person (admin, participant, author, actor)
    handle        their handle, if the platform has handles
    name          their display name as the platform shows it
    target_id, target_handle, target_name    interactions: who was replied to / mentioned
    post_id, thread_id, created_at (ISO 8601), text, url, hashtags (space separated)

The profile comes from the registry (the export is what ITS observed on the account).

An export that shows less than the rules need is never a clean bill: an empty (0-byte) or header-only
file makes every collection `unavailable`; no admin or participant rows, or a missing column a rule
reads (`COLUMNS_NEEDED`), makes that collection `unavailable` (nothing usable) or `partial` (rows
kept, a field missing). The account is then not fully audited and its earlier findings `unknown`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from connectors.base import Connector, Estimate, SnapshotBuilder
from connectors.files import read_bounded
from connectors.resilience import PlatformError, classify_failure
from models.snapshot import (
    AccountSnapshot,
    AdminRole,
    Capability,
    CollectionState,
    ErrorKind,
    Identity,
    Interaction,
    Post,
    Profile,
)
from models.tables import RegisteredAccount

RECORD_KINDS = {"admin", "participant", "post", "interaction"}
HASHTAG = re.compile(r"#\w+")
IDENTITY = ("id", "handle", "name")
TARGET = ("target_id", "target_handle", "target_name")
# Per collection: (any one of these columns, what a missing one costs). A column group is present
# when the header has at least one of its columns.
COLUMNS_NEEDED: dict[Capability, list[tuple[tuple[str, ...], str]]] = {
    Capability.ADMINS: [(IDENTITY, "who each admin is (admin-not-active-staff, too-few-staff-admins)")],
    Capability.PARTICIPANTS: [(IDENTITY, "who each participant is (non-school-participant)")],
    Capability.POSTS: [
        (("text",), "what the posts say (confidential-content)"),
        (("created_at",), "when the account last posted (departed-staff-account-active)"),
    ],
    Capability.INTERACTIONS: [
        (IDENTITY, "who interacted (staff-student-interaction)"),
        (TARGET, "who was replied to (staff-student-interaction)"),
        (("text",), "what the replies say (confidential-content, staff-student-interaction)"),
        (("created_at",), "when the account last replied (departed-staff-account-active)"),
    ],
}
# Every account has admins and a participant list: an export without such rows did not export them.
ROWS_NEEDED = {Capability.ADMINS: "admin", Capability.PARTICIPANTS: "participant"}
RECORD_OF = {
    "admin": Capability.ADMINS,
    "participant": Capability.PARTICIPANTS,
    "post": Capability.POSTS,
    "interaction": Capability.INTERACTIONS,
}


@dataclass(frozen=True)
class Export:
    """The export's header (lower-cased column names) and its data rows with their line numbers."""

    name: str
    columns: frozenset[str]
    rows: list[tuple[int, dict[str, str]]]


@dataclass(frozen=True)
class Gap:
    state: CollectionState
    reason: str


# Where the fix is done for what the manual connector audits from exports: closed Facebook groups,
# whose settings are not a Page's. Keys are `platform:rule` (or `platform:rule:subject`); other
# platforms fall back to their own connector's table. Placeholders as in connectors/facebook/remediation.py.
GROUP_MEMBERS = "the Facebook group {handle}: Manage → People → Members"
GROUP_ADMINS = "the Facebook group {handle}: Manage → People → Admins and moderators"
REMEDIATION: dict[str, str] = {
    "facebook:admin-not-active-staff": (
        f"In {GROUP_ADMINS}, remove {{person}} as admin (··· → Remove as admin), then remove them from the "
        "group's members. If {person} is in fact active staff, correct the directory."
    ),
    "facebook:too-few-staff-admins": (
        f"In {GROUP_ADMINS}, invite active staff as admins until at least two besides ITS hold it; list them "
        "under admins in the registry entry {account}."
    ),
    "facebook:its-admin-missing": (
        f"In {GROUP_ADMINS}, invite the ITS administrator identity {{its_admin}} as admin; record it as its_admin "
        "in the registry entry {account}."
    ),
    "facebook:password-not-reset-after-departure": (
        f"In {GROUP_ADMINS}, remove {{person}}; change the password of any login the group's staff share "
        "(Accounts Center → Password and security → Change password) and record the reset date in the "
        "registry entry {account}."
    ),
    "facebook:password-reset-overdue": (
        "Change the password of the login used for the Facebook group {handle} (Accounts Center → Password and "
        "security → Change password) and record the reset date in the registry entry {account}."
    ),
    "facebook:non-school-participant": (
        f"In {GROUP_MEMBERS}, remove {{person}} (··· → Remove member), or add them to the directory if they "
        "belong to the school body; then export the member list again for the next audit."
    ),
    "facebook:shared-individual-account": (
        f"In {GROUP_ADMINS}, keep only the registered holder and give everyone else their own account, or "
        "re-register {account} as a joint account."
    ),
    "facebook:departed-staff-account-active": (
        "Archive the Facebook group {handle} of {person} (Manage → Group settings → Archive group), mark the "
        "registry entry {account} disabled, and establish a new group for the replacement."
    ),
    "facebook:confidential-content": (
        "In the Facebook group {handle}, open the post or comment (··· → Edit post, or Delete), remove the "
        "confidential information, change any password it exposed, and tell the people whose information was shown."
    ),
}


class ManualConnector(Connector):
    name = "manual"
    capabilities = frozenset(Capability)
    remediation: ClassVar[dict[str, str]] = REMEDIATION
    reads_export = True  # the registry's `export:` file, not an API
    records_traffic = False  # no HTTP to record or replay
    needs_handle = False  # the export names the account
    # Platforms ITS exports by hand that have no connector here: how discovery recognises their profile links.
    other_platforms: ClassVar[dict[str, tuple[tuple[str, ...], str]]] = {
        "tiktok": (("tiktok.com",), "https://www.tiktok.com/@{handle}"),
        "instagram": (("instagram.com",), "https://www.instagram.com/{handle}"),
    }
    shop_links = ("tiktok.com/@",)  # a creator's profile is their storefront (TikTok Shop)

    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        builder = self.new_builder(account)
        builder.snapshot.platform = account.platform
        builder.snapshot.profile = Profile(
            id=account.platform_id,
            handle=account.handle,
            name=account.handle or account.key,
            closed=account.audience == "closed",
        )
        export: Export | None = None
        with builder.collect(Capability.PROFILE):
            export = self._read_export(account)
        if export is None or not builder.snapshot.usable(Capability.PROFILE):
            reason = builder.snapshot.collections[Capability.PROFILE.value]
            for capability in (Capability.ADMINS, Capability.PARTICIPANTS, Capability.POSTS, Capability.INTERACTIONS):
                builder.snapshot.collections[capability.value] = reason
            return builder.snapshot
        if not export.rows:
            empty = _empty_reason(export)
            for capability in Capability:
                builder.mark(capability, CollectionState.UNAVAILABLE, empty)
            return builder.snapshot
        for capability in (Capability.ADMINS, Capability.PARTICIPANTS, Capability.POSTS, Capability.INTERACTIONS):
            with builder.collect(capability):
                pass
        gaps = coverage_gaps(export)
        for capability, gap in gaps.items():
            builder.mark(capability, gap.state, gap.reason)
        # Rows of an unavailable collection are not kept: nameless admins or participants would
        # read as strangers and make findings out of a broken export.
        skip = {c for c, gap in gaps.items() if gap.state == CollectionState.UNAVAILABLE}
        kept = [(number, row) for number, row in export.rows if RECORD_OF[row["record"].lower()] not in skip]
        self._fill(builder, account, kept)
        builder.snapshot.notes.append(f"observed by ITS export {Path(account.export or '').name}")
        return builder.snapshot

    def estimate(
        self, account: RegisteredAccount, cursor: dict[str, str], previous: AccountSnapshot | None
    ) -> Estimate:
        return Estimate(basis="reads an ITS export file: no platform request")

    def classify_error(self, error: BaseException) -> PlatformError:
        return classify_failure(error, _export_problem)

    def _read_export(self, account: RegisteredAccount) -> Export:
        path = Path(account.export or "")
        try:
            limits = self.context.limits  # bounded: a wrong export must not fill memory or hang the run
            raw = read_bounded(path, max_bytes=limits.export_max_bytes, timeout_seconds=limits.export_read_seconds)
            with io.StringIO(raw.decode("utf-8-sig"), newline="") as handle:
                reader = csv.DictReader(handle)
                columns = frozenset(c.strip().lower() for c in reader.fieldnames or () if c and c.strip())
                rows = [
                    (number, {k.strip().lower(): (v or "").strip() for k, v in row.items() if k})
                    for number, row in enumerate(reader, start=2)
                ]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise self.classify_error(exc) from None
        if columns and "record" not in columns:
            raise PlatformError(ErrorKind.MALFORMED, f"{path.name}: no 'record' column: each row must say what it is")
        for number, row in rows:
            if row.get("record", "").lower() not in RECORD_KINDS:
                raise PlatformError(
                    ErrorKind.MALFORMED,
                    f"{path.name}:{number}: field 'record' must be one of {', '.join(sorted(RECORD_KINDS))}, "
                    f"got {row.get('record')!r}",
                )
            if row.get("created_at"):
                try:
                    datetime.fromisoformat(row["created_at"])
                except ValueError:
                    raise PlatformError(
                        ErrorKind.MALFORMED,
                        f"{path.name}:{number}: field 'created_at' is not an ISO date-time: {row['created_at']!r}",
                    ) from None
        return Export(path.name, columns, rows)

    def _fill(
        self, builder: SnapshotBuilder, account: RegisteredAccount, rows: list[tuple[int, dict[str, str]]]
    ) -> None:
        snapshot = builder.snapshot
        for _number, row in rows:
            record = row["record"].lower()
            person = self._identity(account.platform, row.get("id"), row.get("handle"), row.get("name"))
            if record == "admin":
                snapshot.admins.append(AdminRole(identity=person, role=row.get("kind") or "admin", source="export"))
            elif record == "participant":
                snapshot.participants.append(person)
            elif record == "post":
                snapshot.posts.append(
                    Post(
                        id=row.get("post_id") or f"row-{_number}",
                        created_at=_when(row.get("created_at")),
                        text=row.get("text", ""),
                        url=row.get("url") or None,
                        author=person if (person.id or person.handle or person.display_name) else None,
                        hashtags=_hashtags(row),
                    )
                )
            else:
                target = self._identity(
                    account.platform, row.get("target_id"), row.get("target_handle"), row.get("target_name")
                )
                snapshot.interactions.append(
                    Interaction(
                        kind=row.get("kind") or "comment",
                        actor=person,
                        target=target if (target.id or target.handle or target.display_name) else None,
                        post_id=row.get("post_id") or None,
                        thread_id=row.get("thread_id") or row.get("post_id") or None,
                        created_at=_when(row.get("created_at")),
                        text=row.get("text", ""),
                        url=row.get("url") or None,
                        hashtags=_hashtags(row),
                    )
                )

    @staticmethod
    def _identity(platform: str, id_: str | None, handle: str | None, name: str | None) -> Identity:
        return Identity(
            platform=platform, id=id_ or None, handle=(handle or "").lstrip("@") or None, display_name=name or None
        )


def _export_problem(error: BaseException) -> PlatformError | None:
    """What reading an export file can go wrong with; the shared layer classifies anything else."""
    if isinstance(error, FileNotFoundError):
        return PlatformError(ErrorKind.NOT_FOUND, f"export file not found: {error.filename}")
    if isinstance(error, OSError | UnicodeDecodeError | csv.Error):  # the message names the file, not a secret
        return PlatformError(ErrorKind.MALFORMED, str(error))
    return None


def _empty_reason(export: Export) -> str:
    what = "is empty (no header, no rows)" if not export.columns else "has a header but no rows"
    return f"ITS export {export.name} {what}: nothing on this account could be audited; re-export it"


def coverage_gaps(export: Export) -> dict[Capability, Gap]:
    """Collections the export cannot fully show: no rows of a kind every account has, or a missing column."""
    counts = {capability: 0 for capability in RECORD_OF.values()}
    for _number, row in export.rows:
        counts[RECORD_OF[row["record"].lower()]] += 1
    gaps: dict[Capability, Gap] = {}
    for capability, record in ROWS_NEEDED.items():
        if not counts[capability]:
            reason = f"ITS export {export.name} has no '{record}' rows: the {capability.value} list was not exported"
            gaps[capability] = Gap(CollectionState.UNAVAILABLE, reason)
    for capability, needs in COLUMNS_NEEDED.items():
        if capability in gaps:
            continue
        missing = [(group, why) for group, why in needs if not export.columns.intersection(group)]
        if not missing:
            continue
        lacks = "; ".join(f"no {' or '.join(repr(c) for c in group)} column, so not {why}" for group, why in missing)
        unusable = not counts[capability] or any(group == IDENTITY for group, _ in missing)
        state = CollectionState.UNAVAILABLE if unusable else CollectionState.PARTIAL
        gaps[capability] = Gap(state, f"ITS export {export.name} has {lacks}")
    return gaps


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _hashtags(row: dict[str, str]) -> list[str]:
    tags = set(HASHTAG.findall(row.get("text", "")))
    tags.update(t if t.startswith("#") else f"#{t}" for t in row.get("hashtags", "").split() if t)
    return sorted(tags)
