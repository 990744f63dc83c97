"""Every input error names the file, the line, the record and the field; good inputs load."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.inputs import InputError, load_division


def _problems(folder: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_division(folder)
    return [str(p) for p in caught.value.problems]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_demo_division_loads(division_dir: Path) -> None:
    division = load_division(division_dir)
    keys = {a.key for a in division.accounts}
    assert {"rbe-reading-group", "rbe-news-group", "hhs-whitford-class", "hhs-athletics-tiktok"} <= keys
    assert len(division.people) == 60
    assert {p.role for p in division.people} >= {"student", "staff", "administrator", "trustee", "parent"}
    reading = next(a for a in division.accounts if a.key == "rbe-reading-group")
    assert reading.export and Path(reading.export).is_file()
    assert reading.declared_admins == ["E1011", "E1012", "E1013"]
    whitford = next(p for p in division.people if p.person_id == "E1004")
    assert whitford.status == "departed" and str(whitford.departure_date) == "2026-06-30"


def test_missing_field_names_file_line_record_and_field(division_dir: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    _edit(registry, "    purpose: Closed group for Riverbend school news\n", "")
    problems = _problems(division_dir)
    assert len(problems) == 1
    assert problems[0].startswith(f"{registry}:")
    assert "account 'rbe-news-group'" in problems[0]
    assert "field 'purpose'" in problems[0]
    assert "required field is missing" in problems[0]


def test_unknown_platform(division_dir: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    _edit(registry, "    platform: tiktok\n    connector: manual\n", "    platform: myspace\n")
    line = _line_of(registry, "platform: myspace")
    problems = _problems(division_dir)
    assert any(
        p.startswith(f"{registry}:{line}:") and "field 'platform'" in p and "unknown platform 'myspace'" in p
        for p in problems
    ), problems


def test_bad_date(division_dir: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    _edit(registry, "password_reset_on: 2024-08-20", "password_reset_on: 2024-13-45")
    line = _line_of(registry, "2024-13-45")
    problems = _problems(division_dir)
    assert len(problems) == 1
    assert problems[0].startswith(f"{registry}:{line}: account 'hhs-whitford-class': field 'password_reset_on'")
    assert "date" in problems[0]


def test_invalid_yaml_reports_line(division_dir: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    _edit(
        registry,
        "    kind: individual\n    audience: public\n    holders: [E1004]",
        "    kind: individual\n    audience: public\n    holders: [E1004",
    )
    problems = _problems(division_dir)
    assert problems[0].startswith(f"{registry}:") and "not valid YAML" in problems[0]


def test_enum_and_unknown_field(division_dir: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    _edit(
        registry,
        "    kind: joint\n    audience: closed\n    holders: [E1011, E1012]",
        "    kind: shared\n    audience: closed\n    holders: [E1011, E1012]\n    holdrs: [E1011]",
    )
    problems = _problems(division_dir)
    assert any("field 'kind'" in p and "'shared'" in p for p in problems), problems
    assert any("field 'holdrs'" in p and "unknown field" in p for p in problems), problems


def test_duplicate_key_and_unknown_activity(division_dir: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    _edit(registry, "key: rbe-news-group", "key: rbe-reading-group")
    _edit(registry, "activity: rbe-reading", "activity: chess-club")
    problems = _problems(division_dir)
    assert any("field 'key'" in p and "duplicate key" in p for p in problems), problems
    assert any("field 'activity'" in p and "'chess-club' is not in activities.yaml" in p for p in problems)


def test_manual_account_needs_export(division_dir: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    _edit(registry, "    export: ../exports/rbe-news-group.csv\n", "")
    problems = _problems(division_dir)
    assert any("account 'rbe-news-group'" in p and "field 'export'" in p for p in problems), problems


def test_directory_errors_name_row_and_column(division_dir: Path) -> None:
    staff = division_dir / "directory" / "staff.csv"
    _edit(
        staff,
        "E1004,staff,Hillside High School,James,Whitford,Jim,departed,2026-06-30",
        "E1004,staff,Hillside High School,James,Whitford,Jim,gone,2026-31-06",
    )
    _edit(staff, "E1012,staff,", "E1002,staff,")
    problems = _problems(division_dir)
    line = _line_of(staff, "Whitford")
    assert any(p.startswith(f"{staff}:{line}: person 'E1004': field 'status'") for p in problems), problems
    assert any(p.startswith(f"{staff}:{line}: person 'E1004': field 'departure_date'") for p in problems)
    assert any("person 'E1002': field 'person_id': duplicate person id" in p for p in problems)


def test_directory_missing_columns(division_dir: Path) -> None:
    (division_dir / "directory" / "bad.csv").write_text("id,name\n1,Someone\n", encoding="utf-8")
    problems = _problems(division_dir)
    assert any("bad.csv:1" in p and "missing columns" in p for p in problems), problems


def test_handle_declared_twice(division_dir: Path) -> None:
    staff = division_dir / "directory" / "staff.csv"
    _edit(
        staff,
        "E1012,staff,Riverbend Elementary School,Wei,Zhang,,active,,",
        "E1012,staff,Riverbend Elementary School,Wei,Zhang,,active,,twitter:@MR_OKAFOR",
    )
    problems = _problems(division_dir)
    assert any("person 'E1012'" in p and "already declared for E1002" in p for p in problems), problems


def test_policy_errors(division_dir: Path) -> None:
    policy = division_dir / "policy.yaml"
    _edit(policy, "min_staff_admins: 2", "min_staff_admins: two")
    policy.write_text(policy.read_text(encoding="utf-8") + "passwrd_max_age_days: 100\n", encoding="utf-8")
    problems = _problems(division_dir)
    line = _line_of(policy, "min_staff_admins")
    assert any(p.startswith(f"{policy}:{line}: policy: field 'min_staff_admins'") for p in problems), problems
    assert any("field 'passwrd_max_age_days'" in p and "unknown field" in p for p in problems), problems


def test_activity_errors(division_dir: Path) -> None:
    activities = division_dir / "activities.yaml"
    _edit(activities, "    name: Hillside Drama Society\n", "")
    problems = _problems(division_dir)
    assert any("activity 'hhs-drama'" in p and "field 'name'" in p for p in problems), problems


def test_policy_defaults_equal_ap_80_06(division_dir: Path) -> None:
    (division_dir / "policy.yaml").unlink()
    policy = load_division(division_dir).policy
    assert policy.approved_platforms == ["twitter", "facebook"]
    assert policy.min_staff_admins == 2
    assert policy.password_max_age_days == 365
    assert policy.school_body_roles == ["student", "staff", "administrator", "trustee"]
