"""The demo division from an ITS's real files: its directory as the SIS's OneRoster export and its
registry as the Form 8-06 spreadsheet ITS keeps, turned into registry YAML by `auditor registry
import`. Auditing it finds exactly what the hand-written demo finds."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from openpyxl import Workbook
from typer.testing import CliRunner

from auditor.cli import app
from tests.auditor.oneroster_files import demo_as_oneroster
from tests.auditor.test_demo_oneroster import REPO, _demo

# The spreadsheet's columns as a Form 8-06 register might head them (recognised without a mapping file).
COLUMNS = {
    "Key": "key",
    "Social media platform": "platform",
    "Account name/Handle": "handle",
    "Page ID": "platform_id",
    "School": "school",
    "Purpose of account": "purpose",
    "Club/Activity": "activity",
    "Individual or joint": "kind",
    "Public or closed": "audience",
    "Account holders": "holders",
    "Staff admins": "admins",
    "ITS admin account": "its_admin",
    "Reviewed by": "reviewed_by",
    "Date reviewed": "reviewed_on",
    "Approved by": "approved_by",
    "Date approved": "approved_on",
    "Password last reset": "password_reset_on",
    "Status": "status",
    "Connector": "connector",
    "Export file": "export",
}


def registry_as_spreadsheet(registry: Path, workbook: Path) -> list[dict[str, Any]]:
    """Every account of the registry YAML files as a row of a workbook (ids typed as text, dates as
    dates, lists as comma-separated names); returns the `ignore:` entries, which are no Form 8-06 rows."""
    sheet_book = Workbook()
    sheet = sheet_book.active
    assert sheet is not None
    sheet.title = "Form 8-06 register"
    sheet.append(list(COLUMNS))
    ignored: list[dict[str, Any]] = []
    for path in sorted(registry.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        ignored += data.get("ignore") or []
        for account in data.get("accounts") or []:
            row: list[Any] = []
            for field in COLUMNS.values():
                value = account.get(field)
                if isinstance(value, list):
                    value = ", ".join(value)
                elif value is not None and not isinstance(value, date):
                    value = str(value)
                row.append(value)
            sheet.append(row)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.number_format = "@"  # text, as ITS formats id columns so Excel keeps every digit
    sheet_book.save(workbook)
    return ignored


def _comparable(report: dict[str, Any], division: Path) -> dict[str, tuple[Any, ...]]:
    """Fingerprint -> what a reader sees; where each registration was read from is left out."""
    found = {}
    for f in report["findings"]:
        evidence = json.dumps(f["evidence"], sort_keys=True).replace(str(division), "DIVISION")
        evidence = re.sub(r"registry/[\w.-]+\.yaml:\d+", "REGISTRY", evidence)
        found[f["fingerprint"]] = (f["rule"], f["status"], f["severity"], f["confidence"], evidence)
    return found


def test_the_demo_from_oneroster_and_a_form_8_06_spreadsheet_finds_the_same(tmp_path: Path) -> None:
    written = tmp_path / "hand-written"
    shutil.copytree(REPO / "auditor" / "demo", written)
    imported = tmp_path / "from-its-files"
    shutil.copytree(REPO / "auditor" / "demo", imported)
    demo_as_oneroster(imported / "directory")
    forms = tmp_path / "form-8-06.xlsx"
    ignored = registry_as_spreadsheet(imported / "registry", forms)
    for path in (imported / "registry").glob("*.yaml"):
        path.unlink()
    (imported / "registry" / "ignore.yaml").write_text(yaml.safe_dump({"ignore": ignored}), encoding="utf-8")

    result = CliRunner().invoke(
        app, ["registry", "import", str(forms), "--out", str(imported / "registry" / "forms.yaml")]
    )
    assert result.exit_code == 0, result.output
    text = (imported / "registry" / "forms.yaml").read_text(encoding="utf-8")
    assert "# form-8-06.xlsx row 2" in text  # each entry names the spreadsheet row it came from

    expected, _ = _demo(written, tmp_path / "out-hand-written")
    found, _ = _demo(imported, tmp_path / "out-from-its-files")

    assert expected["findings"] and _comparable(found, imported) == _comparable(expected, written)
    assert [(c["account"], c["state"]) for c in found["coverage"]] == [
        (c["account"], c["state"]) for c in expected["coverage"]
    ]
