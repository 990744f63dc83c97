"""The ITS administrator identity does not hold admin access on the account."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.rules._admins import admins
from auditor.rules._people import OBSERVED
from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity


@rule(
    id="its-admin-missing",
    title="ITS administrator account lacks admin access",
    section="Establishing Social Media Accounts; Online Interactions",
    severity=Severity.HIGH,
    remediation=(
        "Grant the ITS administrator identity full admin access on the account and record that "
        "identity (handle or platform id) in the registry."
    ),
    clause=(
        "This includes an administrator account which is solely for the use of the ITS Department. "
        "[...] No less than two staff members should have administrative access to a given account or "
        "site in addition to the ITS account."
    ),
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    found = admins(ctx)
    its = ctx.account.its_admin
    if not its:
        message = "the registry records no ITS administrator identity for this account"
    elif found.source == OBSERVED and not any(a.is_its and a.is_admin for a in found.admins):
        message = f"the ITS administrator {its} is not among the admins observed on {ctx.account.platform}"
    else:
        return  # observed among the admins, or declared in the registry
    yield RuleResult(
        subject="its-admin",
        message=message,
        evidence={"its_admin": its, **found.evidence()},
        confidence=found.confidence,
    )
