"""The account could not be fully audited, so other rules may have missed something."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity
from models.snapshot import CollectionStatus


@rule(
    id="audit-incomplete",
    title="Audit incomplete",
    section="(coverage of the audit itself)",
    severity=Severity.HIGH,
    remediation=(
        "Fix what the platform reported (renew the token, grant the permission, wait for the quota or "
        "rate limit to reset) and run `auditor check` for this account again."
    ),
    clause=(
        "This can include periodic reviews and auditing of the traffic and communication on the "
        "Division's social media sites."
    ),
    owner="its",  # tokens, permissions and exports are ITS's to fix; the account's people may need to help
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    if ctx.snapshot is None:
        yield RuleResult(
            subject="coverage",
            message="nothing could be collected for this account",
            evidence={"collections": [], "note": "no snapshot: the collection failed outright"},
        )
        return
    gaps = [_gap(name, status) for name, status in sorted(ctx.snapshot.failed_collections().items())]
    # A capability the connector claims but never reported on is a gap too, never a silent pass.
    gaps += [
        {"collection": str(c), "state": "not-reported", "reason": "the connector recorded no outcome"}
        for c in sorted(ctx.capabilities)
        if ctx.snapshot.status_of(c) is None
    ]
    if not gaps:
        return
    yield RuleResult(
        subject="coverage",
        message="could not fully collect: " + ", ".join(f"{g['collection']} ({g['state']})" for g in gaps),
        evidence={"collections": gaps},
    )


def _gap(name: str, status: CollectionStatus) -> dict[str, Any]:
    return {
        "collection": name,
        "state": status.state.value,
        "error": status.error.value if status.error else None,
        "reason": status.reason,
        "retry_after": status.retry_after.isoformat() if status.retry_after else None,
    }
