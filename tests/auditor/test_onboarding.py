"""Onboarding a division: `auditor init`, `auditor validate`, `auditor registry import` (issue #22)."""

from __future__ import annotations

import os
import socket
import stat
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from auditor.cli import app
from auditor.inputs import load_division, load_policy
from auditor.policy import Policy
from tests.conftest import REPO

runner = CliRunner()

FORM_HEADERS = [
    "Account name/Handle",
    "Platform",
    "School",
    "Purpose",
    "Individual or joint",
    "Public/closed",
    "Holders",
    "Admins",
    "Reviewed by",
    "Date reviewed",
    "Password last reset",
]
PEOPLE_CSV = (
    "person_id,role,school,first_name,last_name,preferred_name,status,departure_date,handles\n"
    "E1001,administrator,Hillside High School,Margaret,Chen,,active,,\n"
    "E1002,staff,Hillside High School,David,Okafor,Dave,active,,\n"
    "300100001,student,Hillside High School,Ava,Kowalski,,active,,\n"
)


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder below `folder` with its size and modification time."""
    found = {}
    for path in folder.rglob("*"):
        info = path.stat()
        found[str(path.relative_to(folder))] = (info.st_size, info.st_mtime_ns)
    return found


def _division_with_people(tmp_path: Path) -> Path:
    division = tmp_path / "division"
    (division / "directory").mkdir(parents=True)
    (division / "directory" / "people.csv").write_text(PEOPLE_CSV, encoding="utf-8")
    return division


# --- init and validate --------------------------------------------------------------------------


def test_init_then_validate_exits_zero(tmp_path: Path, auditor_env: Path) -> None:
    created = runner.invoke(app, ["init", str(tmp_path / "new-division")])
    assert created.exit_code == 0, created.output
    checked = runner.invoke(app, ["validate", "--division", str(tmp_path / "new-division")])
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.strip().splitlines()[-1] == "ok: 1 accounts, 2 people, 1 activities"


def test_init_scaffold_contents(tmp_path: Path) -> None:
    folder = tmp_path / "division"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    registry = (folder / "registry" / "registry.yaml").read_text(encoding="utf-8")
    assert registry.count("\n#") >= 3  # a commented example
    assert yaml.safe_load(registry)["accounts"][0]["status"] == "disabled"  # a forgotten example is never audited
    header = (folder / "directory" / "people.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "person_id,role,school,first_name,last_name,preferred_name,status,departure_date,handles"
    assert yaml.safe_load((folder / "activities.yaml").read_text(encoding="utf-8"))["activities"]
    mapping = yaml.safe_load((folder / "registry-import-mapping.yaml").read_text(encoding="utf-8"))
    assert set(mapping) >= {"columns", "values", "date_format"}
    env = folder / ".env"
    assert env.read_text(encoding="utf-8") == (REPO / ".env.example").read_text(encoding="utf-8")
    assert stat.S_IMODE(env.stat().st_mode) == 0o600  # it will hold credentials


def test_init_policy_has_every_default_with_its_clause(tmp_path: Path) -> None:
    folder = tmp_path / "division"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    policy_file = folder / "policy.yaml"
    problems: list = []
    assert load_policy(policy_file, problems) == Policy() and not problems
    written = yaml.safe_load(policy_file.read_text(encoding="utf-8"))
    assert list(written) == list(Policy.model_fields)  # every field, explicitly
    lines = policy_file.read_text(encoding="utf-8").splitlines()
    for name in Policy.model_fields:
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{name}:"))
        assert lines[at - 1].startswith("# "), f"{name} has no comment"
    clauses = [line for line in lines if line.startswith("# AP 80-06, ")]
    assert any("two staff members" in line for line in clauses)
    assert any("reset annually" in line for line in clauses)


def test_every_policy_setting_has_a_clause() -> None:
    """A new Policy field without its explanation fails here, so the scaffold never drifts silently."""
    from auditor.scaffold import POLICY_CLAUSES

    assert set(POLICY_CLAUSES) == set(Policy.model_fields)


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "division"
    folder.mkdir()
    (folder / "policy.yaml").write_text("division: Ours\n", encoding="utf-8")
    before = _tree(folder)
    result = runner.invoke(app, ["init", str(folder)])
    assert result.exit_code == 2
    assert "not empty" in result.stderr and "nothing was written" in result.stderr
    assert _tree(folder) == before
    assert runner.invoke(app, ["init", str(tmp_path / "empty")]).exit_code == 0  # an empty folder is fine


def test_validate_writes_nothing_and_calls_nothing(
    tmp_path: Path, auditor_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "division"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0

    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("validate opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    before = _tree(tmp_path)
    result = runner.invoke(app, ["validate", "--division", str(folder)])
    assert result.exit_code == 0, result.output
    assert _tree(tmp_path) == before
    assert not auditor_env.exists()  # no database, no lock, no report folder


def test_validate_lists_problems_one_per_line(tmp_path: Path, auditor_env: Path) -> None:
    folder = tmp_path / "division"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    registry = folder / "registry" / "registry.yaml"
    text = registry.read_text(encoding="utf-8").replace("holders: [EXAMPLE1]", "holders: [NOBODY]")
    registry.write_text(text.replace("kind: joint", "kind: shared"), encoding="utf-8")
    before = _tree(tmp_path)
    result = runner.invoke(app, ["validate", "--division", str(folder)])
    assert result.exit_code == 2
    lines = [line.strip() for line in result.stderr.splitlines() if str(registry) in line]
    assert len(lines) == 1 and "field 'kind'" in lines[0]  # the rejected account's holder is a knock-on
    assert "ok:" not in result.stdout
    assert _tree(tmp_path) == before
    assert not auditor_env.exists()


# --- registry import ----------------------------------------------------------------------------


def _workbook(path: Path, rows: list[list[object]], headers: list[str] = FORM_HEADERS) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_registry_import_xlsx_round_trip(tmp_path: Path, auditor_env: Path) -> None:
    division = _division_with_people(tmp_path)
    headers = ["  ACCOUNT NAME / handle ", *FORM_HEADERS[1:6], "holders", " Admins", "REVIEWED BY", *FORM_HEADERS[9:]]
    forms = _workbook(
        tmp_path / "forms.xlsx",
        [
            ["@HillsideHS_News", "X/Twitter", "Hillside High School", "School news", "Joint", "Public",
             "E1001; E1002", "E1001, E1002", "Director of ITS", datetime(2026, 1, 10), datetime(2026, 8, 1)],
            [None] * 11,  # a blank row in the sheet: skipped
            ["HillsideHighPage", "Facebook Page", "Hillside High School", "Families", "Individual account",
             "Closed", "E1002", "E1001\nE1002", "Assistant Superintendent", datetime(2025, 9, 2), None],
        ],
        headers=headers,
    )  # fmt: skip
    out = division / "registry" / "forms.yaml"
    result = runner.invoke(app, ["registry", "import", str(forms), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "# forms.xlsx row 2\n" in text and "# forms.xlsx row 4\n" in text

    loaded = load_division(division)  # the normal loader
    accounts = {a.handle: a for a in loaded.accounts}
    news = accounts["@HillsideHS_News"]
    assert (news.platform, news.kind, news.audience) == ("twitter", "joint", "public")
    assert news.holders == ["E1001", "E1002"] and news.declared_admins == ["E1001", "E1002"]
    assert (news.reviewed_on, news.password_reset_on) == (date(2026, 1, 10), date(2026, 8, 1))
    assert news.source.endswith("forms.yaml:5")
    page = accounts["HillsideHighPage"]
    assert (page.platform, page.kind, page.audience) == ("facebook", "individual", "closed")
    assert page.declared_admins == ["E1001", "E1002"] and page.password_reset_on is None
    assert validate_ok(division) == "ok: 2 accounts, 3 people, 0 activities"


def validate_ok(division: Path) -> str:
    result = runner.invoke(app, ["validate", "--division", str(division)])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_registry_import_csv_with_a_mapping_round_trip(tmp_path: Path, auditor_env: Path) -> None:
    division = _division_with_people(tmp_path)
    forms = tmp_path / "forms.csv"
    forms.write_text(
        "\ufeffTimestamp,Account,Site,School,Purpose,Type of account,Visibility,Holders,Admins,Key,"
        "Password last reset\n"
        '2026-01-03 10:00,@hhs_robotics,x,Hillside High School,"Robotics club, news",Shared,Private,'
        'E1002,"E1001,E1002",hhs-robotics-x,01/08/2026\r\n',
        encoding="utf-8",
    )
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        'columns: {"Account": handle, "Site": platform, "Type of account": kind, "Visibility": audience, '
        '"Timestamp": ignore}\n'
        "values: {kind: {shared: joint}, audience: {Private: closed}}\n"
        'date_format: "%d/%m/%Y"\n',
        encoding="utf-8",
    )
    out = division / "registry" / "forms.yaml"
    result = runner.invoke(app, ["registry", "import", str(forms), "--mapping", str(mapping), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "# forms.csv row 2\n" in out.read_text(encoding="utf-8")
    (account,) = load_division(division).accounts
    assert account.key == "hhs-robotics-x"
    assert (account.platform, account.handle, account.purpose) == ("twitter", "@hhs_robotics", "Robotics club, news")
    assert (account.kind, account.audience) == ("joint", "closed")
    assert account.password_reset_on == date(2026, 8, 1)  # day first, as the mapping says


def test_registry_import_refuses_rows_it_cannot_map(tmp_path: Path) -> None:
    good = ["@ok", "Twitter", "Hillside High School", "News", "Joint", "Public", "E1001", "E1001", "ITS",
            datetime(2026, 1, 10), datetime(2026, 8, 1)]  # fmt: skip
    forms = _workbook(
        tmp_path / "forms.xlsx",
        [
            good,
            ["@two", "Twitter", "HHS", "News", "Shared by staff", "Public", "E1001", "", "", None, None],
            [*good[:1], "MySpace", *good[2:]],
            ["@three", "Facebook", "Hillside High School", "News", "Joint", "Public", "", "", "", "next week", None],
            [None, "YouTube", "Hillside High School", "Media", "Joint", "Public", "", "", "", None, None],
        ],
    )  # fmt: skip
    out = tmp_path / "registry" / "forms.yaml"
    result = runner.invoke(app, ["registry", "import", str(forms), "--out", str(out)])
    assert result.exit_code == 2
    problems = [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]
    assert [p.split(":")[1] for p in problems] == ["3", "4", "5", "6"], problems
    assert all(p.startswith(f"{forms}:") for p in problems)
    assert "field 'kind'" in problems[0] and "'shared by staff'" in problems[0]
    assert "unknown platform 'myspace'" in problems[1]
    assert "field 'reviewed_on'" in problems[2] and "'next week' is not a date" in problems[2]
    assert "handle" in problems[3]
    assert not out.exists() and not out.parent.exists()  # nothing written, not even the folder


def test_registry_import_refuses_missing_columns_and_duplicate_keys(tmp_path: Path) -> None:
    forms = tmp_path / "forms.csv"
    forms.write_text("Handle,Platform,School,Purpose\n@a,twitter,HHS,News\n", encoding="utf-8")
    result = runner.invoke(app, ["registry", "import", str(forms), "--out", str(tmp_path / "out.yaml")])
    assert result.exit_code == 2
    assert f"{forms}:1: no column for 'kind'" in result.stderr
    assert f"{forms}:1: no column for 'audience'" in result.stderr

    forms.write_text(
        "Handle,Platform,School,Purpose,Individual or joint,Public/closed\n"
        "@News,twitter,HHS,News,joint,public\n"
        "@news,x,HHS,Other news,joint,public\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["registry", "import", str(forms), "--out", str(tmp_path / "out.yaml")])
    assert result.exit_code == 2
    assert f"{forms}:3: account 'news-twitter': field 'key': key 'news-twitter' is already row 2's" in result.stderr
    assert not (tmp_path / "out.yaml").exists()


def test_registry_import_refuses_an_id_excel_rounded(tmp_path: Path) -> None:
    headers = [*FORM_HEADERS[1:6], "Page ID"]
    forms = _workbook(
        tmp_path / "forms.xlsx",
        [["Facebook", "HHS", "News", "Joint", "Public", 1.0800000000001012e16]],
        headers=headers,
    )
    result = runner.invoke(app, ["registry", "import", str(forms), "--out", str(tmp_path / "out.yaml")])
    assert result.exit_code == 2
    assert f"{forms}:2: field 'platform_id':" in result.stderr and "format the column as text" in result.stderr


def test_registry_import_keeps_an_existing_registry(tmp_path: Path) -> None:
    forms = tmp_path / "forms.csv"
    forms.write_text(
        "Handle,Platform,School,Purpose,Individual or joint,Public/closed\n@a,twitter,HHS,News,joint,public\n",
        encoding="utf-8",
    )
    out = tmp_path / "forms.yaml"
    out.write_text("accounts: []\n", encoding="utf-8")
    refused = runner.invoke(app, ["registry", "import", str(forms), "--out", str(out)])
    assert refused.exit_code == 2 and out.read_text(encoding="utf-8") == "accounts: []\n"
    replaced = runner.invoke(app, ["registry", "import", str(forms), "--out", str(out), "--force"])
    assert replaced.exit_code == 0, replaced.output
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["accounts"][0]["key"] == "a-twitter"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_registry_import_mapping_file_is_checked(tmp_path: Path) -> None:
    forms = tmp_path / "forms.csv"
    forms.write_text("Account,Site\n@a,twitter\n", encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  Account: handel\n  Site: platform\n", encoding="utf-8")
    result = runner.invoke(
        app, ["registry", "import", str(forms), "--mapping", str(mapping), "--out", str(tmp_path / "o.yaml")]
    )
    assert result.exit_code == 2
    assert f"{mapping}:1: column 'Account': field 'columns': no registry field 'handel'" in result.stderr
    assert not (tmp_path / "o.yaml").exists()


def test_the_scaffolds_mapping_example_is_a_valid_mapping(tmp_path: Path) -> None:
    from auditor.registry_import import load_mapping

    assert runner.invoke(app, ["init", str(tmp_path / "division")]).exit_code == 0
    mapping = load_mapping(tmp_path / "division" / "registry-import-mapping.yaml")
    assert mapping.columns["Account"] == "handle" and mapping.date_format == "%d/%m/%Y"


def test_env_without_a_source_checkout_still_names_every_setting(tmp_path: Path) -> None:
    """An installed wheel (the container) has no .env.example: `.env` then lists every setting, empty."""
    from auditor.scaffold import env_text
    from auditor.settings import Settings

    text = env_text(tmp_path / "missing.env.example")
    names = {line.split("=")[0] for line in text.splitlines() if not line.startswith("#")}
    assert names == {str(f.validation_alias) for f in Settings.model_fields.values()}
    assert all(line.endswith("=") for line in text.splitlines() if not line.startswith("#"))
