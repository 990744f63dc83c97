"""Helpers shared by several rules: who a platform identity is, who administers an account, masking.

The underscore keeps the loader from importing this module as a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from auditor.directory import Match, MatchMethod, normalise_handle
from auditor.rules.base import RuleContext
from models.snapshot import AdminRole, Capability, Identity

if TYPE_CHECKING:  # the tables are types here: the rules load without the database stack
    from models.tables import Person


OBSERVED = "observed"
DECLARED = "declared"

# --- people ---------------------------------------------------------------------------------


def today(ctx: RuleContext) -> date:
    """The run's date: rules never read the wall clock."""
    return ctx.as_of.date()


def has_left(ctx: RuleContext, person: Person) -> bool:
    """The person has left the Division (departed status, or a departure date on/before the run)."""
    if person.status == "departed":
        return True
    return person.departure_date is not None and person.departure_date <= today(ctx)


def not_active_staff_reason(ctx: RuleContext, person: Person | None) -> str | None:
    """Why a person does not count as active staff, or None when they do."""
    if person is None:
        return "unknown to the directory"
    if person.role not in ctx.policy.staff_roles:
        return f"not staff (directory role: {person.role})"
    if has_left(ctx, person):
        when = f" on {person.departure_date.isoformat()}" if person.departure_date else ""
        return f"departed{when}"
    if not ctx.directory.is_active(person, today(ctx)):
        return f"not active (directory status: {person.status})"
    return None


@dataclass(frozen=True)
class Resolved:
    """A platform identity and the directory person it was matched to (if any)."""

    identity: Identity
    match: Match | None
    person: Person | None

    @property
    def fuzzy(self) -> bool:
        return self.person is not None and self.match is not None and not self.match.certain

    def evidence(self) -> dict[str, Any]:
        if self.match is not None:
            return self.match.evidence()
        return {
            "identity": self.identity.label(),
            "platform_id": self.identity.id,
            "match_method": MatchMethod.NONE.value,
            "match_note": "identity was not matched",
        }


def resolve(ctx: RuleContext, identity: Identity) -> Resolved:
    match = ctx.match(identity.key)
    person = ctx.directory.person(match.person_id) if match is not None else None
    return Resolved(identity=identity, match=match, person=person)


def person_label(person: Person) -> str:
    """A person as every message names them: name and directory id, never an id alone."""
    return f"{person.full_name} ({person.person_id})" if person.full_name else f"({person.person_id})"


def named(ctx: RuleContext, person: Person) -> str:
    """Staff by name and id; anyone else (a student is a minor) by directory role and id, never by name."""
    return person_label(person) if person.role in ctx.policy.staff_roles else f"{person.role} {person.person_id}"


def person_summary(person: Person) -> dict[str, Any]:
    """What a reader needs about a directory person: id, role, status; no names of minors."""
    summary: dict[str, Any] = {"person_id": person.person_id, "role": person.role, "status": person.status}
    if person.departure_date is not None:
        summary["departure_date"] = person.departure_date.isoformat()
    return summary


# --- the account's own identity --------------------------------------------------------------


def is_account_itself(ctx: RuleContext, identity: Identity | None) -> bool:
    """True for the audited account's own identity (its posts and replies are not a participant's)."""
    if identity is None:
        return False
    profile = ctx.snapshot.profile if ctx.snapshot is not None else None
    ids = {ctx.account.platform_id, profile.id if profile else None} - {None}
    handles = {normalise_handle(h) for h in (ctx.account.handle, profile.handle if profile else None) if h}
    if identity.id and identity.id in ids:
        return True
    return bool(identity.handle and normalise_handle(identity.handle) in handles)


def its_person_id(ctx: RuleContext) -> str | None:
    """The directory person behind the ITS admin identity, when the directory declares it."""
    return ctx.directory.declared_person(ctx.account.platform, ctx.account.its_admin)


def is_its_identity(ctx: RuleContext, identity: Identity, person_id: str | None) -> bool:
    its = ctx.account.its_admin
    if not its:
        return False
    wanted = normalise_handle(its)
    if identity.id and identity.id == its.strip():
        return True
    if identity.handle and normalise_handle(identity.handle) == wanted:
        return True
    its_person = its_person_id(ctx)
    return its_person is not None and person_id == its_person


# --- admins: observed on the platform, or declared in the registry ---------------------------


@dataclass(frozen=True)
class Admin:
    """One holder of access to the account, as observed or as declared."""

    subject: str  # stable: identity key (observed) or directory id / ITS handle (declared)
    label: str
    person: Person | None
    is_admin: bool  # full control, as opposed to a lesser role (editor, moderator)
    is_its: bool
    role: str  # the platform's (or registry's) word for the access held
    resolved: Resolved | None = None  # observed admins only
    own_login: bool = False  # the account's own identity: whoever holds its password

    @property
    def fuzzy(self) -> bool:
        return self.resolved is not None and self.resolved.fuzzy

    @property
    def shared_login(self) -> bool:
        """The account's own login with no single person behind it (a joint account's password)."""
        return self.own_login and self.person is None

    def evidence(self) -> dict[str, Any]:
        data: dict[str, Any] = {"admin": self.label, "platform_role": self.role}
        if self.is_its:
            data["its_account"] = True
        if self.own_login:
            data["own_login"] = "the account's own login: its registered holder(s) use it"
        if self.resolved is not None:
            data.update(self.resolved.evidence())
        if self.person is not None:
            data.update(person_summary(self.person))
        return data


@dataclass(frozen=True)
class AdminSet:
    source: str  # observed | declared
    admins: list[Admin]
    note: str  # where the list came from, and why

    @property
    def confidence(self) -> str:
        return "certain" if self.source == OBSERVED else "declared"

    def evidence(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "admins": [admin.evidence() for admin in self.admins],
            "source_note": self.note,
        }


def admins(ctx: RuleContext) -> AdminSet:
    """Observed admins when the platform shows them and the collection worked, else the registry's."""
    platform_shows_admins = Capability.ADMINS in ctx.capabilities
    if platform_shows_admins and ctx.snapshot is not None and ctx.snapshot.usable(Capability.ADMINS):
        observed = [_observed_admin(ctx, role) for role in ctx.snapshot.admins]
        return AdminSet(OBSERVED, observed, f"admin roles read from {ctx.account.platform}")
    if platform_shows_admins:
        status = ctx.snapshot.status_of(Capability.ADMINS) if ctx.snapshot is not None else None
        state = status.state.value if status is not None else "not collected"
        note = (
            f"{ctx.account.platform} can show admins but the admins collection was {state} "
            "(see audit-incomplete); the registry's declared admins were used instead"
        )
    else:
        note = f"{ctx.account.platform} does not show admins through its API; the registry's declared admins"
    return AdminSet(DECLARED, _declared_admins(ctx), note)


def _observed_admin(ctx: RuleContext, role: AdminRole) -> Admin:
    resolved = resolve(ctx, role.identity)
    person = resolved.person
    own_login = is_account_itself(ctx, role.identity)
    holders = list(dict.fromkeys(ctx.account.holders))
    label = role.identity.label()
    if own_login and person is None and ctx.account.kind == "individual" and len(holders) == 1:
        person = ctx.directory.person(holders[0])  # an individual account's login is its holder's
        holder = named(ctx, person) if person is not None else holders[0]
        label = f"{label} (own login of holder {holder})"
    elif (
        person is not None and person.role in ctx.policy.staff_roles and person.full_name.casefold() in label.casefold()
    ):
        label = f"{label} ({person.person_id})"  # the platform already shows the name: add the id
    elif person is not None:
        label = f"{label}, {named(ctx, person)}"
    return Admin(
        subject=role.identity.key,
        label=label,
        person=person,
        is_admin=role.is_admin,
        is_its=is_its_identity(ctx, role.identity, person.person_id if person else None),
        role=role.role,
        resolved=resolved,
        own_login=own_login,
    )


def _declared_label(ctx: RuleContext, person_id: str) -> str:
    """A declared admin by name and id; an id the directory lacks says so rather than standing alone."""
    person = ctx.directory.person(person_id)
    return named(ctx, person) if person is not None else f"{person_id} (not in the directory)"


def _declared_admins(ctx: RuleContext) -> list[Admin]:
    its_person = its_person_id(ctx)
    declared = [
        Admin(
            subject=person_id,
            label=_declared_label(ctx, person_id),
            person=ctx.directory.person(person_id),
            is_admin=True,
            is_its=its_person is not None and person_id == its_person,
            role="admin (declared)",
        )
        for person_id in dict.fromkeys(ctx.account.declared_admins)
    ]
    its = ctx.account.its_admin
    if its and not any(admin.is_its for admin in declared):
        declared.append(
            Admin(
                subject=f"its:{normalise_handle(its)}",
                label=its,
                person=ctx.directory.person(its_person),
                is_admin=True,
                is_its=True,
                role="ITS admin (declared)",
            )
        )
    return declared


# --- text: hashtags, excerpts, masking of confidential values ---------------------------------

HASHTAG = re.compile(r"#(\w+)")


def normalise_tag(tag: str) -> str:
    return tag.strip().lstrip("#").casefold()


def mentions_keyword(text: str, keyword: str) -> bool:
    """`keyword` appears in `text` as whole words, case-insensitive."""
    return bool(keyword.strip()) and re.search(rf"(?<!\w){re.escape(keyword.strip())}(?!\w)", text, re.I) is not None


def hashtags_in(text: str, declared: Iterable[str] = ()) -> set[str]:
    return {normalise_tag(t) for t in HASHTAG.findall(text)} | {normalise_tag(t) for t in declared}


def excerpt(text: str, limit: int = 140, around: str | None = None) -> str:
    """Whitespace-collapsed text cut to `limit` characters, centred on `around` when it is given."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    at = flat.find(around) if around else -1
    start = 0 if at <= limit // 3 else min(at - limit // 3, len(flat) - (limit - 1))
    lead = "…" if start else ""
    room = limit - len(lead)
    cut = flat[start : start + room]
    if start + room < len(flat):
        cut = cut[:-1] + "…"
    return lead + cut


@dataclass(frozen=True)
class Detector:
    kind: str  # what the reader is told was found
    pattern: re.Pattern[str]
    group: int = 0  # the part to mask (0 = the whole match)


_STREET_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Drive|Dr|Boulevard|Blvd|Crescent|Cres|Court|Ct|Lane|Ln|Way|"
    "Place|Pl|Close|Trail|Terrace|Circle|Bay|Gate|Heights|Highway|Hwy|Parkway|Square|Sq"
)

CREDENTIAL = Detector(
    "password or credential",
    re.compile(
        r"(?i)\b(?:password|passwd|pwd|passcode|pin|login|username|user\s?name)\b\s*"
        r"(?:[:=]\s*|\bis\s+(?=\S*[\d!@#$%^&*]))"  # "password: x", "pwd=x", "password is Robots26"
        r"(?!(?:password|passwd|pwd|passcode|pin)\b)(\S+)"  # "login: password: x" masks x
    ),
    group=1,
)
EMAIL = Detector("e-mail address", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"))
PHONE = Detector(
    "phone number",
    re.compile(r"(?<![\w-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}\b"),
)
HOME_ADDRESS = Detector(
    "home address",
    # A street number, one to four capitalised or numbered words, then a street type: "12 Elm Street",
    # "10234 105 Street NW". Case-sensitive so "20 students on the way" is not an address.
    re.compile(
        r"\b\d{1,6}\s+(?:(?:[A-Z][\w'.-]*|\d+(?:st|nd|rd|th)?)\s+){1,4}"
        rf"(?:{_STREET_TYPES})\b\.?(?:\s+(?:NW|NE|SW|SE))?"
    ),
)


def detectors(student_number_pattern: str, division_email_domains: Iterable[str] = ()) -> list[Detector]:
    """Order matters: credentials first so "password: 300100001" is reported as a credential."""
    student_number = Detector("student number", re.compile(student_number_pattern))
    return [CREDENTIAL, _email_detector(division_email_domains), PHONE, HOME_ADDRESS, student_number]


def _email_detector(division_domains: Iterable[str]) -> Detector:
    """Addresses at the Division's own domains (a school office) are not personal information."""
    domains = [re.escape(d.strip().lstrip("@").lower()) for d in division_domains if d.strip()]
    if not domains:
        return EMAIL
    own = "|".join(domains)
    return Detector(EMAIL.kind, re.compile(rf"(?i)\b[\w.+-]+@(?!(?:[\w-]+\.)*(?:{own})\b)[\w-]+(?:\.[\w-]+)+\b"))


def find_and_mask(text: str, found: list[Detector]) -> tuple[str, list[str]]:
    """Replace every sensitive value with a label; return the masked text and the kinds found."""
    kinds: list[str] = []
    masked = text
    for detector in found:
        masked, count = _mask_one(masked, detector)
        if count and detector.kind not in kinds:
            kinds.append(detector.kind)
    return masked, kinds


MASK_OPEN = "["
MASKED = " masked]"


def _mask_one(text: str, detector: Detector) -> tuple[str, int]:
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        start, end = match.start(detector.group) - match.start(), match.end(detector.group) - match.start()
        whole = match.group(0)
        return whole[:start] + f"{MASK_OPEN}{detector.kind}{MASKED}" + whole[end:]

    return detector.pattern.sub(replace, text), count


def mask(text: str, student_number_pattern: str) -> str:
    """Text safe to put in a report: every confidential value replaced by a label."""
    return find_and_mask(text, detectors(student_number_pattern))[0]


# --- content the account itself wrote -------------------------------------------------------


def own_content(ctx: RuleContext) -> Iterator[tuple[str, str, str, str | None, datetime | None]]:
    """(subject, kind, text, url, time) of every post and reply the account itself wrote."""
    assert ctx.snapshot is not None
    for post in ctx.snapshot.posts:
        if post.author is None or is_account_itself(ctx, post.author):
            yield f"post:{post.id}", "post", post.text, post.url, post.created_at
    for interaction in ctx.snapshot.interactions:
        if is_account_itself(ctx, interaction.actor):
            ref = interaction.url or f"{interaction.post_id}:{interaction.created_at}"
            yield (
                f"{interaction.kind}:{ref}",
                interaction.kind,
                interaction.text,
                interaction.url,
                interaction.created_at,
            )


# --- passwords ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LastReset:
    on: date | None
    source: str  # declared (registry) | observed (the platform showed the password changed)

    def evidence(self) -> dict[str, Any]:
        return {"last_reset": self.on.isoformat() if self.on else None, "last_reset_source": self.source}


def last_password_reset(ctx: RuleContext) -> LastReset:
    """The newer of the registry's reset date and a change the platform showed (a token killed by it)."""
    declared = ctx.account.password_reset_on
    observed_at = ctx.snapshot.password_changed_at if ctx.snapshot is not None else None
    observed = observed_at.date() if observed_at is not None else None
    if observed is not None and (declared is None or observed > declared):
        return LastReset(observed, OBSERVED)
    return LastReset(declared, DECLARED)
