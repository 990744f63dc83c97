"""An account registered as individual is held (or administered) by more than one person."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.rules._admins import admins
from auditor.rules._people import OBSERVED
from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity


@rule(
    id="shared-individual-account",
    title="Individual account shared by more than one person",
    section="Account Management",
    severity=Severity.MEDIUM,
    remediation=(
        "Give each person their own account, or re-register this one as a joint account with its own "
        "admins and password-reset routine."
    ),
    clause="Under no circumstance should an individual account be shared by more than one person.",
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    if ctx.account.kind != "individual":
        return
    holders = list(dict.fromkeys(ctx.account.holders))
    found = admins(ctx)
    # Distinct people (or unmatched identities) with admin access, other than the ITS account.
    observed = {
        (admin.person.person_id if admin.person else admin.subject): admin.evidence()
        for admin in found.admins
        if found.source == OBSERVED and not admin.is_its and not admin.shared_login
    }
    if len(holders) <= 1 and len(observed) <= 1:
        return
    yield RuleResult(
        subject="holders",
        message=(
            f"individual account with {len(holders)} registered holder(s)"
            + (f" and {len(observed)} observed admins besides ITS" if len(observed) > 1 else "")
        ),
        evidence={
            "holders": holders,
            "observed_admins": list(observed.values()),
            "admins_source": found.source,
        },
        confidence="certain" if len(observed) > 1 else "declared",
    )
