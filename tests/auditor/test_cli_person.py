"""`auditor check --person` and `--departed` end to end on the demo division, and the nightly
summary's departed people (report.json, report.html, summary.md)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.report.school import filter_report_for_school
from tests.auditor.demo_store import AS_OF, DEMO_DIVISION, demo_env, run_demo

SCHEMA = json.loads((DEMO_DIVISION.parents[1] / "auditor/report/report.schema.json").read_text())
runner = CliRunner()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_demo(tmp_path_factory.mktemp("demo") / "out")


@pytest.fixture
def store(demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo's store, with the settings pointing at it."""
    var = tmp_path / "var"
    for name, value in demo_env(demo_store, var).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    return var


def _check(*args: str, division: Path = DEMO_DIVISION) -> tuple[int, str, Path]:
    result = runner.invoke(app, ["check", *args, "--division", str(division), "--as-of", AS_OF], catch_exceptions=False)
    return result.exit_code, result.output, _newest_report()


def _newest_report() -> Path:
    """The folder of the report written last (the console wraps long paths)."""
    written = Path(os.environ["AUDITOR_REPORT_DIR"]).rglob("report.json")  # checks go under checks/
    return max(written, key=lambda p: p.stat().st_mtime_ns, default=Path("none/report.json")).parent


def _valid(folder: Path) -> dict[str, Any]:
    report = json.loads((folder / "report.json").read_text())
    jsonschema.validate(report, SCHEMA, format_checker=jsonschema.FormatChecker())
    return report


def _checklist(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(i["account"], i["action"]): i["status"] for a in report["person"]["accounts"] for i in a["checklist"]}


def _digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())).hexdigest()


def test_departed_teacher_gets_every_account_audited_and_the_leaving_checklist(store: Path) -> None:
    code, output, folder = _check("--person", "E1013")
    assert code == 1, output
    report = _valid(folder)
    assert report["run"]["kind"] == "check"
    assert [c["account"] for c in report["coverage"]] == ["rbe-reading-group"]  # his only account, audited now
    person = report["person"]
    assert (person["person_id"], person["name"], person["departure_date"]) == ("E1013", "Rob MacLeod", "2026-09-15")
    assert person["departure_source"] == "directory"
    (account,) = person["accounts"]
    assert account["roles"] == ["declared admin", "observed admin"] and account["audited"]
    assert _checklist(report) == {
        ("rbe-reading-group", "reset-password"): "open",
        ("rbe-reading-group", "remove-admin-access"): "open",
    }
    about = {f["rule"] for f in account["findings"] if f["about_person"]}
    assert about == {"password-not-reset-after-departure", "admin-not-active-staff"}
    html = (folder / "report.html").read_text()
    section = html[html.index('id="person"') : html.index('id="summary"')]
    assert "Rob MacLeod" in section and "Reset the joint account" in section and "last reset 2026-03-01" in section
    assert "Rob MacLeod (E1013)" in output and "open" in output


def test_a_declared_handle_finds_the_person_and_a_disabled_account_counts_as_done(store: Path, tmp_path: Path) -> None:
    code, output, folder = _check("--person", "@jwhitford")
    assert code == 1, output
    report = _valid(folder)
    assert report["person"]["person_id"] == "E1004"
    assert _checklist(report) == {("hhs-whitford-class", "disable-account"): "open"}
    assert {f["rule"] for f in report["person"]["accounts"][0]["findings"] if f["about_person"]} >= {
        "departed-staff-account-active"
    }

    division = tmp_path / "division"
    shutil.copytree(DEMO_DIVISION, division)
    manual = division / "registry" / "manual.yaml"
    text = manual.read_text()
    # ITS disables Mr Whitford's class account, resets the reading group's password after Rob MacLeod left
    # and removes him from its admins (in the registry and on the group, as ITS's next export shows).
    text = text.replace("reviewed_on: 2023-09-05\n    password_reset_on: 2024-08-20\n    status: active",
                        "reviewed_on: 2023-09-05\n    password_reset_on: 2024-08-20\n    status: disabled")  # fmt: skip
    text = text.replace("admins: [E1011, E1012, E1013]", "admins: [E1011, E1012]")
    text = text.replace("password_reset_on: 2026-03-01", "password_reset_on: 2026-09-20")
    manual.write_text(text)
    export = division / "exports" / "rbe-reading-group.csv"
    export.write_text("".join(line for line in export.open() if "61550000000013,,Rob MacLeod" not in line))

    code, output, folder = _check("--person", "E1004", division=division)
    report = _valid(folder)
    assert _checklist(report) == {("hhs-whitford-class", "disable-account"): "done"}, output
    code, output, folder = _check("--person", "E1013", division=division)
    report = _valid(folder)
    # Found through the admins stored from the last run; the new export no longer shows him.
    assert report["person"]["accounts"][0]["roles"] == ["observed admin"]
    assert _checklist(report) == {
        ("rbe-reading-group", "reset-password"): "done",
        ("rbe-reading-group", "remove-admin-access"): "done",
    }, output
    assert not any(f["about_person"] and f["status"] != "resolved" for f in report["person"]["accounts"][0]["findings"])


def test_departed_evaluates_a_departure_the_directory_does_not_record_yet(store: Path) -> None:
    directory_before = _digest(DEMO_DIVISION / "directory")
    code, output, folder = _check("--person", "E1011")  # Karen Fox, still active: nothing is due
    assert code == 1, output  # Rob MacLeod's findings on the reading group
    assert set(_checklist(_valid(folder)).values()) == {"not-due"}
    latest_before = (store / "reports" / "latest").resolve()

    code, output, folder = _check("--person", "E1011", "--departed", "2026-11-01")
    assert code == 1, output
    report = _valid(folder)
    assert report["run"]["kind"] == "what-if"
    person = report["person"]
    assert (person["departure_date"], person["departure_source"]) == ("2026-11-01", "--departed")
    assert {a["account"] for a in person["accounts"]} == {"rbe-news-group", "rbe-reading-group"}
    assert _checklist(report) == {
        (account, action): "open"
        for account in ("rbe-news-group", "rbe-reading-group")
        for action in ("reset-password", "remove-admin-access", "transfer-ownership")
    }
    found = {(f["rule"], f["account"]) for f in report["findings"] if f["subject"] == "E1011"}
    assert found == {
        ("password-not-reset-after-departure", "rbe-news-group"),
        ("password-not-reset-after-departure", "rbe-reading-group"),
    }
    assert "assumed for this check with --departed" in (folder / "report.html").read_text()

    # Neither the directory files nor the stored directory changed, and the hypothesis is nobody's baseline.
    assert _digest(DEMO_DIVISION / "directory") == directory_before
    with sqlite3.connect(store / "auditor.db") as db:
        assert db.execute("select status, departure_date from person where person_id = 'E1011'").fetchone() == (
            "active",
            None,
        )
    assert (store / "reports" / "latest").resolve() == latest_before
    code, output, folder = _check("rbe-news-group")
    after = _valid(folder)
    assert code == 0 and after["findings"] == [], output
    assert after["summary"]["changes"] == {"new": 0, "resolved": 0, "regressed": 0}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--person", "E9999"), "nobody in the directory has the id or a declared handle 'E9999'"),
        (("--person", "@nobody_here"), "nobody in the directory"),
        (("--person", "E1011", "--departed", "1 Nov 2026"), "--departed must be a date YYYY-MM-DD"),
        (("rbe-news-group", "--departed", "2026-11-01"), "--departed needs --person"),
        ((), "Give an account key, or --person ID"),
    ],
)
def test_bad_person_arguments_are_usage_errors(store: Path, args: tuple[str, ...], says: str) -> None:
    result = runner.invoke(app, ["check", *args, "--division", str(DEMO_DIVISION)], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.output.split())


def test_nightly_summary_lists_departed_people_with_open_consequences(demo_store: Path) -> None:
    folder = demo_store / "reports" / "latest"
    report = json.loads((folder / "report.json").read_text())
    jsonschema.validate(report, SCHEMA, format_checker=jsonschema.FormatChecker())
    departures = {
        (p["name"], p["person_id"], p["departure_date"]): {
            a["account"]: sorted(f["rule"] for f in a["findings"]) for a in p["accounts"]
        }
        for p in report["summary"]["departures"]
    }
    assert departures == {
        ("Jim Whitford", "E1004", "2026-06-30"): {
            "hhs-whitford-class": ["admin-not-active-staff", "departed-staff-account-active"]
        },
        ("Rob MacLeod", "E1013", "2026-09-15"): {
            "rbe-reading-group": ["admin-not-active-staff", "password-not-reset-after-departure"]
        },
    }
    html = (folder / "report.html").read_text()
    section = html[html.index('id="departures"') :]
    assert "<strong>Rob MacLeod</strong> (E1013)" in section and "<strong>Jim Whitford</strong> (E1004)" in section
    riverbend = filter_report_for_school(report, "Riverbend Elementary School")["summary"]["departures"]
    assert [(p["name"], [a["account"] for a in p["accounts"]]) for p in riverbend] == [
        ("Rob MacLeod", ["rbe-reading-group"])
    ]
    summary = (folder / "summary.md").read_text()
    assert "## People who left with open consequences: 2" in summary
    assert "**Rob MacLeod** (E1013), left 2026-09-15: RiverbendReadingBuddies" in summary
