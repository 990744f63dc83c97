"""Build report.json (the canonical report) from the store, deterministically: no API calls, no clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from auditor.reconcile import AnyWaiver, waiver_applies, waiver_for
from auditor.report.departures import departures
from auditor.store import finding_rows_by_id, pattern_waivers, previous_run, run_snapshots, waivers_by_fingerprint
from models.severity import OPEN_STATUSES
from models.snapshot import CURSOR_FULL_RECONCILED_AT
from models.tables import AuditRun, Finding, FindingStatus, Severity, Waiver

SCHEMA_VERSION = 1
SEVERITY_ORDER = {s.value: s.rank for s in Severity}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def build_report(
    db: Session, run_id: str, clean: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The run's report; `clean` (e.g. scrubbing secrets) is applied to each finding as it is built.

    Bounded memory (issue #21): the findings are sorted by their keys alone, then read from the store
    a thousand at a time, and what many of them repeat (owners, clause, run ids...) is held once."""
    run = db.get(AuditRun, run_id)
    if run is None:
        raise KeyError(run_id)
    before = previous_run(db, run)
    waivers = waivers_by_fingerprint(db)
    patterns = pattern_waivers(db)
    columns = Finding.__table__.columns  # type: ignore[attr-defined]
    keys = db.execute(
        select(
            columns.id, columns.school, columns.account_key, columns.severity, columns.rule_id, columns.subject
        ).where(columns.run_id == run_id)
    ).all()
    order = [key.id for key in sorted(keys, key=_sort_key)]
    del keys
    shared = SharedValues()
    findings = []
    for row in finding_rows_by_id(db, order):
        entry = _finding_entry(row, waiver_for(row, waivers, patterns, run.as_of), run.as_of)
        findings.append(shared.finding(clean(entry) if clean else entry))
    del shared
    coverage = [_coverage_entry(s) for s in run_snapshots(db, run_id)]
    summary = summarize(findings)
    summary["departures"] = departures(db, findings, run.as_of)  # who left, with what still open
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "id": run.id,
            "kind": run.kind,
            "division": run.division,
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "as_of": _iso(run.as_of),
            "status": run.status,
            "exit_code": run.exit_code,
            "accounts_audited": len(coverage),
            "previous_run": before.id if before else None,
            "fail_threshold": run.fail_threshold,
            "policy_digest": run.policy_digest,
            "school": None,
            "scope": run_scope(run.kind, list(run.accounts or [])),
            "spend": run.spend or {},
        },
        "summary": summary,
        "coverage": coverage,
        "findings": findings,
    }


# Finding fields whose values repeat across findings (an account's, a rule's, a run's).
REPEATED_FIELDS = (
    "rule", "title", "account", "platform", "school", "handle", "severity", "confidence", "section", "clause",
    "remediation", "status", "first_seen", "first_seen_run", "last_seen_run",
)  # fmt: skip
SHORT_TEXT = 64  # evidence strings up to this length are shared (methods, states, reasons, dates, ids)


class SharedValues:
    """Equal values that many findings repeat, held once. Each row read from the store brings its own
    copy of its account's owners, its rule's clause and remediation, the run ids, the evidence's keys:
    at 100,000 findings the owners alone took 290 MB. The report's findings are only read once built
    (a school's report deep-copies its own), so sharing their parts is safe."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._owners: dict[tuple[tuple[tuple[str, Any], ...], ...], list[Any]] = {}

    def text(self, value: str) -> str:
        return self._texts.setdefault(value, value)

    def finding(self, finding: dict[str, Any]) -> dict[str, Any]:
        for name in REPEATED_FIELDS:
            value = finding.get(name)
            if isinstance(value, str):
                finding[name] = self.text(value)
        owners = finding.get("owners")
        if owners:
            try:
                key = tuple(tuple(owner.items()) for owner in owners)
                finding["owners"] = self._owners.setdefault(key, owners)
            except TypeError:  # an unhashable value: keep this finding's own copy
                pass
        if finding.get("evidence"):
            finding["evidence"] = self._tree(finding["evidence"])
        return finding

    def _tree(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value) if len(value) <= SHORT_TEXT else value
        if isinstance(value, dict):
            return {self.text(key) if isinstance(key, str) else key: self._tree(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._tree(item) for item in value]
        return value


def run_scope(kind: str, accounts: list[str]) -> str:
    """In words, what the run audited: a reader must not take a one-account check for the division."""
    if kind == "what-if":
        return (
            f"what-if check of {', '.join(accounts)} (auditor check --departed): a departure the directory does "
            "not record yet was assumed; not the nightly run, nobody's baseline, reports/latest unchanged"
        )
    if kind == "check":
        return (
            f"single-account check of {', '.join(accounts)} (auditor check), not the nightly run: "
            "division-wide rules were not evaluated and reports/latest still shows the nightly run"
        )
    return "division: every active registered account (auditor run)"


def _sort_key(finding: Any) -> tuple[Any, ...]:  # a Finding or a row of its key columns
    return (
        finding.school,
        finding.account_key,
        -SEVERITY_ORDER.get(finding.severity, 0),
        finding.rule_id,
        finding.subject,
    )


def current_status(finding: Finding, waiver: AnyWaiver | None, as_of: datetime) -> str:
    """The status a re-rendered report shows: a waiver granted since the run waives the finding; one
    revoked (or removed from waivers.yaml) since reopens it, as the status it had before the waiver."""
    if finding.status == FindingStatus.RESOLVED.value:
        return finding.status
    if waiver_applies(waiver, as_of):
        return FindingStatus.WAIVED.value
    if finding.status != FindingStatus.WAIVED.value:
        return finding.status
    if finding.last_seen_run != finding.run_id:  # carried from an earlier run: its account was not fully audited
        return FindingStatus.UNKNOWN.value
    return (FindingStatus.NEW if finding.first_seen_run == finding.run_id else FindingStatus.PERSISTING).value


def _finding_entry(finding: Finding, waiver: AnyWaiver | None, as_of: datetime) -> dict[str, Any]:
    status = current_status(finding, waiver, as_of)
    return {
        "fingerprint": finding.fingerprint,
        "rule": finding.rule_id,
        "title": finding.title,
        "account": finding.account_key,
        "platform": finding.platform,
        "school": finding.school,
        "handle": finding.handle,
        "severity": finding.severity,
        "confidence": finding.confidence,
        "section": finding.section,
        "clause": finding.clause,
        "subject": finding.subject,
        "message": finding.message,
        "evidence": finding.evidence,
        "remediation": finding.remediation,
        "owners": list(finding.owners or []),
        "status": status,
        "regressed": finding.regressed,
        "first_seen": _iso(finding.first_seen_at),
        "first_seen_run": finding.first_seen_run,
        "last_seen_run": finding.last_seen_run,
        "url": finding.url,
        "waiver": _waiver_entry(waiver, as_of) if waiver and status != "resolved" else None,
    }


def _waiver_entry(waiver: AnyWaiver, as_of: datetime) -> dict[str, Any]:
    return {
        # which grant waived it: `auditor waive`, or the waivers.yaml entry ("waivers.yaml:12")
        "source": "auditor waive" if isinstance(waiver, Waiver) else waiver.source,
        "reason": waiver.reason,
        "approver": waiver.approver,
        "expires_on": waiver.expires_on.isoformat(),
        "expired": not waiver_applies(waiver, as_of),
        "expiring_soon": waiver_applies(waiver, as_of) and waiver.expires_on <= (as_of + timedelta(days=14)).date(),
    }


def _coverage_entry(snapshot: Any) -> dict[str, Any]:
    data = snapshot.data
    account = data.get("account", {})
    profile = data.get("profile") or {}
    closed = profile.get("closed")
    collections = {
        name: {
            "state": status["state"],
            "reason": status.get("reason"),
            "error": status.get("error"),
            "retry_after": status.get("retry_after"),
        }
        for name, status in sorted(data.get("collections", {}).items())
    }
    return {
        "account": snapshot.account_key,
        "platform": snapshot.platform,
        "school": account.get("school", ""),
        "handle": account.get("handle"),
        "state": snapshot.state,
        "last_full_reconciliation": (data.get("cursor") or {}).get(CURSOR_FULL_RECONCILED_AT),
        "audience_declared": account.get("audience"),
        "audience_observed": None if closed is None else ("closed" if closed else "public"),
        "collections": collections,
    }


def summarize(findings: list[dict[str, Any]]) -> dict[str, Any]:
    open_findings = [f for f in findings if f["status"] in OPEN_STATUSES]
    by_severity: dict[str, int] = {}
    by_rule: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for f in open_findings:
        by_severity[f["severity"]] = by_severity.get(f["severity"], 0) + 1
        by_rule[f["rule"]] = by_rule.get(f["rule"], 0) + 1
    for f in findings:
        by_status[f["status"]] = by_status.get(f["status"], 0) + 1
    return {
        "by_severity": dict(sorted(by_severity.items(), key=lambda kv: -SEVERITY_ORDER[kv[0]])),
        "by_rule": dict(sorted(by_rule.items())),
        "by_status": dict(sorted(by_status.items())),
        "changes": {
            "new": by_status.get("new", 0),
            "resolved": by_status.get("resolved", 0),
            "regressed": sum(1 for f in findings if f.get("regressed")),
        },
    }
