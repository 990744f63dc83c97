"""Compare this run's rule results with the previous run, and apply waivers.

- a result seen before is *persisting* (first seen kept); a result not seen before is *new* (and
  *regressed* when the same fingerprint was resolved once);
- a previous finding not produced again is *resolved*, unless its account could not be fully
  audited this run: then it is *unknown*, never resolved;
- a finding with a waiver that has not expired is *waived*; an expired waiver stops applying. A
  waiver is granted for one fingerprint (`auditor waive`) or by pattern in the division's reviewed
  waivers.yaml (rule, account glob, subject glob); the fingerprint's own waiver comes first, then
  the file's entries in order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from auditor.evaluate import Evaluated
from auditor.store import (
    ever_resolved,
    pattern_waivers,
    previous_division_findings,
    previous_findings,
    store_findings,
    waivers_by_fingerprint,
)
from models.tables import Finding, FindingStatus, PatternWaiver, Severity, Waiver, checked_row

if TYPE_CHECKING:
    from sqlmodel import Session

    from auditor.context import RunContext

AnyWaiver = Waiver | PatternWaiver


def waiver_applies(waiver: AnyWaiver | None, as_of: datetime) -> bool:
    if waiver is None or (isinstance(waiver, Waiver) and waiver.revoked):
        return False
    return waiver.expires_on >= as_of.date()


def pattern_matches(pattern: PatternWaiver, rule_id: str, account_key: str, subject: str) -> bool:
    return (
        pattern.rule == rule_id and fnmatchcase(account_key, pattern.account) and fnmatchcase(subject, pattern.subject)
    )


def waiver_for(
    finding: Finding | Evaluated,
    waivers: dict[str, Waiver],
    patterns: Sequence[PatternWaiver],
    as_of: datetime,
) -> AnyWaiver | None:
    """The waiver that covers a finding: one in force if any (its own, then the first matching entry of
    waivers.yaml), else a lapsed one, so that the report can say it expired."""
    if isinstance(finding, Evaluated):
        rule_id, account_key, subject = finding.meta.id, finding.account.key, finding.result.subject
    else:
        rule_id, account_key, subject = finding.rule_id, finding.account_key, finding.subject
    own = waivers.get(finding.fingerprint)
    matching = [p for p in patterns if pattern_matches(p, rule_id, account_key, subject)]
    for candidate in (own, *matching):
        if waiver_applies(candidate, as_of):
            return candidate
    return own or (matching[0] if matching else None)


def reconcile(
    *,
    run_id: str,
    as_of: datetime,
    evaluated: list[Evaluated],
    previous: dict[str, list[Finding]],
    incomplete: set[str],
    waivers: dict[str, Waiver],
    resolved_before: set[str],
    patterns: Sequence[PatternWaiver] = (),
    incomplete_rules: Collection[str] = (),
) -> list[Finding]:
    """Findings to store for this run (one row per fingerprint). `incomplete` names the accounts and
    `incomplete_rules` the rules (a division rule that crashed) this run could not fully check."""
    findings: dict[str, Finding] = {}
    previous_by_fp = {f.fingerprint: f for rows in previous.values() for f in rows}
    for item in evaluated:
        fp = item.fingerprint
        before = previous_by_fp.get(fp)
        status = FindingStatus.PERSISTING if before else FindingStatus.NEW
        if waiver_applies(waiver_for(item, waivers, patterns, as_of), as_of):
            status = FindingStatus.WAIVED
        findings[fp] = _finding(run_id, as_of, item, status, before, regressed=before is None and fp in resolved_before)
    for account_key, rows in previous.items():
        for before in rows:
            if before.fingerprint in findings:
                continue
            if account_key in incomplete or before.rule_id in incomplete_rules:
                status = (
                    FindingStatus.WAIVED
                    if waiver_applies(waiver_for(before, waivers, patterns, as_of), as_of)
                    else FindingStatus.UNKNOWN
                )
            else:
                status = FindingStatus.RESOLVED
            findings[before.fingerprint] = _carry(run_id, before, status)
    return sorted(findings.values(), key=lambda f: (f.account_key, f.rule_id, f.subject))


def _finding(
    run_id: str, as_of: datetime, item: Evaluated, status: FindingStatus, before: Finding | None, regressed: bool
) -> Finding:
    account = item.account
    # Built from values the rules and the registry already typed: no validation per finding (100,000s).
    return checked_row(
        Finding,
        id=None,
        run_id=run_id,
        fingerprint=item.fingerprint,
        rule_id=item.meta.id,
        account_key=account.key,
        subject=item.result.subject,
        severity=item.severity.value,
        confidence=item.result.confidence,
        section=item.meta.section,
        title=item.meta.title,
        message=item.result.message,
        evidence=item.result.evidence,
        status=status.value,
        regressed=regressed,
        first_seen_run=before.first_seen_run if before else run_id,
        first_seen_at=before.first_seen_at if before else as_of,
        last_seen_run=run_id,
        platform=account.platform,
        school=account.school,
        handle=account.handle,
        url=_url(item.result.evidence),
        clause=item.meta.clause,
        remediation=item.remediation or item.meta.remediation,
        owners=item.owners,
    )


def _carry(run_id: str, before: Finding, status: FindingStatus) -> Finding:
    """A previous finding this run did not produce: resolved, or unknown when not fully audited."""
    data = before.model_dump(exclude={"id", "run_id", "status"})
    return checked_row(Finding, **data, id=None, run_id=run_id, status=status.value)


def _url(evidence: dict[str, object]) -> str | None:
    """The link to the content: a top-level `url`, or the one inside the interaction or post."""
    for holder in (evidence, evidence.get("interaction"), evidence.get("post")):
        if not isinstance(holder, dict):
            continue
        for key in ("url", "content_url", "link"):
            value = holder.get(key)
            if isinstance(value, str) and value.startswith("http"):
                return value
    return None


# --- the stage: reconcile and store the run's findings -------------------------------------------


def reconcile_and_store(
    db: Session,
    run_id: str,
    as_of: datetime,
    results: list[Evaluated],
    previous: dict[str, list[Finding]],
    incomplete: set[str],
    threshold: int,
    incomplete_rules: Collection[str] = (),
) -> tuple[dict[str, int], dict[str, int], bool]:
    """Reconcile and store the run's findings one account at a time (reconciliation is per
    fingerprint, and a fingerprint names its account), so that only one account's findings are
    ever objects in memory. Returns the counts by status, the open ones by severity, and whether
    an open finding reaches the fail threshold."""
    waivers, patterns = waivers_by_fingerprint(db), pattern_waivers(db)  # waivers.yaml, stored with the inputs
    resolved_before = ever_resolved(db, [r.fingerprint for r in results])
    by_account: dict[str, list[Evaluated]] = {}
    for item in results:
        by_account.setdefault(item.account.key, []).append(item)
    by_status: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    breach = False
    for key in sorted(set(by_account) | set(previous)):
        findings = reconcile(
            run_id=run_id,
            as_of=as_of,
            evaluated=by_account.pop(key, []),
            previous={key: previous.get(key, [])},
            incomplete=incomplete,
            waivers=waivers,
            patterns=patterns,
            resolved_before=resolved_before,
            incomplete_rules=incomplete_rules,
        )
        store_findings(db, findings)
        for finding in findings:
            by_status[finding.status] = by_status.get(finding.status, 0) + 1
            if FindingStatus(finding.status).is_open:
                by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
                breach = breach or Severity(finding.severity).rank >= threshold
    return dict(sorted(by_status.items())), dict(sorted(by_severity.items())), breach


@dataclass(frozen=True)
class Tally:
    """What the reconciled run adds up to: counts by status, open ones by severity, and whether an
    open finding reaches the policy's fail threshold."""

    by_status: dict[str, int]
    by_severity: dict[str, int]
    breach: bool


def reconcile_run(
    db: Session,
    ctx: RunContext,
    started: datetime,
    results: list[Evaluated],
    incomplete: set[str],
    incomplete_rules: Collection[str] = (),
) -> Tally:
    """The reconcile stage's entry: this run's results against the previous run's open findings
    (of the accounts audited, and the division's own when the run is division-wide), stored in `db`
    (the caller commits, with the run row, in one transaction)."""
    previous = {a.key: previous_findings(db, a.key, started) for a in ctx.accounts}
    if ctx.division_wide:
        for finding in previous_division_findings(db, started):
            previous.setdefault(finding.account_key, []).append(finding)
    by_status, by_severity, breach = reconcile_and_store(
        db, ctx.run_id, ctx.as_of, results, previous, incomplete, ctx.policy.fail_threshold.rank, incomplete_rules
    )
    return Tally(by_status, by_severity, breach)
