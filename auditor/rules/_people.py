"""Rule helpers about people: who a platform identity is, who has left, how a person is named.

The underscore keeps the loader from importing this module as a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from auditor.directory import Match, MatchMethod, normalise_handle
from auditor.rules.base import RuleContext
from models.snapshot import Identity

if TYPE_CHECKING:  # the tables are types here: the rules load without the database stack
    from models.tables import Person


# Where a fact came from: the platform showed it, or the registry declares it.
OBSERVED = "observed"
DECLARED = "declared"


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
