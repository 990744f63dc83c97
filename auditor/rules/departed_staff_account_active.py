"""An individual account whose holder has left the Division is still active."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from auditor.rules._people import has_left, is_account_itself, person_label, person_summary
from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity


@rule(
    id="departed-staff-account-active",
    title="Departed employee's individual account still active",
    section="Account Management",
    severity=Severity.HIGH,
    remediation=(
        "Disable the account (mark it disabled in the registry once done) and establish a new account "
        "for the replacement."
    ),
    clause=(
        "Accounts for employees that have left the Division should automatically be disabled and new "
        "accounts established for their replacement."
    ),
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    if ctx.account.kind != "individual" or ctx.account.status != "active":
        return
    last_seen = _last_activity(ctx)
    for holder_id in dict.fromkeys(ctx.account.holders):
        holder = ctx.directory.person(holder_id)
        if holder is None or not has_left(ctx, holder):
            continue
        yield RuleResult(
            subject=holder_id,
            message=(
                f"holder {person_label(holder)} left "
                f"{'on ' + holder.departure_date.isoformat() if holder.departure_date else 'the Division'}"
                " but the account is still active"
            ),
            evidence={
                **person_summary(holder),
                "account_status": ctx.account.status,
                "last_activity_seen": last_seen.isoformat() if last_seen else None,
            },
        )


def _last_activity(ctx: RuleContext) -> datetime | None:
    """The newest post or reply by the account itself in this snapshot."""
    if ctx.snapshot is None:
        return None
    times = [p.created_at for p in ctx.snapshot.posts if p.author is None or is_account_itself(ctx, p.author)]
    times += [i.created_at for i in ctx.snapshot.interactions if is_account_itself(ctx, i.actor)]
    known = [t for t in times if t is not None]
    return max(known) if known else None
