"""The day a teacher leaves: every registered account a person can reach, and AP 80-06's checklist.

`auditor check --person ID` finds the accounts (holder, declared admin, admin observed in the latest
stored snapshot, registered ITS identity), audits them through the ordinary pipeline, then adds a
`person` section to that run's report: each account, the person's role on it, its findings, and what
AP 80-06 requires when someone leaves (reset joint passwords, remove admin access, disable individual
accounts, transfer ownership), each item done, open, unknown (with why) or not yet due.

The checklist is read off the same helpers the rules use (`admins`, `last_password_reset`), so the
person report and the findings never disagree about who is an admin or when a password was reset.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine

from auditor.directory import Directory, normalise_handle
from auditor.identity import IdentityResolver
from auditor.inputs import Division
from auditor.rules._admins import AdminSet, admins
from auditor.rules._passwords import last_password_reset
from auditor.rules._people import OBSERVED
from auditor.rules.base import RuleContext
from auditor.store import latest_content, run_snapshots
from connectors.registry import ConnectorRegistry
from models.db import session
from models.snapshot import AccountSnapshot, Capability
from models.tables import Person, RegisteredAccount

HOLDER = "holder"
DECLARED_ADMIN = "declared admin"
OBSERVED_ADMIN = "observed admin"
ITS_IDENTITY = "ITS identity"
ACCESS_ROLES = {HOLDER, DECLARED_ADMIN, OBSERVED_ADMIN}

RESET_PASSWORD = "reset-password"
REMOVE_ADMIN = "remove-admin-access"
DISABLE_ACCOUNT = "disable-account"
TRANSFER_OWNERSHIP = "transfer-ownership"
ACTION_TEXT = {
    RESET_PASSWORD: "Reset the joint account's password",
    REMOVE_ADMIN: "Remove the person's admin access",
    DISABLE_ACCOUNT: "Disable the individual account",
    TRANSFER_OWNERSHIP: "Transfer ownership of the account",
}
DONE, OPEN, UNKNOWN, NOT_DUE = "done", "open", "unknown", "not-due"


class UnknownPerson(ValueError):
    """The reference names nobody in the directory (or several people)."""


def display_name(person: Person) -> str:
    return " ".join(p for p in (person.preferred_name or person.first_name, person.last_name) if p)


def find_person(directory: Directory, reference: str) -> Person:
    """A directory id (any case), or an identity the directory declares: `@handle`, `handle`,
    `platform:handle` or `platform:id`."""
    wanted = reference.strip()
    by_id = {pid.casefold(): person for pid, person in directory.people.items()}
    if wanted.casefold() in by_id:
        return by_id[wanted.casefold()]
    platform, _, value = wanted.partition(":")
    if value and directory.declared_person(platform.lower(), value):
        return directory.people[directory.declared_person(platform.lower(), value) or ""]
    owners = sorted(
        {i.person_id for i in directory.identities if normalise_handle(i.value) == normalise_handle(wanted)}
    )
    if len(owners) == 1 and owners[0] in directory.people:
        return directory.people[owners[0]]
    if len(owners) > 1:
        raise UnknownPerson(f"{reference!r} is declared for several people ({', '.join(owners)}): give the id")
    raise UnknownPerson(f"nobody in the directory has the id or a declared handle {reference!r}")


@dataclass
class DepartureAssumed(Division):
    """The division as one run evaluates it: the directory already records a departure that the HR
    export has not caught up with. `people` stays the directory's own, so what the run stores as the
    directory (and the directory files) never change; only the evaluation's Directory sees it."""

    assumed: Person | None = None

    def directory(self) -> Directory:
        directory = super().directory()
        if self.assumed is not None:
            directory.people[self.assumed.person_id] = self.assumed
        return directory


def assume_departure(division: Division, person: Person, departed: date, as_of: date) -> DepartureAssumed:
    # Status follows the date: a departure still ahead of the run's date is recorded but not yet effective.
    status = "departed" if departed <= as_of else person.status
    assumed = Person(**{**person.model_dump(), "departure_date": departed, "status": status})
    return DepartureAssumed(**{f.name: getattr(division, f.name) for f in fields(division)}, assumed=assumed)


def has_left(person: Person, on: date) -> bool:
    """As the rules decide it (auditor.rules._people.has_left), without a rule context."""
    return person.status == "departed" or (person.departure_date is not None and person.departure_date <= on)


@dataclass
class PersonAccount:
    account: RegisteredAccount
    roles: list[str]
    observed_roles: list[str] = field(default_factory=list)  # the platform's words, e.g. owner, MANAGE


def _context(
    account: RegisteredAccount,
    snapshot: AccountSnapshot | None,
    division: Division,
    directory: Directory,
    resolver: IdentityResolver,
    connectors: ConnectorRegistry,
    as_of: datetime,
) -> RuleContext:
    cls = connectors.get(account.connector)
    platform = connectors.get(account.platform)
    matches = resolver.resolve(a.identity for a in snapshot.admins) if snapshot is not None else {}
    return RuleContext(
        account=account,
        snapshot=snapshot,
        capabilities=cls.capabilities if cls else frozenset(),
        matches=matches,
        directory=directory,
        policy=division.policy,
        as_of=as_of,
        participants_from_interactions=platform is not None and platform.participants_from_interactions,
    )


def _admin_roles(found: AdminSet, person_id: str) -> list[str]:
    return [a.role for a in found.admins if a.person is not None and a.person.person_id == person_id]


def accounts_of(division: Division, person_id: str, engine: Engine, as_of: datetime) -> list[PersonAccount]:
    """Every registered account the person holds, is declared or was last observed to administer, or
    whose registered ITS identity is theirs."""
    directory = division.directory()
    resolver = IdentityResolver(directory, division.policy.matching)
    connectors = ConnectorRegistry.installed()
    found: list[PersonAccount] = []
    with session(engine) as db:
        for account in division.accounts:
            roles = []
            if person_id in account.holders:
                roles.append(HOLDER)
            if person_id in account.declared_admins:
                roles.append(DECLARED_ADMIN)
            latest = latest_content(db, account.key)
            observed: list[str] = []
            if latest is not None:
                seen = admins(_context(account, latest, division, directory, resolver, connectors, as_of))
                observed = _admin_roles(seen, person_id) if seen.source == OBSERVED else []
                if observed:
                    roles.append(OBSERVED_ADMIN)
            if directory.declared_person(account.platform, account.its_admin) == person_id:
                roles.append(ITS_IDENTITY)
            if roles:
                found.append(PersonAccount(account, roles, observed))
    return found


def _item(action: str, account: str, status: str, why: str) -> dict[str, Any]:
    return {"action": action, "text": ACTION_TEXT[action], "account": account, "status": status, "why": why}


def checklist(entry: PersonAccount, person: Person, ctx: RuleContext) -> list[dict[str, Any]]:
    """What AP 80-06 requires on this account when the person leaves, from the run's view of it."""
    account, roles = entry.account, set(entry.roles)
    left = has_left(person, ctx.as_of.date())
    gone = person.departure_date
    items: list[dict[str, Any]] = []
    not_due = "not yet due: the directory records no departure (use --departed to evaluate one)"
    if account.kind == "joint" and roles & ACCESS_ROLES:
        reset = last_password_reset(ctx)
        if not left:
            items.append(_item(RESET_PASSWORD, account.key, NOT_DUE, not_due))
        elif gone is None:
            items.append(_item(RESET_PASSWORD, account.key, UNKNOWN, "the directory records no departure date"))
        elif reset.on is not None and reset.on >= gone:
            why = f"password reset on {reset.on.isoformat()} ({reset.source}), on or after the departure {gone}"
            items.append(_item(RESET_PASSWORD, account.key, DONE, why))
        else:
            last = reset.on.isoformat() if reset.on else "never recorded"
            items.append(_item(RESET_PASSWORD, account.key, OPEN, f"last reset {last}; left {gone}"))
    individual_holder = account.kind == "individual" and HOLDER in roles
    if roles & {DECLARED_ADMIN, OBSERVED_ADMIN, ITS_IDENTITY} and not individual_holder:
        items.append(_item(REMOVE_ADMIN, account.key, *_admin_status(ctx, person, left, not_due)))
    if individual_holder:
        if not left:
            items.append(_item(DISABLE_ACCOUNT, account.key, NOT_DUE, not_due))
        elif account.status == "disabled":
            items.append(_item(DISABLE_ACCOUNT, account.key, DONE, "the registry records the account disabled"))
        else:
            items.append(_item(DISABLE_ACCOUNT, account.key, OPEN, f"registry status: {account.status}"))
    owner_roles = [r for r in entry.observed_roles if "owner" in r.lower()]
    if account.kind == "joint" and (HOLDER in roles or owner_roles):
        items.append(_item(TRANSFER_OWNERSHIP, account.key, *_ownership_status(ctx, person, left, not_due)))
    return items


def _admin_status(ctx: RuleContext, person: Person, left: bool, not_due: str) -> tuple[str, str]:
    if not left:
        return NOT_DUE, not_due
    found = admins(ctx)
    still = _admin_roles(found, person.person_id)
    if found.source == OBSERVED:
        if still:
            return OPEN, f"still among the observed admins as {', '.join(still)} ({found.note})"
        return DONE, f"no longer among the observed admins ({found.note})"
    if still:
        return OPEN, f"still a declared admin in the registry ({found.note})"
    if Capability.ADMINS in ctx.capabilities:
        # The platform could show the admins but this run could not read them: not confirmed.
        return UNKNOWN, found.note
    return DONE, f"no longer a declared admin in the registry ({found.note})"


def _ownership_status(ctx: RuleContext, person: Person, left: bool, not_due: str) -> tuple[str, str]:
    if not left:
        return NOT_DUE, not_due
    if person.person_id in ctx.account.holders:
        return OPEN, "still a registered holder of the account (Form 8-06)"
    found = admins(ctx)
    owner = [r for r in _admin_roles(found, person.person_id) if "owner" in r.lower()]
    if owner:
        return OPEN, f"still the account's owner on {ctx.account.platform}"
    if found.source != OBSERVED and Capability.ADMINS in ctx.capabilities:
        return UNKNOWN, found.note
    return DONE, "no longer a registered holder, nor an observed owner"


def person_section(
    report: dict[str, Any],
    division: Division,
    person: Person,
    entries: list[PersonAccount],
    engine: Engine,
    *,
    departed_override: date | None,
) -> dict[str, Any]:
    """The `person` section of report.json for a `check --person` run (see report.schema.json)."""
    run = report["run"]
    as_of = datetime.fromisoformat(run["as_of"])
    directory = division.directory()
    resolver = IdentityResolver(directory, division.policy.matching)
    connectors = ConnectorRegistry.installed()
    with session(engine) as db:
        audited = {row.account_key: row for row in run_snapshots(db, run["id"])}
        snapshots = {
            key: AccountSnapshot.model_validate({k: v for k, v in row.data.items() if k != "account"})
            for key, row in audited.items()
        }
        stored = {e.account.key: latest_content(db, e.account.key) for e in entries if e.account.key not in audited}
    coverage = {c["account"]: c["state"] for c in report["coverage"]}
    accounts: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for entry in entries:
        key = entry.account.key
        snapshot = snapshots.get(key, stored.get(key))
        ctx = _context(entry.account, snapshot, division, directory, resolver, connectors, as_of)
        todo = checklist(entry, person, ctx)
        items += todo
        accounts.append(
            {
                "account": key,
                "platform": entry.account.platform,
                "school": entry.account.school,
                "handle": entry.account.handle,
                "kind": entry.account.kind,
                "registry_status": entry.account.status,
                "roles": entry.roles,
                "audited": key in audited,
                "coverage_state": coverage.get(key),
                "findings": [_finding_ref(f, person.person_id) for f in report["findings"] if f["account"] == key],
                "checklist": todo,
            }
        )
    return {
        "person_id": person.person_id,
        "name": display_name(person),
        "role": person.role,
        "school": person.school,
        "status": person.status,
        "departure_date": person.departure_date.isoformat() if person.departure_date else None,
        "departure_source": "--departed" if departed_override else ("directory" if person.departure_date else None),
        "accounts": accounts,
        "checklist_counts": {s: sum(1 for i in items if i["status"] == s) for s in (DONE, OPEN, UNKNOWN, NOT_DUE)},
    }


def _finding_ref(finding: dict[str, Any], person_id: str) -> dict[str, Any]:
    evidence = finding.get("evidence") or {}
    return {
        "fingerprint": finding["fingerprint"],
        "rule": finding["rule"],
        "title": finding["title"],
        "severity": finding["severity"],
        "status": finding["status"],
        "subject": finding["subject"],
        "about_person": finding["subject"] == person_id or evidence.get("person_id") == person_id,
    }
