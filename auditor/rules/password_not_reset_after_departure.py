"""A staff member with access to a joint account left after the account's last password reset."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from auditor.rules._admins import AdminSet, admins
from auditor.rules._passwords import last_password_reset
from auditor.rules._people import OBSERVED, has_left, person_label, person_summary, today
from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity

if TYPE_CHECKING:  # the tables are types here: the rules load without the database stack
    from models.tables import Person


@rule(
    id="password-not-reset-after-departure",
    title="Password not reset after a staff member left",
    section="Account Management",
    severity=Severity.HIGH,
    remediation=(
        "Reset the joint account's password now, remove the former employee's access, and record the "
        "reset date in the registry."
    ),
    clause=(
        "Joint accounts such as those for a school should have passwords reset annually or any time a "
        "staff member with access to that account leaves the Division's employment."
    ),
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    if ctx.account.kind != "joint":
        return
    reset = last_password_reset(ctx)
    found = admins(ctx)
    for person, access in _people_with_access(ctx, found):
        if person.role not in ctx.policy.staff_roles or not has_left(ctx, person):
            continue
        left = person.departure_date
        if left is not None and (left > today(ctx) or (reset.on is not None and left <= reset.on)):
            continue  # not gone yet, or the password was reset after they left
        yield RuleResult(
            subject=person.person_id,
            message=(
                f"{person_label(person)} left on {left.isoformat() if left else 'an unrecorded date'}; "
                f"last password reset {reset.on.isoformat() if reset.on else 'never recorded'}"
            ),
            evidence={
                **person_summary(person),
                **reset.evidence(),
                "access": sorted(access),
                "admins_source": found.source,
            },
            confidence="declared" if all(a != "observed admin" for a in access) else "certain",
        )


def _people_with_access(ctx: RuleContext, found: AdminSet) -> list[tuple[Person, set[str]]]:
    """Holders, declared admins and observed admins: each person once, with how they had access."""
    access: dict[str, set[str]] = {}

    def add(person: Person | None, how: str) -> None:
        if person is not None:
            access.setdefault(person.person_id, set()).add(how)

    for holder in ctx.account.holders:
        add(ctx.directory.person(holder), "holder")
    for declared in ctx.account.declared_admins:
        add(ctx.directory.person(declared), "declared admin")
    if found.source == OBSERVED:
        for admin in found.admins:
            add(admin.person, "observed admin")
    people = [(ctx.directory.person(pid), how) for pid, how in access.items()]
    return [(person, how) for person, how in people if person is not None]
