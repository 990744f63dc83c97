"""Rule helpers about an account's admins: observed on the platform, or declared in the registry.

The underscore keeps the loader from importing this module as a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from auditor.directory import normalise_handle
from auditor.rules._people import (
    DECLARED,
    OBSERVED,
    Resolved,
    is_account_itself,
    is_its_identity,
    its_person_id,
    named,
    person_summary,
    resolve,
)
from auditor.rules.base import RuleContext
from models.snapshot import AdminRole, Capability

if TYPE_CHECKING:  # the tables are types here: the rules load without the database stack
    from models.tables import Person


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
