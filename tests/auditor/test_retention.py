"""`auditor purge`: the policy's retention periods for evidence, report folders and logs, with --dry-run."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from auditor.cli import app
from auditor.settings import Settings
from models.db import init_db, make_engine, session
from models.tables import AuditRun, Finding, Waiver

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=400)  # beyond the default 365 days of evidence and reports
RECENT = NOW - timedelta(days=10)


def run_id(when: datetime, suffix: str) -> str:
    return f"{when:%Y%m%dT%H%M%SZ}-{suffix}"


def finding(run: str, fingerprint: str, status: str, when: datetime) -> Finding:
    return Finding(
        run_id=run, fingerprint=fingerprint, rule_id="admin-not-active-staff", account_key="rbe-reading-group",
        subject="facebook:id:61550000000013", severity="high", confidence="certain", section="Online Interactions",
        title="An admin is not active staff", message="Rob MacLeod (E1013), departed 2026-09-15, is still an admin.",
        evidence={"person": "Rob MacLeod", "person_id": "E1013"}, status=status, handle="@rob.macleod",
        url="https://www.facebook.com/groups/1/user/61550000000013", first_seen_run=run, first_seen_at=when,
        last_seen_run=run,
    )  # fmt: skip


@pytest.fixture
def store(division_dir: Path, auditor_env: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Old runs where one finding was resolved and another waived, a recent run, their report folders
    and rotated logs."""
    engine = make_engine(Settings().database_url)
    init_db(engine)
    runs = {
        "found": run_id(OLD - timedelta(days=2), "aaaaaa"),
        "resolved": run_id(OLD, "bbbbbb"),
        "waived_on": run_id(OLD - timedelta(days=1), "cccccc"),
        "recent": run_id(RECENT, "dddddd"),
    }
    with session(engine) as db:
        for rid in runs.values():
            started = datetime.strptime(rid[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            db.add(AuditRun(id=rid, started_at=started, finished_at=started, as_of=started, status="complete"))
        db.commit()
        db.add(finding(runs["found"], "fp-resolved", "new", OLD - timedelta(days=2)))
        resolved = finding(runs["resolved"], "fp-resolved", "resolved", OLD)
        resolved.first_seen_run, resolved.first_seen_at = runs["found"], OLD - timedelta(days=2)
        db.add(resolved)
        waived = finding(runs["waived_on"], "fp-waived", "new", OLD - timedelta(days=1))
        waived.subject = "facebook:id:7001005"
        db.add(waived)
        db.add(finding(runs["recent"], "fp-waived", "waived", RECENT))
        db.add(
            Waiver(
                fingerprint="fp-waived", reason="club alumni helper", approver="Director of ITS",
                expires_on=date.today() + timedelta(days=30), created_at=OLD - timedelta(hours=12),
            )
        )  # fmt: skip
        db.commit()
    reports = auditor_env / "reports"
    for rid in runs.values():
        (reports / rid).mkdir(parents=True)
        (reports / rid / "report.json").write_text("{}", encoding="utf-8")
    (reports / f"{runs['found']}-riverbend-elementary-school").mkdir()  # a principal's copy of an old run
    (reports / "hand-made-notes").mkdir()  # not a run folder: never touched
    os.symlink(runs["recent"], reports / "latest")
    logs = auditor_env / "logs"
    logs.mkdir()
    for day in (OLD.date(), (NOW - timedelta(days=5)).date()):
        (logs / f"auditor.log.{day.isoformat()}").write_text("old lines\n", encoding="utf-8")
    (logs / "auditor.log").write_text("today\n", encoding="utf-8")
    monkeypatch.setenv("AUDITOR_LOG_DIR", str(logs))
    return runs


def rows(fingerprint: str) -> list[Finding]:
    with session(make_engine(Settings().database_url)) as db:
        return list(db.exec(select(Finding).where(Finding.fingerprint == fingerprint).order_by(Finding.id)).all())


def test_dry_run_lists_what_would_go_and_changes_nothing(
    store: dict[str, str], division_dir: Path, auditor_env: Path
) -> None:
    result = CliRunner().invoke(app, ["purge", "--division", str(division_dir), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "the evidence of 2 row(s) of 1 finding(s) resolved before" in result.output
    assert "3 report folder(s)" in result.output  # two runs and a principal's copy
    assert store["found"] in result.output and f"{store['found']}-riverbend-elementary-school" in result.output
    assert f"auditor.log.{OLD.date().isoformat()}" in result.output
    assert rows("fp-resolved")[0].evidence["person"] == "Rob MacLeod"
    assert (auditor_env / "reports" / store["found"]).is_dir()


def test_purge_removes_resolved_evidence_old_reports_and_logs_but_keeps_what_history_needs(
    store: dict[str, str], division_dir: Path, auditor_env: Path
) -> None:
    result = CliRunner().invoke(app, ["purge", "--division", str(division_dir)])
    assert result.exit_code == 0, result.output
    assert "the evidence of 2 resolved finding row(s)" in result.output
    for row in rows("fp-resolved"):
        assert "MacLeod" not in row.message and "E1013" not in str(row.evidence)
        assert row.subject == "" and row.handle is None and row.url is None
        # what history, regressions and waivers key on is kept
        assert (row.fingerprint, row.rule_id, row.account_key, row.severity) == (
            "fp-resolved", "admin-not-active-staff", "rbe-reading-group", "high"
        )  # fmt: skip
        assert row.first_seen_at is not None and row.first_seen_run == store["found"]
    # a waived finding's evidence is not a resolved one's: it stays
    assert all(r.evidence.get("person") == "Rob MacLeod" for r in rows("fp-waived"))
    reports = auditor_env / "reports"
    assert not (reports / store["found"]).exists()
    assert not (reports / f"{store['found']}-riverbend-elementary-school").exists()
    assert not (reports / store["resolved"]).exists()  # 400 days old, nothing waived was decided on it
    assert (reports / store["waived_on"]).is_dir()  # the report the waiver was granted on
    assert (reports / store["recent"]).is_dir() and (reports / "latest").resolve() == reports / store["recent"]
    assert (reports / "hand-made-notes").is_dir()
    logs = sorted(p.name for p in (auditor_env / "logs").iterdir())
    assert logs == ["auditor.log", f"auditor.log.{(NOW - timedelta(days=5)).date().isoformat()}"]
    again = CliRunner().invoke(app, ["purge", "--division", str(division_dir)])
    assert "the evidence of 0 resolved finding row(s)" in again.output  # nothing left to purge


def test_latest_is_kept_however_old(store: dict[str, str], division_dir: Path, auditor_env: Path) -> None:
    reports = auditor_env / "reports"
    (reports / "latest").unlink()
    os.symlink(store["resolved"], reports / "latest")  # e.g. nightly runs stopped a year ago
    CliRunner().invoke(app, ["purge", "--division", str(division_dir)])
    assert (reports / store["resolved"]).is_dir()


def test_retention_periods_come_from_the_policy(store: dict[str, str], division_dir: Path, auditor_env: Path) -> None:
    policy = division_dir / "policy.yaml"
    policy.write_text(
        policy.read_text(encoding="utf-8") + "\nevidence_retention_days: 1000\nreport_retention_days: 1000\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["purge", "--division", str(division_dir), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "the evidence of 0 row(s) of 0 finding(s)" in result.output and "0 report folder(s)" in result.output


def test_dry_run_without_a_database_creates_none(division_dir: Path, auditor_env: Path) -> None:
    result = CliRunner().invoke(app, ["purge", "--division", str(division_dir), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert not (auditor_env / "auditor.db").exists()
