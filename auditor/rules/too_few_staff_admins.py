"""Fewer than the required number of active staff hold admin access besides the ITS account.

Joint accounts only, by default: AP 80-06 says "Under no circumstance should an individual account be
shared by more than one person", so two staff admins on an individual account would break that rule.
An individual account gets the ITS-account requirement and the sharing rule; a Division that reads
the procedure otherwise sets `individual_accounts_need_staff_admins: true`.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.rules._admins import Admin, admins
from auditor.rules._people import not_active_staff_reason
from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity


@rule(
    id="too-few-staff-admins",
    title="Too few active staff admins",
    section="Online Interactions",
    severity=Severity.HIGH,
    remediation=(
        "Give admin access to enough active staff members (two by default) besides the ITS account, "
        "and update the declared admins in the registry."
    ),
    clause=(
        "No less than two staff members should have administrative access to a given account or site "
        "in addition to the ITS account."
    ),
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    if ctx.account.kind == "individual" and not ctx.policy.individual_accounts_need_staff_admins:
        return
    found = admins(ctx)
    counted: dict[str, dict[str, object]] = {}  # person id -> evidence; distinct people, not identities
    not_counted: list[dict[str, object]] = []
    fuzzy = False
    for admin in found.admins:
        reason = _why_not_counted(ctx, admin)
        if reason is not None or admin.person is None:
            not_counted.append({**admin.evidence(), "not_counted_because": reason})
        elif admin.person.person_id not in counted:
            counted[admin.person.person_id] = admin.evidence()
            fuzzy = fuzzy or admin.fuzzy
    required = ctx.policy.min_staff_admins
    if len(counted) >= required:
        return
    confidence = found.confidence if found.confidence != "certain" else ("likely" if fuzzy else "certain")
    yield RuleResult(
        subject="staff-admins",
        message=f"{len(counted)} active staff admin(s) besides the ITS account; at least {required} required",
        evidence={
            "source": found.source,
            "source_note": found.note,
            "required": required,
            "counted": list(counted.values()),
            "not_counted": not_counted,
        },
        confidence=confidence,
    )


def _why_not_counted(ctx: RuleContext, admin: Admin) -> str | None:
    if admin.is_its:
        return "the ITS account"
    if admin.shared_login:
        return "the account's own login, not a staff member's admin role"
    if not admin.is_admin:
        return "holds a lesser role, not admin"
    return not_active_staff_reason(ctx, admin.person)
