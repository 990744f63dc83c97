"""Who must act on a finding (owners), and where on the platform (remediation), as ITS reads them:
in report.json, report.csv and a re-render, from a run of the demo's manual-connector accounts."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
from typer.testing import CliRunner

from auditor.cli import app
from auditor.directory import Directory
from auditor.owners import OwnerBook
from auditor.reconcile import Evaluated
from auditor.rules.base import RuleResult, load_rules
from connectors.registry import ConnectorRegistry
from models.tables import Person, RegisteredAccount, Severity

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "auditor/report/report.schema.json").read_text())
AS_OF = "2026-11-15T06:00:00"
runner = CliRunner()

PRINCIPAL_HHS = {"person_id": "E1001", "name": "Margaret Chen", "role": "principal"}
ITS = {"name": "ITS", "role": "its"}


def _run(division: Path) -> int:
    result = runner.invoke(app, ["run", "--division", str(division), "--as-of", AS_OF], catch_exceptions=False)
    return result.exit_code


def _latest(var: Path, name: str = "report.json") -> str:
    return (var / "reports" / "latest" / name).read_text(encoding="utf-8")


def _finding(report: dict[str, Any], rule: str, account: str) -> dict[str, Any]:
    return next(f for f in report["findings"] if f["rule"] == rule and f["account"] == account)


def test_owners_are_the_active_holders_and_admins_and_the_principal(division_dir: Path, auditor_env: Path) -> None:
    assert _run(division_dir) == 1
    report = json.loads(_latest(auditor_env))
    jsonschema.validate(report, SCHEMA)

    # the day a teacher leaves: his own account is the principal's to act on, not his
    departed = _finding(report, "departed-staff-account-active", "hhs-whitford-class")
    assert departed["owners"] == [PRINCIPAL_HHS]
    # a joint group: the two remaining staff holders and the school's principal; the one who left is not an owner
    reset = _finding(report, "password-not-reset-after-departure", "rbe-reading-group")
    assert reset["owners"] == [
        {"person_id": "E1011", "name": "Karen Fox", "role": "holder"},
        {"person_id": "E1012", "name": "Wei Zhang", "role": "holder"},
        {"person_id": "E1009", "name": "Anne Tremblay", "role": "principal"},
    ]
    assert all(f["owners"] for f in report["findings"])

    rows = list(csv.DictReader(io.StringIO(_latest(auditor_env, "report.csv"))))
    row = next(r for r in rows if r["fingerprint"] == reset["fingerprint"])
    assert row["owners"] == ("Karen Fox (E1011, holder); Wei Zhang (E1012, holder); Anne Tremblay (E1009, principal)")


def test_owners_survive_a_rerender_after_the_directory_changes(division_dir: Path, auditor_env: Path) -> None:
    _run(division_dir)
    first = json.loads(_latest(auditor_env))
    # HR renames the principal: the stored run still shows who owned it that night
    staff = division_dir / "directory" / "staff.csv"
    staff.write_text(staff.read_text(encoding="utf-8").replace("Margaret,Chen", "Margo,Chen-Ito"), encoding="utf-8")

    result = runner.invoke(app, ["report", first["run"]["id"]], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    again = json.loads(_latest(auditor_env))
    assert [f["owners"] for f in again["findings"]] == [f["owners"] for f in first["findings"]]
    assert PRINCIPAL_HHS in _finding(again, "departed-staff-account-active", "hhs-whitford-class")["owners"]


def test_the_registry_may_name_a_schools_principal(division_dir: Path, auditor_env: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    registry.write_text(
        registry.read_text(encoding="utf-8") + "\nschools:\n  - name: Hillside High School\n    principal: E1002\n",
        encoding="utf-8",
    )
    _run(division_dir)
    report = json.loads(_latest(auditor_env))

    departed = _finding(report, "departed-staff-account-active", "hhs-whitford-class")
    assert departed["owners"] == [{"person_id": "E1002", "name": "Dave Okafor", "role": "principal"}]


def test_a_registry_principal_must_be_staff_in_the_directory(division_dir: Path, auditor_env: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    text = registry.read_text(encoding="utf-8")
    registry.write_text(
        text + "\nschools:\n  - name: Hillside High School\n    principal: E9999\n"
        "  - name: Riverbend Elementary School\n    principal: 300100001\n",
        encoding="utf-8",
    )
    lines = len(text.splitlines())

    result = runner.invoke(app, ["run", "--division", str(division_dir)], catch_exceptions=False)

    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert f"manual.yaml:{lines + 4}: school 'Hillside High School': field 'principal'" in output
    assert "principal 'E9999' is not in the directory" in output
    assert "principal '300100001' is not staff (directory role: student)" in output


def test_its_owns_what_could_not_be_audited(division_dir: Path, auditor_env: Path) -> None:
    (division_dir / "exports" / "rbe-news-group.csv").write_text("", encoding="utf-8")  # an empty export
    assert _run(division_dir) == 3
    report = json.loads(_latest(auditor_env))

    incomplete = _finding(report, "audit-incomplete", "rbe-news-group")
    assert incomplete["owners"][-1] == ITS
    assert "person_id" not in incomplete["owners"][-1]


def test_remediation_says_where_on_the_platform_with_the_findings_own_values(
    division_dir: Path, auditor_env: Path
) -> None:
    _run(division_dir)
    report = json.loads(_latest(auditor_env))

    departed = _finding(report, "departed-staff-account-active", "hhs-whitford-class")["remediation"]
    assert "X account @MrWhitfordHistory of Jim Whitford (E1004)" in departed
    assert "Settings and privacy → Your account → Deactivate your account" in departed
    # a closed Facebook group audited from an ITS export: the group's admin list, not a Page's settings
    admin = _finding(report, "admin-not-active-staff", "rbe-reading-group")["remediation"]
    assert "Facebook group RiverbendReadingBuddies: Manage → People → Admins and moderators" in admin
    assert "remove Rob MacLeod (E1013) as admin" in admin


# --- the owner book on its own: division rules and each platform's table ------------------------------


def _book() -> OwnerBook:
    people = [
        Person(person_id="E1", role="administrator", school="Hillside", first_name="Ada", last_name="Okafor"),
        Person(person_id="E2", role="staff", school="Hillside", first_name="Ben", last_name="Ng"),
        Person(person_id="E3", role="staff", school="Hillside", first_name="Cy", last_name="Roy", status="departed"),
    ]
    directory = Directory(people={p.person_id: p for p in people})
    return OwnerBook(directory, datetime(2026, 11, 15, tzinfo=UTC), connectors=ConnectorRegistry.installed())


def _evaluated(rule: str, platform: str, result: RuleResult, **account: Any) -> Evaluated:
    registered = RegisteredAccount(
        key=f"hs-{platform}",
        platform=platform,
        connector=platform,
        handle="HillsideHS",
        school="Hillside",
        purpose="news",
        kind="joint",
        audience="public",
        **account,
    )
    return Evaluated(load_rules()[rule].meta, registered, result, Severity.HIGH)


def test_its_and_the_principal_own_an_unregistered_account() -> None:
    item = _evaluated("account-unregistered", "twitter", RuleResult("twitter:hhs_club", "looks like a school's"))

    assert _book().owners(item) == [{"person_id": "E1", "name": "Ada Okafor", "role": "principal"}, ITS]


def test_each_platform_says_where_to_remove_an_admin() -> None:
    book = _book()
    result = RuleResult("E3", "admin Cy Roy (E3): departed", {"person_id": "E3"})
    texts = {
        platform: book.remediation(_evaluated("admin-not-active-staff", platform, result, holders=["E2", "E3"]))
        for platform in ("facebook", "twitter", "youtube")
    }
    assert "Settings → Page access" in texts["facebook"] and "Business portfolio → Pages → People" in texts["facebook"]
    assert "Security and account access → Delegate" in texts["twitter"]
    assert "YouTube Studio → Settings → Permissions" in texts["youtube"]
    assert all("Cy Roy (E3)" in text and "HillsideHS" in text for text in texts.values())
    # a departed holder is named in the fix but is not an owner
    owners = book.owners(_evaluated("admin-not-active-staff", "youtube", result, holders=["E2", "E3"]))
    assert [o.get("person_id") for o in owners] == ["E2", "E1"]
