"""`auditor report --severity/--rule/--account/--out`: partial copies that say they are partial and
never move `latest`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from typer.testing import CliRunner

from auditor.cli import app

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "auditor/report/report.schema.json").read_text())
runner = CliRunner()


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def _nightly(division_dir: Path, reports: Path) -> tuple[Path, dict[str, Any], dict[str, bytes]]:
    result = _invoke("run", "--division", str(division_dir), "--as-of", "2026-11-15T06:00:00")
    assert result.exit_code == 1, result.output
    folder = (reports / "latest").resolve()
    return folder, json.loads((folder / "report.json").read_text()), {p.name: p.read_bytes() for p in folder.iterdir()}


def _written(result: Any) -> Path:
    line = "".join(result.output.split())
    assert line.startswith("Report:"), result.output
    return Path(line.removeprefix("Report:")).parent


def test_severity_is_a_minimum_and_the_full_report_and_latest_stay(division_dir: Path, auditor_env: Path) -> None:
    reports = auditor_env / "reports"
    nightly, full, before = _nightly(division_dir, reports)

    result = _invoke("report", "--severity", "high")

    assert result.exit_code == 0, result.output
    folder = _written(result)
    assert folder.parent == reports and folder.name.startswith(f"{full['run']['id']}-filtered-")
    report = json.loads((folder / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert [f["fingerprint"] for f in report["findings"]] == [
        f["fingerprint"] for f in full["findings"] if f["severity"] in ("high", "critical")
    ]
    assert report["summary"]["by_severity"] == {"high": full["summary"]["by_severity"]["high"]}
    assert report["run"]["filters"]["findings_left_out"] == len(full["findings"]) - len(report["findings"]) > 0
    assert "Filtered:" in (folder / "report.html").read_text() and "Filtered:" in (folder / "summary.md").read_text()
    assert (reports / "latest").resolve() == nightly
    assert {p.name: p.read_bytes() for p in nightly.iterdir()} == before


def test_rule_and_account_are_repeatable_and_take_globs(division_dir: Path, auditor_env: Path) -> None:
    _, full, _ = _nightly(division_dir, auditor_env / "reports")
    rules = ("non-school-participant", "too-few-*")
    accounts = ("rbe-*", "hhs-whitford-class")

    result = _invoke(
        "report", *[a for r in rules for a in ("--rule", r)], *[a for k in accounts for a in ("--account", k)]
    )

    assert result.exit_code == 0, result.output
    report = json.loads((_written(result) / "report.json").read_text())
    expected = {
        (f["rule"], f["account"])
        for f in full["findings"]
        if f["rule"] in ("non-school-participant", "too-few-staff-admins")
        and (f["account"].startswith("rbe-") or f["account"] == "hhs-whitford-class")
    }
    assert {(f["rule"], f["account"]) for f in report["findings"]} == expected
    # the reading group: two outsiders, its admin count; the class account: its outsiders (an individual
    # account is not asked for two staff admins)
    assert len(report["findings"]) == 4
    assert {c["account"] for c in report["coverage"]} == {"rbe-reading-group", "rbe-news-group", "hhs-whitford-class"}
    assert report["run"]["accounts_audited"] == 3


def test_out_writes_elsewhere_and_never_repoints_latest(division_dir: Path, auditor_env: Path) -> None:
    reports = auditor_env / "reports"
    nightly, full, before = _nightly(division_dir, reports)
    target = auditor_env.parent / "for-the-principal"

    result = _invoke("report", "--out", str(target))

    assert result.exit_code == 0, result.output
    assert _written(result) == target
    assert json.loads((target / "report.json").read_text()) == full  # unfiltered: the whole run
    assert {p.name for p in target.iterdir()} == set(before)
    assert (reports / "latest").resolve() == nightly
    assert {p.name: p.read_bytes() for p in nightly.iterdir()} == before
    assert sorted(p.name for p in reports.iterdir()) == sorted([nightly.name, "latest"])


def test_filters_that_match_nothing_known_are_bad_input(division_dir: Path, auditor_env: Path) -> None:
    _nightly(division_dir, auditor_env / "reports")
    for args, words in (
        (("--severity", "urgent"), "expected one of info, low, medium, high, critical"),
        (("--rule", "no-such-rule"), "matches no rule"),
        (("--account", "zzz-*"), "matches no account of this run"),
    ):
        result = _invoke("report", *args)
        assert result.exit_code == 2, args
        assert words in " ".join(result.output.split())
