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
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path

from connectors.base import Connector, Estimate, SnapshotBuilder
from connectors.files import read_bounded
from connectors.resilience import PlatformError
from models.snapshot import (
    AccountSnapshot,
    AdminRole,
    Capability,
    ErrorKind,
    Identity,
    Interaction,
    Post,
    Profile,
)
from models.tables import RegisteredAccount

RECORD_KINDS = {"admin", "participant", "post", "interaction"}
HASHTAG = re.compile(r"#\w+")


class ExportError(Exception):
    pass


class ManualConnector(Connector):
    name = "manual"
    capabilities = frozenset(Capability)

    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        builder = self.new_builder(account)
        builder.snapshot.platform = account.platform
        builder.snapshot.profile = Profile(
            id=account.platform_id,
            handle=account.handle,
            name=account.handle or account.key,
            closed=account.audience == "closed",
        )
        with builder.collect(Capability.PROFILE):
            rows = self._read_export(account)
        if not builder.snapshot.usable(Capability.PROFILE):
            reason = builder.snapshot.collections[Capability.PROFILE.value]
            for capability in (Capability.ADMINS, Capability.PARTICIPANTS, Capability.POSTS, Capability.INTERACTIONS):
                builder.snapshot.collections[capability.value] = reason
            return builder.snapshot
        for capability in (Capability.ADMINS, Capability.PARTICIPANTS, Capability.POSTS, Capability.INTERACTIONS):
            with builder.collect(capability):
                pass
        self._fill(builder, account, rows)
        builder.snapshot.notes.append(f"observed by ITS export {Path(account.export or '').name}")
        return builder.snapshot

    def estimate(
        self, account: RegisteredAccount, cursor: dict[str, str], previous: AccountSnapshot | None
    ) -> Estimate:
        return Estimate(basis="reads an ITS export file: no platform request")

    def classify_error(self, error: BaseException) -> PlatformError:
        if isinstance(error, FileNotFoundError):
            return PlatformError(ErrorKind.NOT_FOUND, f"export file not found: {error.filename}")
        return PlatformError(ErrorKind.MALFORMED, str(error))

    def _read_export(self, account: RegisteredAccount) -> list[tuple[int, dict[str, str]]]:
        path = Path(account.export or "")
        try:
            policy = self.context.policy  # bounded: a wrong export must not fill memory or hang the run
            raw = read_bounded(path, max_bytes=policy.export_max_bytes, timeout_seconds=policy.export_read_seconds)
            with io.StringIO(raw.decode("utf-8-sig"), newline="") as handle:
                reader = csv.DictReader(handle)
                rows = [
                    (number, {k.strip().lower(): (v or "").strip() for k, v in row.items() if k})
                    for number, row in enumerate(reader, start=2)
                ]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise self.classify_error(exc) from None
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
        return rows

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


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _hashtags(row: dict[str, str]) -> list[str]:
    tags = set(HASHTAG.findall(row.get("text", "")))
    tags.update(t if t.startswith("#") else f"#{t}" for t in row.get("hashtags", "").split() if t)
    return sorted(tags)
