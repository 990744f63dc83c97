"""An admin who has left, is unknown to the directory, or is not staff."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.rules._admins import admins
from auditor.rules._people import not_active_staff_reason
from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity


@rule(
    id="admin-not-active-staff",
    title="Admin is not an active staff member",
    section="Account Management; Online Interactions",
    severity=Severity.HIGH,
    remediation=(
        "Remove this person's access to the account (and reset the password of a joint account), "
        "or correct the directory if they are in fact active staff."
    ),
    clause=(
        "No less than two staff members should have administrative access to a given account or site "
        "in addition to the ITS account. [...] Accounts for employees that have left the Division should "
        "automatically be disabled"
    ),
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    found = admins(ctx)
    for admin in found.admins:
        if admin.is_its or admin.shared_login:
            continue  # ITS: its-admin-missing; a joint account's own login: its holders are checked
        reason = not_active_staff_reason(ctx, admin.person)
        if reason is None:
            continue
        confidence = found.confidence
        if admin.fuzzy:
            confidence = "likely"
        yield RuleResult(
            subject=admin.subject,
            message=f"admin {admin.label}: {reason}",
            evidence={
                **admin.evidence(),
                "reason": reason,
                "source": found.source,
                "source_note": found.note,
            },
            confidence=confidence,
        )
