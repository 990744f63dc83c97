"""A OneRoster 1.1 or 1.2 export (folder or zip) under directory/ is read as directory people."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.inputs import InputError, load_division
from models.tables import Person
from tests.auditor.oneroster_files import write_folder, write_zip

ORGS = [
    {"sourcedId": "d1", "name": "Division Office", "type": "district"},
    {"sourcedId": "s-hhs", "name": "Hillside High School", "type": "school", "parentSourcedId": "d1"},
    {"sourcedId": "s-rbe", "name": "Riverbend Elementary School", "type": "school", "parentSourcedId": "d1"},
]


def _user(sourced_id: str, role: str, family: str, **extra: str) -> dict[str, str]:
    return {
        "sourcedId": sourced_id,
        "status": "active",
        "dateLastModified": "2026-09-01T12:00:00.000Z",
        "enabledUser": "true",
        "orgSourcedIds": "s-hhs",
        "role": role,
        "username": f"{family.lower()}01",
        "givenName": "Alex",
        "familyName": family,
        "identifier": f"ID-{sourced_id}",
        "email": f"{sourced_id}@students.example.org",
        "phone": "555-0100",
        "password": "hunter2",
        "grades": "09",
        **extra,
    }


USERS = [
    _user("u1", "student", "Brook", userIds="{LDAP:cn=u1},{Twitter:@brook_09},{youtube:UCbrook000000000000000001}"),
    _user("u2", "teacher", "Carver, Jr.", orgSourcedIds="s-rbe,s-hhs"),  # quoted commas in two fields
    _user("u3", "aide", "Dunn"),
    _user("u4", "guardian", "Ellis", orgSourcedIds=""),
    _user("u5", "relative", "Ford"),
    _user("u6", "parent", "Gray"),
    _user("u7", "administrator", "Hale", orgSourcedIds="d1"),
    _user("u8", "teacher", "Irwin", status="tobedeleted", dateLastModified="2026-06-30T17:45:00Z"),
    _user("u9", "student", "Joyce", enabledUser="false"),
    _user("u10", "proctor", "Kemp"),
    _user("u11", "teacher", "Lowe", identifier=""),  # no district number: its sourcedId is its id
]


def _people(folder: Path) -> dict[str, Person]:
    division = load_division(folder)
    return {p.person_id: p for p in division.people}


def _problems(folder: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_division(folder)
    return [str(p) for p in caught.value.problems]


def test_a_oneroster_1_1_folder_gives_people_roles_schools_and_status(division_dir: Path) -> None:
    export = write_folder(division_dir / "directory" / "oneroster", USERS, ORGS, version="1.1")
    assert (export / "users.csv").read_bytes().startswith(b"\xef\xbb\xbfsourcedId,status,")
    assert b'"Carver, Jr."' in (export / "users.csv").read_bytes() and b"\r\n" in (export / "users.csv").read_bytes()

    division = load_division(division_dir)
    people = {p.person_id: p for p in division.people}

    assert len(people) == 60 + len(USERS)  # beside the nine-column files, not instead of them
    roles = {pid: people[pid].role for pid in people if pid.startswith("ID-") or pid == "u11"}
    assert roles == {
        "ID-u1": "student",
        "ID-u2": "staff",
        "ID-u3": "staff",
        "ID-u4": "parent",
        "ID-u5": "parent",
        "ID-u6": "parent",
        "ID-u7": "administrator",
        "ID-u8": "staff",
        "ID-u9": "student",
        "ID-u10": "proctor",
        "u11": "staff",
    }
    assert people["ID-u1"].school == "Hillside High School"
    assert people["ID-u2"].school == "Riverbend Elementary School"  # the first of its orgs
    assert people["ID-u2"].last_name == "Carver, Jr."
    assert people["ID-u4"].school is None
    assert people["ID-u7"].school == "Division Office"
    irwin = people["ID-u8"]
    assert (irwin.status, str(irwin.departure_date)) == ("departed", "2026-06-30")
    assert people["ID-u9"].status == "inactive"
    assert people["ID-u1"].status == "active" and people["ID-u1"].departure_date is None
    declared = {(i.platform, i.value) for i in division.identities if i.person_id == "ID-u1"}
    assert declared == {("twitter", "brook_09"), ("youtube", "ucbrook000000000000000001")}


def test_a_oneroster_1_2_zip_uses_preferred_names_and_the_primary_org(division_dir: Path) -> None:
    users = [
        _user("z1", "teacher", "Moss", orgSourcedIds="s-hhs,s-rbe", primaryOrg="s-rbe", preferredGivenName="Lex"),
        _user("z2", "principal", "Nash", pronouns="she/her"),
        _user("z3", "districtAdministrator", "Odom", orgSourcedIds="d1"),
        _user("z4", "counselor", "Pike", userMasterIdentifier="MASTER-1"),
    ]
    write_zip(division_dir / "directory" / "sis-export.zip", users, ORGS, version="1.2")

    people = _people(division_dir)

    assert (people["ID-z1"].school, people["ID-z1"].preferred_name) == ("Riverbend Elementary School", "Lex")
    assert [people[f"ID-z{n}"].role for n in (1, 2, 3, 4)] == ["staff", "administrator", "administrator", "staff"]


def test_students_contact_details_and_passwords_are_not_kept(division_dir: Path) -> None:
    write_folder(division_dir / "directory" / "oneroster", USERS, ORGS)
    division = load_division(division_dir)
    kept = json.dumps([p.model_dump(mode="json") for p in division.people])
    kept += json.dumps([i.model_dump(mode="json") for i in division.identities])
    for value in ("students.example.org", "555-0100", "hunter2", "brook01", "cn=u1"):
        assert value not in kept


def test_oneroster_errors_name_file_line_and_column(division_dir: Path) -> None:
    users = [
        _user("e1", "student", "Quinn"),
        _user("e2", "janitor", "Reyes"),
        _user("e3", "teacher", "Shaw", orgSourcedIds="s-nowhere"),
        _user("e4", "teacher", "Tate", status="deleted"),
        _user("e5", "teacher", "Underwood", userIds="twitter @tate"),
    ]
    export = write_folder(division_dir / "directory" / "oneroster", users, ORGS)
    users_csv = export / "users.csv"

    problems = _problems(division_dir)

    assert any(
        p.startswith(f"{users_csv}:3: user 'e2': field 'role': unknown OneRoster role 'janitor'") for p in problems
    )
    assert any(p.startswith(f"{users_csv}:4: user 'e3': field 'orgSourcedIds'") and "s-nowhere" in p for p in problems)
    assert any(p.startswith(f"{users_csv}:5: user 'e4': field 'status'") for p in problems)
    assert any(p.startswith(f"{users_csv}:6: user 'e5': field 'userIds'") for p in problems)
    assert len(problems) == 4


def test_a_file_that_is_not_oneroster_is_refused_with_its_columns(division_dir: Path) -> None:
    export = write_folder(division_dir / "directory" / "oneroster", USERS, ORGS)
    header, rest = (export / "users.csv").read_bytes().split(b"\r\n", 1)
    (export / "users.csv").write_bytes(header.replace(b",enabledUser", b",homeRoom") + b"\r\n" + rest)

    problems = _problems(division_dir)

    assert f"{export / 'users.csv'}:1: not a OneRoster file: missing column(s) enabledUser" in problems
    assert f"{export / 'users.csv'}:1: field 'homeroom': unknown column (not a OneRoster 1.1 or 1.2 column)" in problems


def test_a_oneroster_export_without_orgs_csv_is_refused(division_dir: Path) -> None:
    export = write_folder(division_dir / "directory" / "oneroster", USERS, ORGS)
    (export / "orgs.csv").unlink()
    assert _problems(division_dir) == [f"{export / 'orgs.csv'}: a OneRoster export needs orgs.csv"]


def test_a_oneroster_mistake_exits_2_and_names_the_line(division_dir: Path, auditor_env: Path) -> None:
    export = write_folder(division_dir / "directory" / "oneroster", [_user("x1", "coach", "Vance")], ORGS)
    result = CliRunner().invoke(app, ["run", "--division", str(division_dir)], catch_exceptions=False)
    assert result.exit_code == 2
    assert f"{export / 'users.csv'}:2: user 'x1': field 'role': unknown OneRoster role 'coach'" in result.output


def test_an_orgs_file_without_the_oneroster_columns_is_refused(division_dir: Path) -> None:
    export = write_folder(division_dir / "directory" / "oneroster", USERS, ORGS)
    (export / "orgs.csv").write_text("sourcedId,name\r\ns-hhs,Hillside High School\r\n", encoding="utf-8")
    (problem,) = _problems(division_dir)
    assert problem.startswith(f"{export / 'orgs.csv'}:1: not a OneRoster file: missing column(s) status,")
