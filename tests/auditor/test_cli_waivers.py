"""ITS's waiver workflow: list what is waived, expiring or lapsed; revoke with a history; a bounded
waiver length; reviewed waivers by pattern in waivers.yaml; re-rendered reports apply today's waivers."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
from typer.testing import CliRunner

from auditor.cli import app
from tests.auditor.report.test_html import rows_data

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "auditor/report/report.schema.json").read_text())
AS_OF = "2026-11-15T06:00:00"
runner = CliRunner()


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def _in(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def _run(division_dir: Path) -> dict[str, Any]:
    result = _invoke("run", "--division", str(division_dir), "--as-of", AS_OF)
    assert result.exit_code in (0, 1), result.output
    return _latest(division_dir)


def _latest(division_dir: Path) -> dict[str, Any]:
    report = json.loads((Path("var/reports/latest/report.json")).read_text())
    jsonschema.validate(report, SCHEMA)
    return report


def _finding(report: dict[str, Any], rule: str, account: str) -> dict[str, Any]:
    (found,) = [f for f in report["findings"] if f["rule"] == rule and f["account"] == account]
    return found


def _waive(division_dir: Path, fingerprint: str, expires: str) -> Any:
    return _invoke(
        "waive", fingerprint, "--reason", "signed off", "--approver", "Director of ITS", "--expires", expires,
        "--division", str(division_dir),
    )  # fmt: skip


def test_waivers_lists_active_expiring_and_expired(division_dir: Path, auditor_env: Path) -> None:
    from auditor.store import add_waiver
    from models.db import make_engine, session

    report = _run(division_dir)
    active = _finding(report, "password-reset-overdue", "hhs-whitford-class")
    expiring = _finding(report, "platform-not-approved", "hhs-athletics-tiktok")
    lapsed = _finding(report, "account-not-reviewed", "hhs-athletics-tiktok")
    assert _waive(division_dir, active["fingerprint"], _in(200)).exit_code == 0
    assert _waive(division_dir, expiring["fingerprint"], _in(5)).exit_code == 0
    with session(make_engine(f"sqlite:///{auditor_env / 'auditor.db'}")) as db:  # the CLI refuses past dates
        add_waiver(db, lapsed["fingerprint"], "old", "Director of ITS", date(2026, 1, 31), datetime.now(UTC))
        db.commit()

    result = _invoke("waivers", "--division", str(division_dir))

    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 4}
    assert "password-reset-overdue" in rows["active"]
    assert "platform-not-approved" in rows["expiring"] and _in(5) in rows["expiring"]
    assert "account-not-reviewed" in rows["expired"] and "2026-01-31" in rows["expired"]


def test_expiring_follows_the_policys_waiver_warning_days(division_dir: Path, auditor_env: Path) -> None:
    report = _run(division_dir)
    fingerprint = _finding(report, "password-reset-overdue", "hhs-whitford-class")["fingerprint"]
    assert _waive(division_dir, fingerprint, _in(20)).exit_code == 0
    policy = division_dir / "policy.yaml"
    assert "expiring" not in _invoke("waivers", "--division", str(division_dir)).output.split("\n", 3)[-1]
    policy.write_text(policy.read_text() + "waiver_warning_days: 30\n")
    listed = _invoke("waivers", "--division", str(division_dir)).output
    assert any(line.split("│")[1].strip() == "expiring" for line in listed.splitlines() if "│" in line)


def test_unwaive_revokes_and_keeps_who_when_and_why(division_dir: Path, auditor_env: Path) -> None:
    report = _run(division_dir)
    fingerprint = _finding(report, "password-reset-overdue", "hhs-whitford-class")["fingerprint"]
    assert _waive(division_dir, fingerprint, _in(60)).exit_code == 0
    assert _invoke("report").exit_code == 0
    assert _finding(_latest(division_dir), "password-reset-overdue", "hhs-whitford-class")["status"] == "waived"

    result = _invoke("unwaive", fingerprint, "--reason", "password still not reset", "--by", "A. Okafor")

    assert result.exit_code == 0, result.output
    with sqlite3.connect(auditor_env / "auditor.db") as conn:
        rows = conn.execute(
            "select reason, approver, revoked, revoked_by, revoke_reason, revoked_at from waiver where fingerprint = ?",
            (fingerprint,),
        ).fetchall()
    ((reason, approver, revoked, by, why, when),) = rows  # the row stays: history, not deletion
    assert (reason, approver, revoked, by, why) == (
        "signed off",
        "Director of ITS",
        1,
        "A. Okafor",
        "password still not reset",
    )
    assert when is not None and when.startswith(datetime.now(UTC).date().isoformat())
    assert "password-reset-overdue" not in _invoke("waivers", "--division", str(division_dir)).output
    history = _invoke("waivers", "--division", str(division_dir), "--history").output
    assert "A. Okafor" in history and "revoked" in history
    assert _invoke("report").exit_code == 0  # the re-rendered report shows the finding open again
    assert _finding(_latest(division_dir), "password-reset-overdue", "hhs-whitford-class")["status"] == "new"
    again = _invoke("unwaive", fingerprint, "--reason", "twice", "--by", "A. Okafor")
    assert again.exit_code == 2 and "No waiver in force" in again.output


def test_waive_beyond_the_maximum_length_is_refused(division_dir: Path, auditor_env: Path) -> None:
    report = _run(division_dir)
    fingerprint = _finding(report, "password-reset-overdue", "hhs-whitford-class")["fingerprint"]

    forever = _waive(division_dir, fingerprint, "2099-01-01")

    assert forever.exit_code == 2
    assert len(forever.output.strip().splitlines()) == 1 and "max_waiver_days (365 days" in forever.output
    policy = division_dir / "policy.yaml"
    policy.write_text(policy.read_text() + "max_waiver_days: 30\n")
    assert _waive(division_dir, fingerprint, _in(45)).exit_code == 2
    assert _waive(division_dir, fingerprint, _in(30)).exit_code == 0
    with sqlite3.connect(auditor_env / "auditor.db") as conn:
        assert conn.execute("select expires_on from waiver").fetchall() == [(_in(30),)]


def test_a_rerendered_report_shows_a_finding_waived_since_the_run_as_waived(
    division_dir: Path, auditor_env: Path
) -> None:
    report = _run(division_dir)
    finding = _finding(report, "password-reset-overdue", "hhs-whitford-class")
    medium = report["summary"]["by_severity"]["medium"]
    assert finding["status"] == "new" and finding["severity"] == "medium"
    assert _waive(division_dir, finding["fingerprint"], _in(90)).exit_code == 0

    assert _invoke("report").exit_code == 0

    again = _latest(division_dir)
    waived = _finding(again, "password-reset-overdue", "hhs-whitford-class")
    assert waived["status"] == "waived"
    assert waived["waiver"]["source"] == "auditor waive" and waived["waiver"]["expired"] is False
    assert again["summary"]["by_severity"]["medium"] == medium - 1 and again["summary"]["by_status"]["waived"] == 1
    rows = rows_data(Path("var/reports/latest/report.html").read_text())  # report.js lists them from this data
    assert [r["title"] for r in rows if r["status"] == "waived"] == ["Password reset overdue"]


# --- waivers.yaml --------------------------------------------------------------------------------


def test_waivers_yaml_waives_by_pattern_and_the_report_names_the_entry(division_dir: Path, auditor_env: Path) -> None:
    (division_dir / "waivers.yaml").write_text(
        "# reviewed by ITS\n"
        "waivers:\n"
        "  - rule: password-reset-overdue\n"
        "    account: hhs-whitford-class\n"
        "    reason: account closes at year end\n"
        "    approver: Director of ITS\n"
        f"    expires: {_in(100)}\n"
        "  - rule: non-school-participant\n"
        "    account: 'rbe-*'\n"
        "    subject: 'facebook:id:*'\n"
        "    reason: reading buddies' parents, consented\n"
        "    approver: Assistant Superintendent\n"
        f"    expires: {_in(30)}\n"
    )

    report = _run(division_dir)

    participants = [f for f in report["findings"] if f["rule"] == "non-school-participant"]
    by_source = {f["subject"]: (f["status"], f["waiver"] and f["waiver"]["source"]) for f in participants}
    assert by_source["facebook:id:61550000200002"] == ("waived", "waivers.yaml:8")
    assert by_source["facebook:id:7001005"] == ("waived", "waivers.yaml:8")
    assert by_source["summary"][0] == "new"  # other accounts' and other subjects' findings stay open
    overdue = _finding(report, "password-reset-overdue", "hhs-whitford-class")
    assert (overdue["status"], overdue["waiver"]["source"]) == ("waived", "waivers.yaml:3")
    assert overdue["waiver"]["approver"] == "Director of ITS"
    assert "waivers.yaml:8" in _invoke("waivers", "--division", str(division_dir)).output
    rows = rows_data(Path("var/reports/latest/report.html").read_text())  # shown as "Waived: reason (source)"
    shown = [r["waiver"] for r in rows if r["title"] == "Password reset overdue" and r["status"] == "waived"]
    assert [(w["reason"], w["source"]) for w in shown] == [("account closes at year end", "waivers.yaml:3")]

    (division_dir / "waivers.yaml").unlink()  # removing an entry ends its waivers
    again = _run(division_dir)
    assert _finding(again, "password-reset-overdue", "hhs-whitford-class")["status"] == "persisting"


def test_bad_waivers_yaml_entries_stop_the_run_with_file_and_line(division_dir: Path, auditor_env: Path) -> None:
    entry = "  - rule: {rule}\n    account: {account}\n    reason: r\n    approver: a\n    expires: {expires}\n"
    (division_dir / "waivers.yaml").write_text(
        "waivers:\n"
        + entry.format(rule="no-such-rule", account="hhs-whitford-class", expires=_in(10))  # line 2
        + entry.format(rule="password-reset-overdue", account="'zzz-*'", expires=_in(10))  # line 7
        + entry.format(rule="password-reset-overdue", account="hhs-whitford-class", expires="2026-01-01")  # 12
        + entry.format(rule="password-reset-overdue", account="'hhs-*'", expires=_in(400))  # line 17
    )

    result = _invoke("run", "--division", str(division_dir), "--as-of", AS_OF)

    assert result.exit_code == 2
    out = "".join(result.output.split())  # the console wraps long lines anywhere

    def said(text: str) -> bool:
        return "".join(text.split()) in out

    assert said("waivers.yaml:2: waiver 'no-such-rule': field 'rule': unknown rule id 'no-such-rule'")
    assert said(
        "waivers.yaml:8: waiver 'password-reset-overdue': field 'account': 'zzz-*' matches no registered account"
    )
    assert said("waivers.yaml:16: waiver 'password-reset-overdue': field 'expires': expired on 2026-01-01")
    assert said(
        f"waivers.yaml:21: waiver 'password-reset-overdue': field 'expires': {_in(400)} is more than max_waiver_days"
    )
    assert not (auditor_env / "reports" / "latest").exists()  # nothing was audited
