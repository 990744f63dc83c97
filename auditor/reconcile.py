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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase

from auditor.rules.base import RuleMeta, RuleResult, fingerprint
from models.tables import Finding, FindingStatus, PatternWaiver, RegisteredAccount, Severity, Waiver, checked_row

AnyWaiver = Waiver | PatternWaiver


@dataclass
class Evaluated:
    """A rule result for one account, with the severity the policy gives it."""

    meta: RuleMeta
    account: RegisteredAccount
    result: RuleResult
    severity: Severity
    owners: list[dict[str, str]] = field(default_factory=list)  # who must act (auditor.owners)
    remediation: str | None = None  # the connector's place-specific text; None: the rule's own

    @property
    def its_owned(self) -> bool:
        """ITS acts on division-wide rules and on the rules that declare it (audit coverage)."""
        return self.meta.scope == "division" or self.meta.owner == "its"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.meta.id, self.account.key, self.result.subject)


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
) -> list[Finding]:
    """Findings to store for this run (one row per fingerprint)."""
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
            if account_key in incomplete:
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
