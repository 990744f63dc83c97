"""New, persisting, resolved and unknown across three runs; waivers apply until they expire."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from auditor.reconcile import Evaluated, reconcile
from auditor.rules.base import RuleMeta, RuleResult
from models.tables import Finding, RegisteredAccount, Severity, Waiver

META = RuleMeta(
    id="too-few-staff-admins",
    title="Too few staff admins",
    section="Online Interactions",
    severity=Severity.HIGH,
    remediation="Add a staff admin.",
)
ACCOUNT = RegisteredAccount(
    key="acct",
    platform="twitter",
    connector="manual",
    school="Hillside",
    purpose="news",
    kind="joint",
    audience="public",
)
T0 = datetime(2026, 11, 1, 6, tzinfo=UTC)


def _evaluated(subject: str) -> Evaluated:
    return Evaluated(META, ACCOUNT, RuleResult(subject=subject, message=f"{subject} failed"), Severity.HIGH)


def _run(
    run_id: str,
    day: int,
    subjects: list[str],
    previous: list[Finding],
    *,
    incomplete: bool = False,
    waivers: dict[str, Waiver] | None = None,
    resolved_before: set[str] | None = None,
) -> dict[str, Finding]:
    open_previous = [f for f in previous if f.status != "resolved"]
    findings = reconcile(
        run_id=run_id,
        as_of=T0 + timedelta(days=day),
        evaluated=[_evaluated(s) for s in subjects],
        previous={"acct": open_previous},
        incomplete={"acct"} if incomplete else set(),
        waivers=waivers or {},
        resolved_before=resolved_before or set(),
    )
    return {f.subject: f for f in findings}


def test_three_runs_new_persisting_resolved() -> None:
    run1 = _run("r1", 0, ["a", "b"], [])
    assert {s: f.status for s, f in run1.items()} == {"a": "new", "b": "new"}
    run2 = _run("r2", 1, ["a", "c"], list(run1.values()))
    assert {s: f.status for s, f in run2.items()} == {"a": "persisting", "b": "resolved", "c": "new"}
    assert run2["a"].first_seen_run == "r1" and run2["a"].first_seen_at == T0
    assert run2["a"].last_seen_run == "r2"
    assert run2["b"].last_seen_run == "r1"  # resolved: last seen in the run that still had it
    run3 = _run("r3", 2, ["c", "b"], list(run2.values()), resolved_before={run1["b"].fingerprint})
    assert {s: f.status for s, f in run3.items()} == {"a": "resolved", "b": "new", "c": "persisting"}
    assert run3["b"].regressed is True and run3["c"].regressed is False


def test_failed_collection_keeps_findings_unknown_never_resolved() -> None:
    run1 = _run("r1", 0, ["a", "b"], [])
    run2 = _run("r2", 1, ["a"], list(run1.values()), incomplete=True)
    assert run2["a"].status == "persisting"
    assert run2["b"].status == "unknown"
    run3 = _run("r3", 2, [], list(run2.values()), incomplete=True)
    assert {f.status for f in run3.values()} == {"unknown"}
    run4 = _run("r4", 3, [], list(run3.values()))
    assert {f.status for f in run4.values()} == {"resolved"}


def test_waiver_applies_until_expiry_then_stops() -> None:
    run1 = _run("r1", 0, ["a"], [])
    fp = run1["a"].fingerprint
    waiver = Waiver(
        fingerprint=fp,
        reason="account being retired",
        approver="Director of ITS",
        expires_on=date(2026, 11, 3),
        created_at=T0,
    )
    run2 = _run("r2", 1, ["a"], list(run1.values()), waivers={fp: waiver})
    assert run2["a"].status == "waived"
    run3 = _run("r3", 2, ["a"], list(run2.values()), waivers={fp: waiver})  # expiry day still covered
    assert run3["a"].status == "waived"
    run4 = _run("r4", 3, ["a"], list(run3.values()), waivers={fp: waiver})
    assert run4["a"].status == "persisting"
    assert run4["a"].first_seen_run == "r1"


def test_fingerprint_is_stable_and_specific() -> None:
    assert _evaluated("a").fingerprint == _evaluated("a").fingerprint
    assert _evaluated("a").fingerprint != _evaluated("b").fingerprint


def test_finding_links_to_the_interaction() -> None:
    result = RuleResult(subject="s", message="m", evidence={"interaction": {"url": "https://x.com/a/status/1"}})
    (finding,) = reconcile(
        run_id="r1",
        as_of=T0,
        evaluated=[Evaluated(META, ACCOUNT, result, Severity.HIGH)],
        previous={},
        incomplete=set(),
        waivers={},
        resolved_before=set(),
    )
    assert finding.url == "https://x.com/a/status/1"
