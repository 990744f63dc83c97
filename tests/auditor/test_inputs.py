"""Every input error names the file, the line, the record and the field; good inputs load."""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable
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
    assert policy.approved_platforms == ["facebook", "twitter"]  # as the connectors declare, by name
    assert policy.min_staff_admins == 2
    assert policy.password_max_age_days == 365
    assert policy.school_body_roles == ["student", "staff", "administrator", "trustee"]


# --- cross-references: every id an input names exists ------------------------------------------


def test_unknown_person_in_a_registry_list_names_the_line_of_the_reference(division_dir: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    _edit(registry, "    holders: [E1009, E1011]", "    holders: [E1009, E9999]")
    _edit(registry, "    admins: [E1011, E1012, E1013]", "    admins:\n      - E1011\n      - X-404\n      - E1013")
    problems = _problems(division_dir)
    holders, admin = _line_of(registry, "E9999"), _line_of(registry, "- X-404")
    assert (
        f"{registry}:{holders}: account 'rbe-news-group': field 'holders': person 'E9999' is not in the directory"
        in (problems)
    )
    assert (
        f"{registry}:{admin}: account 'rbe-reading-group': field 'admins': person 'X-404' is not in the directory"
        in (problems)
    )
    assert len(problems) == 2, problems


def test_unknown_sponsor_and_unknown_account_of_an_activity_name_their_lines(division_dir: Path) -> None:
    activities = division_dir / "activities.yaml"
    _edit(activities, "sponsors: [E1003]", "sponsors: [E1003, E7777]")
    _edit(activities, "accounts: [rbe-reading-group]", "accounts:\n      - rbe-reading-group\n      - rbe-chess-x")
    problems = _problems(division_dir)
    sponsor, account = _line_of(activities, "E7777"), _line_of(activities, "- rbe-chess-x")
    assert (
        f"{activities}:{sponsor}: activity 'hhs-drama': field 'sponsors': person 'E7777' is not in the directory"
        in problems
    )
    expected = "activity 'rbe-reading': field 'accounts': account 'rbe-chess-x' is not in the registry"
    assert f"{activities}:{account}: {expected}" in problems
    assert len(problems) == 2, problems


def test_a_person_rejected_for_a_bad_date_gives_one_error_not_its_knock_ons(division_dir: Path) -> None:
    # E1004 holds hhs-whitford-class and declares a handle: neither reference may add a second error.
    staff = division_dir / "directory" / "staff.csv"
    _edit(staff, "Whitford,Jim,departed,2026-06-30", "Whitford,Jim,departed,2026-06-31")
    problems = _problems(division_dir)
    assert problems == [
        f"{staff}:{_line_of(staff, 'Whitford')}: person 'E1004': field 'departure_date': "
        "not a date (YYYY-MM-DD): '2026-06-31'"
    ]


def test_an_account_rejected_by_validation_is_not_also_missing_from_the_registry(division_dir: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    _edit(
        registry,
        "    kind: joint\n    audience: closed\n    holders: [E1011, E1012]",
        "    kind: shared\n    audience: closed\n    holders: [E1011, E1012]",
    )
    problems = _problems(division_dir)
    assert len(problems) == 1 and "account 'rbe-reading-group': field 'kind'" in problems[0], problems


def test_an_activity_rejected_by_validation_is_not_also_missing_from_activities(division_dir: Path) -> None:
    activities = division_dir / "activities.yaml"
    _edit(activities, "    name: Riverbend Reading Buddies\n", "")
    problems = _problems(division_dir)
    assert len(problems) == 1 and "activity 'rbe-reading': field 'name'" in problems[0], problems


# --- directory CSVs ---------------------------------------------------------------------------


def _without_column(path: Path, column: str) -> None:
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    index = rows[0].index(column)
    path.write_text("\n".join(",".join(r[:index] + r[index + 1 :]) for r in rows) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (lambda p: _without_column(p, "status"), "missing column(s): status"),
        (lambda p: _without_column(p, "departure_date"), "missing column(s): departure_date"),
        (lambda p: _edit(p, "preferred_name,", "status,"), "duplicated column(s): status"),
        (lambda p: p.write_text("", encoding="utf-8"), "the file is empty"),
        (lambda p: p.write_text(p.read_text(encoding="utf-8").splitlines()[0] + "\n"), "header but no rows"),
    ],
    ids=["no-status", "no-departure-date", "duplicated-column", "empty", "header-only"],
)
def test_a_directory_csv_that_cannot_tell_who_is_active_is_refused(
    division_dir: Path, spoil: Callable[[Path], None], expected: str
) -> None:
    staff = division_dir / "directory" / "staff.csv"
    spoil(staff)
    problems = _problems(division_dir)
    assert any(p.startswith(f"{staff}") and expected in p for p in problems), problems


def test_a_nul_byte_in_a_directory_csv_names_its_line(division_dir: Path) -> None:
    staff = division_dir / "directory" / "staff.csv"
    _edit(staff, "E1012,staff,", "E1012,st\x00aff,")
    problems = _problems(division_dir)
    assert problems == [f"{staff}:{_line_of(staff, 'E1012')}: contains a NUL byte " + NUL_ADVICE]


NUL_ADVICE = "(a binary file, or UTF-16 text?): save it as UTF-8 text"


# --- encodings: the line, not a byte offset ----------------------------------------------------


def _latin1(path: Path, old: str, new: str) -> int:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_bytes(text.replace(old, new, 1).encode("latin-1"))
    return next(n for n, line in enumerate(text.replace(old, new, 1).splitlines(), start=1) if new in line)


def test_a_latin1_byte_in_a_csv_names_its_line(division_dir: Path) -> None:
    staff = division_dir / "directory" / "staff.csv"
    line = _latin1(staff, "Sarah,Lindqvist", "Sarah,Lindqvíst")
    problems = _problems(division_dir)
    assert len(problems) == 1 and problems[0].startswith(f"{staff}:{line}: not UTF-8 text: byte 0xED"), problems


def test_a_latin1_byte_in_a_yaml_file_names_its_line(division_dir: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    line = _latin1(registry, "purpose: Athletics highlights", "purpose: Athlétisme")
    problems = _problems(division_dir)
    assert len(problems) == 1 and problems[0].startswith(f"{registry}:{line}: not UTF-8 text: byte 0xE9"), problems


def test_a_utf16_yaml_file_is_refused_with_its_name(division_dir: Path) -> None:
    policy = division_dir / "policy.yaml"
    policy.write_bytes(policy.read_text(encoding="utf-8").encode("utf-16"))
    assert _problems(division_dir) == [f"{policy}:1: the file is UTF-16 text: save it as UTF-8"]


# --- YAML: duplicate keys, nesting, types -------------------------------------------------------


def test_a_duplicate_yaml_key_is_an_error_not_a_silent_overwrite(division_dir: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    _edit(
        registry,
        "    kind: individual\n    audience: public\n    holders: [E1004]",
        "    kind: individual\n    audience: public\n    kind: joint\n    holders: [E1004]",
    )
    policy = division_dir / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + "min_staff_admins: 1\n", encoding="utf-8")
    problems = _problems(division_dir)
    whitford = _line_of(registry, "key: hhs-whitford-class")
    again = whitford + registry.read_text(encoding="utf-8").splitlines()[whitford:].index("    kind: joint") + 1
    assert f"{registry}:{again}: field 'kind': duplicate key (also at line {again - 2}; only one may be given)" in (
        problems
    )
    last = len(policy.read_text(encoding="utf-8").splitlines())
    assert any(p.startswith(f"{policy}:{last}: field 'min_staff_admins': duplicate key") for p in problems), problems


def test_nesting_deep_enough_to_exhaust_the_stack_is_an_input_error(division_dir: Path) -> None:
    activities = division_dir / "activities.yaml"
    activities.write_text("activities: " + "[" * 20_000 + "]" * 20_000 + "\n", encoding="utf-8")
    problems = _problems(division_dir)
    assert any(p.startswith(f"{activities}: nested too deeply") for p in problems), problems


@pytest.mark.parametrize(
    ("ignore", "expected"),
    [
        ("ignore: 5\n", "field 'ignore': expected a list under 'ignore:'"),
        ("ignore: not a list\n", "field 'ignore': expected a list under 'ignore:'"),
        ("ignore:\n  - 5\n", "Input should be a valid dictionary"),
        ("ignore:\n  - platform: twitter\n    handle: [a, b]\n    reason: x\n", "field 'handle'"),
        ("ignore:\n  - platform: twitter\n    handle: '@someone'\n", "field 'reason': required field is missing"),
    ],
    ids=["number", "text", "item-number", "handle-list", "no-reason"],
)
def test_a_wrong_ignore_list_is_an_input_error(division_dir: Path, ignore: str, expected: str) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    text = registry.read_text(encoding="utf-8")
    registry.write_text(text[: text.index("ignore:")] + ignore, encoding="utf-8")
    problems = _problems(division_dir)
    assert any(p.startswith(f"{registry}:") and expected in p for p in problems), problems


@pytest.mark.parametrize(
    "holders", ["[{name: E1011}]", "[true]", "[null]", "[[E1011]]"], ids=["mapping", "bool", "null", "list"]
)
def test_a_person_list_of_the_wrong_type_is_not_turned_into_text(division_dir: Path, holders: str) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    _edit(registry, "holders: [E1011, E1012]", f"holders: {holders}")
    problems = _problems(division_dir)
    assert any("account 'rbe-reading-group': field 'holders.0'" in p for p in problems), problems


def test_an_unknown_top_level_section_is_named(division_dir: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    registry.write_text(registry.read_text(encoding="utf-8") + "acounts: []\n", encoding="utf-8")
    problems = _problems(division_dir)
    assert any(p.startswith(f"{registry}:") and "field 'acounts': unknown section" in p for p in problems), problems


# --- export paths ---------------------------------------------------------------------------------


def _export_problem(division_dir: Path) -> str:
    problems = _problems(division_dir)
    registry = division_dir / "registry" / "manual.yaml"
    line = _line_of(registry, "export: ../exports/rbe-news-group.csv")
    (problem,) = problems
    assert problem.startswith(f"{registry}:{line}: account 'rbe-news-group': field 'export': "), problem
    return problem


def test_a_missing_export_is_refused_at_load(division_dir: Path) -> None:
    (division_dir / "exports" / "rbe-news-group.csv").unlink()
    assert "export file not found" in _export_problem(division_dir)


def test_a_named_pipe_as_export_is_refused_at_load(division_dir: Path) -> None:
    export = division_dir / "exports" / "rbe-news-group.csv"
    export.unlink()
    os.mkfifo(export)
    assert "is a named pipe (FIFO), not a regular file" in _export_problem(division_dir)


def test_a_folder_as_export_is_refused_at_load(division_dir: Path) -> None:
    export = division_dir / "exports" / "rbe-news-group.csv"
    export.unlink()
    export.mkdir()
    assert "is a folder, not a regular file" in _export_problem(division_dir)


def test_an_export_outside_the_division_is_refused(division_dir: Path) -> None:
    outside = division_dir.parent / "elsewhere.csv"
    shutil.copy(division_dir / "exports" / "rbe-news-group.csv", outside)
    registry = division_dir / "registry" / "manual.yaml"
    _edit(registry, "export: ../exports/rbe-news-group.csv", "export: ../../elsewhere.csv")
    problems = _problems(division_dir)
    line = _line_of(registry, "elsewhere.csv")
    assert len(problems) == 1, problems
    assert problems[0].startswith(
        f"{registry}:{line}: account 'rbe-news-group': field 'export': '../../elsewhere.csv' is"
    )
    assert "outside the allowed folders" in problems[0]


def test_a_symlink_out_of_the_division_is_refused(division_dir: Path) -> None:
    export = division_dir / "exports" / "rbe-news-group.csv"
    outside = division_dir.parent / "elsewhere.csv"
    shutil.move(export, outside)
    export.symlink_to(outside)
    problem = _export_problem(division_dir)
    assert "is a symbolic link to a file outside the allowed folders" in problem


def test_an_export_larger_than_the_policy_limit_is_refused(division_dir: Path) -> None:
    policy = division_dir / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + "export_max_bytes: 100\n", encoding="utf-8")
    problems = _problems(division_dir)
    assert all("more than the policy's export_max_bytes (100)" in p for p in problems), problems
    assert len(problems) == 4  # every manual account's export is larger than 100 bytes


def test_the_policy_can_allow_an_exports_folder_outside_the_division(division_dir: Path) -> None:
    its_exports = division_dir.parent / "its-exports"
    its_exports.mkdir()
    shutil.move(division_dir / "exports" / "rbe-news-group.csv", its_exports / "news.csv")
    registry = division_dir / "registry" / "manual.yaml"
    _edit(registry, "export: ../exports/rbe-news-group.csv", f"export: {its_exports / 'news.csv'}")
    assert any("outside the allowed folders" in p for p in _problems(division_dir))

    policy = division_dir / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + "export_folders: [../its-exports]\n", encoding="utf-8")
    news = next(a for a in load_division(division_dir).accounts if a.key == "rbe-news-group")
    assert news.export == str((its_exports / "news.csv").resolve())
