"""directory/mapping.yaml reads an HR export in its own columns, codes and date format, and refuses
what it does not map with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.inputs import InputError, load_division

HR_EXPORT = (
    "Employee Number,Surname,Given Name,Known As,Job Title,Site,Employment Status,Termination Date,Salary Band\r\n"
    "H5001,Quill,Ronan,Ro,Teacher,Hillside High School,Active,,B4\r\n"
    "H5002,Ivers,Tamsin,,Principal,Riverbend Elementary School,ACTIVE,,C1\r\n"
    "H5003,Marsh,Oona,,Teacher,Hillside High School,Terminated,31/08/2026,B2\r\n"
    "H5004,Bale,Edgar,,Educational Assistant,Riverbend Elementary School,LOA,,A3\r\n"
)
MAPPING = """\
files:
  hr-export.csv:
    columns:
      Employee Number: person_id
      Surname: last_name
      Given Name: first_name
      Known As: preferred_name
      Job Title: role
      Site: school
      Employment Status: status
      Termination Date: departure_date
    ignore: [Salary Band]
    values:
      role:
        Teacher: staff
        Principal: administrator
        Educational Assistant: staff
      status:
        Active: active
        Terminated: departed
        LOA: on_leave
    date_format: "%d/%m/%Y"
"""


def _write(division_dir: Path, export: str = HR_EXPORT, mapping: str = MAPPING) -> tuple[Path, Path]:
    directory = division_dir / "directory"
    (directory / "hr-export.csv").write_text(export, encoding="utf-8")
    (directory / "mapping.yaml").write_text(mapping, encoding="utf-8")
    return directory / "hr-export.csv", directory / "mapping.yaml"


def _problems(folder: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_division(folder)
    return [str(p) for p in caught.value.problems]


def _line(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


def test_an_hr_export_is_read_through_its_mapping(division_dir: Path) -> None:
    _write(division_dir)
    people = {p.person_id: p for p in load_division(division_dir).people}

    quill, ivers, marsh, bale = (people[f"H500{n}"] for n in (1, 2, 3, 4))
    assert (quill.role, quill.first_name, quill.preferred_name, quill.school) == (
        "staff",
        "Ronan",
        "Ro",
        "Hillside High School",
    )
    assert (ivers.role, ivers.status) == ("administrator", "active")  # ACTIVE: codes match whatever their case
    assert (marsh.status, str(marsh.departure_date)) == ("departed", "2026-08-31")
    assert (bale.role, bale.status) == ("staff", "on_leave")


def test_an_unmapped_value_names_the_export_line(division_dir: Path) -> None:
    export, mapping = _write(division_dir, HR_EXPORT + "H5005,Nye,Pat,,Custodian,Hillside High School,Retired,,A1\r\n")
    problems = _problems(division_dir)
    where = f"{mapping}:{_line(mapping, 'hr-export.csv')}"
    assert problems == [
        f"{export}:6: person 'H5005': field 'job title': value 'Custodian' is not in the role map of {where}",
        f"{export}:6: person 'H5005': field 'employment status': value 'Retired' is not in the status map of {where}",
    ]


def test_an_unknown_or_missing_column_is_refused(division_dir: Path) -> None:
    changed = HR_EXPORT.replace("Salary Band", "Home Phone").replace("Site,", "Location,", 1)
    export, _mapping = _write(division_dir, changed)
    problems = _problems(division_dir)
    assert f"{export}:1: field 'location': unknown column: map it or list it under 'ignore'" in problems[0]
    assert any(p.startswith(f"{export}:1: field 'home phone': unknown column") for p in problems)
    assert any(p.startswith(f"{export}:1: field 'site':") and "which the file does not have" in p for p in problems)


def test_a_date_not_in_the_format_names_the_line(division_dir: Path) -> None:
    export, _mapping = _write(division_dir, HR_EXPORT.replace("31/08/2026", "2026-08-31"))
    (problem,) = _problems(division_dir)
    assert problem.startswith(
        f"{export}:4: person 'H5003': field 'termination date': not a date in the format '%d/%m/%Y'"
    )


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("Site: school", "Site: campus", "Site: campus", "field 'columns.Site': Input should be 'person_id'"),
        ("LOA: on_leave", "LOA: sabbatical", "LOA: sabbatical", "field 'values.status.LOA': Input should be 'active'"),
        ('"%d/%m/%Y"', '"%d/%q"', "date_format", "not a date format that round-trips a date"),
        ("      Employment Status: status\n", "", "columns:", "map a column to each of: status"),
        ("    ignore:", "    skip:", "skip:", "field 'skip': unknown field (check the spelling)"),
    ],
)
def test_a_wrong_mapping_names_its_line(division_dir: Path, old: str, new: str, needle: str, message: str) -> None:
    assert old in MAPPING
    _export, mapping = _write(division_dir, mapping=MAPPING.replace(old, new))
    problems = _problems(division_dir)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{mapping}:{_line(mapping, needle)}: file 'hr-export.csv'")
    assert message in problems[0]


def test_a_mapping_for_a_missing_file_is_refused(division_dir: Path) -> None:
    export, mapping = _write(division_dir)
    export.rename(export.with_name("hr-export-2026.csv"))
    problems = _problems(division_dir)
    assert f"{mapping}:2: field 'hr-export.csv': no such file in the directory folder" in problems


def test_a_mapping_mistake_exits_2_with_file_and_line(division_dir: Path, auditor_env: Path) -> None:
    export, _mapping = _write(division_dir, HR_EXPORT.replace("LOA", "Secondment"))
    result = CliRunner().invoke(app, ["run", "--division", str(division_dir)], catch_exceptions=False)
    assert result.exit_code == 2
    assert f"{export}:5: person 'H5004': field 'employment status': value 'Secondment'" in result.output
