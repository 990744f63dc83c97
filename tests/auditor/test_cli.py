"""The CLI as cron and ITS staff use it: exit codes, bad input, re-rendering, waivers."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from auditor.cli import app

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "auditor/report/report.schema.json").read_text())
runner = CliRunner()


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def _table_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        return {t: conn.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}


def test_run_writes_valid_reports_and_latest(division_dir: Path, auditor_env: Path) -> None:
    result = _invoke("run", "--division", str(division_dir), "--as-of", "2026-11-15T06:00:00")
    assert result.exit_code in (0, 1), result.output
    latest = auditor_env / "reports" / "latest"
    report = json.loads((latest / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["run"]["accounts_audited"] == 4
    assert {c["account"] for c in report["coverage"]} == {
        "rbe-reading-group",
        "rbe-news-group",
        "hhs-whitford-class",
        "hhs-athletics-tiktok",
    }
    assert (latest / "report.csv").read_text().startswith("fingerprint,status,severity")
    assert oct((latest / "report.json").stat().st_mode & 0o777) == "0o600"


def test_bad_registry_exits_2_and_leaves_database_unchanged(division_dir: Path, auditor_env: Path) -> None:
    assert _invoke("run", "--division", str(division_dir)).exit_code in (0, 1)
    db = auditor_env / "auditor.db"
    before = _table_counts(db)
    registry = division_dir / "registry" / "manual.yaml"
    registry.write_text(registry.read_text().replace("reviewed_on: 2026-02-14", "reviewed_on: 2026-02-30"))
    result = _invoke("run", "--division", str(division_dir))
    assert result.exit_code == 2
    assert "manual.yaml:" in result.output and "field 'reviewed_on'" in result.output
    assert _table_counts(db) == before


def test_report_rerenders_byte_identically(division_dir: Path, auditor_env: Path) -> None:
    _invoke("run", "--division", str(division_dir), "--as-of", "2026-11-15T06:00:00")
    latest = (auditor_env / "reports" / "latest").resolve()
    original = {p.name: p.read_bytes() for p in latest.iterdir()}
    for path in latest.iterdir():
        path.unlink()
    result = _invoke("report")
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in latest.iterdir()} == original


def test_check_unknown_account_is_usage_error(division_dir: Path, auditor_env: Path) -> None:
    result = _invoke("check", "no-such-account", "--division", str(division_dir))
    assert result.exit_code == 2
    assert "No registered account 'no-such-account'" in result.output


def test_check_audits_one_account_in_its_own_folder_and_leaves_latest_to_the_nightly_run(
    division_dir: Path, auditor_env: Path
) -> None:
    reports = auditor_env / "reports"
    assert _invoke("run", "--division", str(division_dir), "--as-of", "2026-11-15T06:00:00").exit_code == 1
    nightly = (reports / "latest").resolve()

    result = _invoke("check", "rbe-news-group", "--division", str(division_dir), "--as-of", "2026-11-15T09:00:00")

    (folder,) = (reports / "checks").iterdir()
    assert f"Report: {folder / 'report.json'}" in result.output.replace("\n", "")
    assert (reports / "latest").resolve() == nightly  # ITS's nightly pointer is untouched
    report = json.loads((folder / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["run"]["kind"] == "check"
    assert report["run"]["scope"].startswith("single-account check of rbe-news-group")
    assert [c["account"] for c in report["coverage"]] == ["rbe-news-group"]
    assert result.exit_code == (1 if report["summary"]["by_severity"].get("high") else 0)
    assert "Single-account check" in (folder / "summary.md").read_text()
    assert "Single-account check" in (folder / "report.html").read_text()
    nightly_report = json.loads((nightly / "report.json").read_text())
    assert "single-account" not in nightly_report["run"]["scope"]


def test_rerendering_a_check_keeps_it_out_of_latest(division_dir: Path, auditor_env: Path) -> None:
    reports = auditor_env / "reports"
    _invoke("run", "--division", str(division_dir), "--as-of", "2026-11-15T06:00:00")
    nightly = (reports / "latest").resolve()
    _invoke("check", "rbe-news-group", "--division", str(division_dir), "--as-of", "2026-11-15T09:00:00")
    (folder,) = (reports / "checks").iterdir()
    original = (folder / "report.json").read_bytes()
    (folder / "report.json").unlink()

    result = _invoke("report", folder.name)

    assert result.exit_code == 0, result.output
    assert (folder / "report.json").read_bytes() == original
    assert (reports / "latest").resolve() == nightly
    assert not (reports / folder.name).exists()


def test_waive_validates_its_input(division_dir: Path, auditor_env: Path) -> None:
    _invoke("run", "--division", str(division_dir))
    bad_date = _invoke("waive", "abc", "--reason", "r", "--approver", "a", "--expires", "soon")
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in bad_date.output
    soon = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()  # within max_waiver_days
    unknown = _invoke("waive", "abc", "--reason", "r", "--approver", "a", "--expires", soon)
    assert unknown.exit_code == 2 and "No finding" in unknown.output


def test_failed_notification_exits_4_and_keeps_the_report(
    division_dir: Path, auditor_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AUDITOR_WEBHOOK_URL", f"http://127.0.0.1:{port}/hooks/secret-path-token")
    monkeypatch.setenv("AUDITOR_WEBHOOK_ALLOW_HTTP_LOOPBACK", "true")  # test-only: the refusal is the point
    policy = division_dir / "policy.yaml"
    policy.write_text(policy.read_text() + "sinks:\n  - kind: webhook\n    min_severity: info\n    new_only: false\n")
    result = _invoke("run", "--division", str(division_dir), "--as-of", "2026-11-15T06:00:00")
    assert result.exit_code == 4, result.output
    assert "Notification failed: webhook" in result.output
    assert "secret-path-token" not in result.output
    report = json.loads((auditor_env / "reports" / "latest" / "report.json").read_text())
    assert report["findings"]
