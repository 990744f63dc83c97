"""OneRoster CSV as SIS exports write it (a BOM, CRLF line ends, quoted lists), and the demo directory in that form."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from auditor.oneroster import ORGS, USERS_11, USERS_12

DEMO_DIRECTORY = Path(__file__).resolve().parents[2] / "auditor" / "demo" / "directory"


def oneroster_csv(header: list[str], rows: list[dict[str, str]]) -> bytes:
    """UTF-8 with a BOM and CRLF, every value quoted where it must be (a comma inside a list or a name)."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n", extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in header})
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def write_folder(folder: Path, users: list[dict[str, str]], orgs: list[dict[str, str]], version: str = "1.1") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.csv").write_bytes(oneroster_csv(["propertyName", "value"], [
        {"propertyName": "manifest.version", "value": "1.0"},
        {"propertyName": "oneroster.version", "value": version},
        {"propertyName": "file.users", "value": "bulk"},
        {"propertyName": "file.orgs", "value": "bulk"},
    ]))  # fmt: skip
    (folder / "users.csv").write_bytes(oneroster_csv(USERS_12 if version == "1.2" else USERS_11, users))
    (folder / "orgs.csv").write_bytes(oneroster_csv(ORGS, orgs))
    return folder


def write_zip(path: Path, users: list[dict[str, str]], orgs: list[dict[str, str]], version: str = "1.2") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("users.csv", oneroster_csv(USERS_12 if version == "1.2" else USERS_11, users))
        archive.writestr("orgs.csv", oneroster_csv(ORGS, orgs))
    return path


# --- the demo directory as a OneRoster 1.2 export --------------------------------------------

_ORG_IDS = {
    "Hillside High School": "org-hhs",
    "Riverbend Elementary School": "org-rbe",
    "Division Office": "org-div",
}
DEMO_ORGS = [
    {"sourcedId": "org-div", "name": "Division Office", "type": "district", "identifier": "DIV"},
    {"sourcedId": "org-hhs", "name": "Hillside High School", "type": "school", "parentSourcedId": "org-div"},
    {"sourcedId": "org-rbe", "name": "Riverbend Elementary School", "type": "school", "parentSourcedId": "org-div"},
]
# What the SIS says for each nine-column role; the Division Office administrator is a 1.2 district one.
_ROLES = {"student": "student", "staff": "teacher", "administrator": "administrator", "parent": "guardian"}


def _demo_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(DEMO_DIRECTORY.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def demo_as_oneroster(directory: Path) -> None:
    """Replace a demo division's nine-column directory by its OneRoster form (plus the trustee, whom no SIS
    rosters, in the board's own export read through mapping.yaml)."""
    people = _demo_rows()
    for old in directory.glob("*.csv"):
        old.unlink()
    users: list[dict[str, str]] = []
    trustees: list[dict[str, str]] = []
    for person in people:
        if person["role"] == "trustee":
            trustees.append(person)
            continue
        role = _ROLES[person["role"]]
        if person["role"] == "administrator" and person["school"] == "Division Office":
            role = "districtAdministrator"
        if person["person_id"] == "P2003":
            role = "parent"
        ids = [f"{{LDAP:cn={person['person_id']},ou=people}}"]  # an SSO id: not a platform, dropped
        for handle in filter(None, person["handles"].split(";")):
            platform, _, value = handle.partition(":")
            ids.append(f"{{{platform.capitalize()}:{value}}}")
        departed = person["status"] == "departed"
        users.append(
            {
                "sourcedId": f"u-{person['person_id'].lower()}",
                "status": "tobedeleted" if departed else "active",
                "dateLastModified": f"{person['departure_date']}T00:00:00.000Z" if departed else "2026-08-20T03:00:00Z",
                "enabledUser": "true",
                "orgSourcedIds": _ORG_IDS[person["school"]],
                "role": role,
                "username": f"{person['first_name']}.{person['last_name']}".lower(),
                "userIds": ",".join(ids),
                "givenName": person["first_name"],
                "familyName": person["last_name"],
                "identifier": person["person_id"],
                "email": f"{person['person_id'].lower()}@students.example.org",
                "phone": "555-0199",
                "sms": "555-0198",
                "grades": "10" if person["role"] == "student" else "",
                "password": "S3cret-Passw0rd",
                "preferredGivenName": person["preferred_name"],
                "primaryOrg": _ORG_IDS[person["school"]],
            }
        )
    write_folder(directory / "oneroster", users, DEMO_ORGS, version="1.2")
    board = io.StringIO(newline="")
    writer = csv.writer(board, lineterminator="\r\n")
    writer.writerow(["Member No", "Surname", "Given Names", "Seat", "Office", "Term Ended", "Location"])
    for person in trustees:
        writer.writerow(
            [person["person_id"], person["last_name"], person["first_name"], "Ward 3", "Sitting", "", person["school"]]
        )
    (directory / "board.csv").write_text(board.getvalue(), encoding="utf-8")
    (directory / "mapping.yaml").write_text(
        "files:\n"
        "  board.csv:\n"
        "    columns:\n"
        "      Member No: person_id\n"
        "      Surname: last_name\n"
        "      Given Names: first_name\n"
        "      Seat: role\n"
        "      Office: status\n"
        "      Term Ended: departure_date\n"
        "      Location: school\n"
        "    values:\n"
        "      role: {Ward 3: trustee}\n"
        "      status: {Sitting: active, Retired: departed}\n"
        "    date_format: '%d/%m/%Y'\n",
        encoding="utf-8",
    )
