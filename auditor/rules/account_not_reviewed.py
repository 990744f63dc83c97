"""A registration with no review (who and when) by the Assistant Superintendent or Director of ITS."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity


@rule(
    id="account-not-reviewed",
    title="Registration has not been reviewed",
    section="Establishing Social Media Accounts",
    severity=Severity.MEDIUM,
    remediation=(
        "Ask the Assistant Superintendent responsible for ITS or the Director of ITS to review the "
        "account against educational needs, then record the reviewer and the review date in the registry."
    ),
    clause=(
        "There should also be a review from the Assistant Superintendent responsible for ITS or the "
        "Director of ITS to ensure that the account meets educational needs."
    ),
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    account = ctx.account
    missing = [
        name for name, value in (("reviewer", account.reviewed_by), ("review date", account.reviewed_on)) if not value
    ]
    if not missing:
        return
    yield RuleResult(
        subject="review",
        message=f"the registration records no {' and no '.join(missing)}",
        evidence={
            "reviewed_by": account.reviewed_by,
            "reviewed_on": account.reviewed_on.isoformat() if account.reviewed_on else None,
            "missing": missing,
            "registration": account.source or account.key,
        },
        confidence="declared",
    )
