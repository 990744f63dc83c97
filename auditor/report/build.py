"""Build report.json (the canonical report) from the store, deterministically: no API calls, no clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from auditor.reconcile import AnyWaiver, waiver_applies, waiver_for
from auditor.report.departures import departures
from auditor.store import pattern_waivers, previous_run, run_finding_rows, run_snapshots, waivers_by_fingerprint
from models.severity import OPEN_STATUSES
from models.snapshot import CURSOR_FULL_RECONCILED_AT
from models.tables import AuditRun, Finding, FindingStatus, Severity, Waiver

SCHEMA_VERSION = 1
SEVERITY_ORDER = {s.value: s.rank for s in Severity}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def build_report(db: Session, run_id: str) -> dict[str, Any]:
    run = db.get(AuditRun, run_id)
    if run is None:
        raise KeyError(run_id)
    before = previous_run(db, run)
    waivers = waivers_by_fingerprint(db)
    patterns = pattern_waivers(db)
    findings = [
        _finding_entry(f, waiver_for(f, waivers, patterns, run.as_of), run.as_of)
        for f in sorted(run_finding_rows(db, run_id), key=_sort_key)
    ]
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


def _sort_key(finding: Finding) -> tuple[Any, ...]:
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
