"""`auditor report --owner PERSON_ID`: one person's findings, for them to act on."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from auditor.cli import app

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "auditor/report/report.schema.json").read_text())
runner = CliRunner()


def _owned_by(finding: dict[str, object], key: str) -> bool:
    owners = finding.get("owners") or []
    assert isinstance(owners, list)
    return any((o.get("person_id") or "its") == key for o in owners)


def test_report_for_one_owner_holds_only_their_findings(division_dir: Path, auditor_env: Path) -> None:
    runner.invoke(app, ["run", "--division", str(division_dir), "--as-of", "2026-11-15T06:00:00"])
    whole = json.loads((auditor_env / "reports" / "latest" / "report.json").read_text())
    mine = [f for f in whole["findings"] if _owned_by(f, "E1011")]
    assert 0 < len(mine) < len(whole["findings"])

    result = runner.invoke(app, ["report", "--owner", "E1011"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    folder = auditor_env / "reports" / f"{whole['run']['id']}-owner-e1011"
    report = json.loads((folder / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert [f["fingerprint"] for f in report["findings"]] == [f["fingerprint"] for f in mine]
    assert report["run"]["owner"] == "Karen Fox (E1011)"
    assert {c["account"] for c in report["coverage"]} == {f["account"] for f in mine}
    assert "Karen Fox (E1011)" in (folder / "report.html").read_text()
    # the nightly report stays the division's
    assert (auditor_env / "reports" / "latest").resolve().name == whole["run"]["id"]


def test_an_unknown_owner_is_a_usage_error_that_lists_the_owners(division_dir: Path, auditor_env: Path) -> None:
    runner.invoke(app, ["run", "--division", str(division_dir), "--as-of", "2026-11-15T06:00:00"])

    result = runner.invoke(app, ["report", "--owner", "E404"], catch_exceptions=False)

    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "no finding in this report is owned by 'E404'" in output
    assert "Karen Fox (E1011)" in output
