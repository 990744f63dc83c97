"""A registered account on a platform the Division has not approved, with no recorded approval."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity


@rule(
    id="platform-not-approved",
    title="Account on a platform that is not approved",
    section="Establishing Social Media Accounts",
    severity=Severity.MEDIUM,
    remediation=(
        "Have the Assistant Superintendent responsible for ITS or the Director of ITS review the "
        "platform and record the approval (who, when) in the registry, or close the account."
    ),
    clause=(
        "At this time two primary social media tools are recognized as being suitable for use by "
        "Division staff and schools. [...] Other sites may be added by request. These should be brought "
        "to the attention of ITS for review by the Assistant Superintendent or the Director."
    ),
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    account = ctx.account
    approved = [p.lower() for p in ctx.policy.approved_platforms]
    if account.platform.lower() in approved:
        return
    if account.approved_by and account.approved_on:
        return
    yield RuleResult(
        subject="platform",
        message=f"{account.platform} is not an approved platform and no approval is recorded",
        evidence={
            "platform": account.platform,
            "approved_platforms": approved,
            "approved_by": account.approved_by,
            "approved_on": account.approved_on.isoformat() if account.approved_on else None,
            "registration": account.source or account.key,
        },
        confidence="declared",
    )
