"""The account's password was last reset more than a year ago, or no reset is recorded."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.rules._passwords import last_password_reset
from auditor.rules._people import DECLARED, today
from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity


@rule(
    id="password-reset-overdue",
    title="Password reset overdue",
    section="Account Management",
    severity=Severity.MEDIUM,
    remediation="Reset the account's password and record the reset date in the registry.",
    clause=(
        "Passwords on individual accounts should be reset annually in order to ensure security. [...] "
        "Joint accounts such as those for a school should have passwords reset annually"
    ),
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    reset = last_password_reset(ctx)
    limit = ctx.policy.password_max_age_days
    confidence = "declared" if reset.source == DECLARED else "certain"
    if reset.on is None:
        yield RuleResult(
            subject="password",
            message="no password reset is recorded for this account",
            evidence={**reset.evidence(), "age_days": None, "max_age_days": limit},
            confidence=confidence,
        )
        return
    age = (today(ctx) - reset.on).days
    if age <= limit:
        return
    yield RuleResult(
        subject="password",
        message=f"password last reset {reset.on.isoformat()} ({age} days ago; limit {limit})",
        evidence={**reset.evidence(), "age_days": age, "max_age_days": limit},
        confidence=confidence,
    )
