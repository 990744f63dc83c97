"""OneRoster 1.1 / 1.2 CSV (users.csv + orgs.csv) read as directory people.

A division points the auditor at its SIS's OneRoster export as it comes: a folder holding users.csv
(e.g. `directory/oneroster/`) or a zip (`directory/*.zip`). Each user becomes one directory row in
the auditor's own terms (person_id, role, school, names, status, departure_date, handles) that the
ordinary people loader then validates. Everything else a user record carries (email, phone, sms,
password, grades, username, guardians' links) is dropped here: students are minors, and no rule
needs it. docs/onboarding.md has the role table.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from auditor.inputs import INPUT_MAX_BYTES, CsvRows, InputProblem, decode_input, parse_csv, read_input_text

# The exact users.csv headers of the two versions (1.2 only appends columns), and orgs.csv's.
USERS_11 = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
]
USERS_12 = [
    *USERS_11,
    *["userMasterIdentifier", "resourceSourcedIds", "preferredGivenName", "preferredMiddleName", "preferredFamilyName"],
    "primaryOrg",
    "pronouns",
]
ORGS = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]

# OneRoster role -> the auditor's role (policy.yaml's staff_roles, student_roles, school_body_roles).
# A proctor is often a parent acting as a virtual school's learning coach: it keeps its own role, in no
# default list, so it is never counted as staff; a division whose proctors are employees adds `proctor`
# to staff_roles and school_body_roles.
ROLES = {
    "student": "student",
    "teacher": "staff",
    "aide": "staff",
    "counselor": "staff",
    "systemadministrator": "staff",
    "administrator": "administrator",
    "principal": "administrator",
    "siteadministrator": "administrator",
    "districtadministrator": "administrator",
    "guardian": "parent",
    "parent": "parent",
    "relative": "parent",
    "proctor": "proctor",
}

_USER_ID = re.compile(r"\{([^{}:]+):([^{}]*)\}")
Table = tuple[list[str], CsvRows]  # header (lower-case), rows read one at a time
Report = Callable[[str, str], None]  # column, message: a problem on the current users.csv line


@dataclass(frozen=True)
class Source:
    """One OneRoster export: a folder or a zip, and the file each problem should name."""

    path: Path

    def users_file(self) -> Path:
        return self.path / "users.csv"

    def orgs_file(self) -> Path:
        return self.path / "orgs.csv"


def find_sources(directory: Path) -> list[Source]:
    """OneRoster exports in the directory folder: sub-folders holding users.csv, and zip files."""
    if not directory.is_dir():
        return []
    folders = [p for p in sorted(directory.iterdir()) if p.is_dir() and (p / "users.csv").is_file()]
    return [Source(p) for p in [*folders, *sorted(directory.glob("*.zip"))]]


def _read_table(source: Source, name: str, problems: list[InputProblem]) -> Table | None:
    shown = source.path / name  # a zip member is named as if the zip were a folder: sis.zip/users.csv
    if source.path.is_dir():
        if not shown.is_file():
            problems.append(InputProblem(shown, None, None, None, f"a OneRoster export needs {name}"))
            return None
        text = read_input_text(shown, problems)
    else:
        try:
            with zipfile.ZipFile(source.path) as archive:
                member = next((i for i in archive.infolist() if Path(i.filename).name == name), None)
                if member is None:
                    problems.append(InputProblem(source.path, None, None, None, f"a OneRoster zip needs {name}"))
                    return None
                if member.file_size > INPUT_MAX_BYTES:  # what the zip declares; the read is bounded too
                    problems.append(InputProblem(shown, None, None, None, "too large to be a directory export"))
                    return None
                with archive.open(member) as handle:
                    raw = handle.read(INPUT_MAX_BYTES + 1)
        except (OSError, zipfile.BadZipFile) as exc:
            problems.append(InputProblem(source.path, None, None, None, f"not a readable zip: {exc}"))
            return None
        text = decode_input(raw, shown, problems)
    return None if text is None else parse_csv(shown, text, problems)


def _check_header(
    path: Path, header: list[str], required: list[str], known: list[str], problems: list[InputProblem]
) -> bool:
    """All of a version's columns present (a blank column is fine, a missing one is another format),
    and none outside OneRoster's (metadata.* is OneRoster's own extension point)."""
    lower = {c.lower(): c for c in known}
    missing = [c for c in required if c.lower() not in header]
    unknown = [h for h in header if h and h not in lower and not h.startswith("metadata.")]
    if missing:
        problems.append(
            InputProblem(path, 1, None, None, f"not a OneRoster file: missing column(s) {', '.join(missing)}")
        )
    for column in unknown:
        problems.append(InputProblem(path, 1, None, column, "unknown column (not a OneRoster 1.1 or 1.2 column)"))
    return not missing and not unknown


def _orgs(source: Source, problems: list[InputProblem]) -> dict[str, str] | None:
    table = _read_table(source, "orgs.csv", problems)
    if table is None or not _check_header(source.orgs_file(), table[0], ORGS, ORGS, problems):
        return None
    return {row["sourcedid"]: row["name"] for _line, row in table[1] if row.get("sourcedid")}


def _departure(value: str) -> date:
    """dateLastModified: an ISO 8601 date-time (2026-06-30T00:00:00.000Z) or a date."""
    return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)


def read_users(
    source: Source, platforms: dict[str, str], problems: list[InputProblem]
) -> tuple[Path, list[tuple[int, dict[str, str]]]] | None:
    """users.csv as people rows in the auditor's columns, with their users.csv line numbers.

    `platforms` maps each platform name and alias (lower case) to the platform: a userIds entry
    `{<platform>:@handle}` declares that identity; entries of other types (LDAP, LTI, SIS ids) are dropped.
    """
    orgs = _orgs(source, problems)
    table = _read_table(source, "users.csv", problems)
    path = source.users_file()
    if table is None or not _check_header(path, table[0], USERS_11, USERS_12, problems) or orgs is None:
        return None
    rows: list[tuple[int, dict[str, str]]] = []
    for number, user in table[1]:
        person_id = user.get("identifier") or user.get("sourcedid", "")
        label = f"user '{user.get('sourcedid', '')}'"
        bad = len(problems)

        def problem(column: str, message: str, number: int = number, label: str = label) -> None:
            problems.append(InputProblem(path, number, label, column, message))

        role = ROLES.get(user.get("role", "").lower())
        if role is None:
            problem("role", f"unknown OneRoster role {user.get('role', '')!r} (expected one of {', '.join(ROLES)})")
        status = _status(user, problem)
        departure = ""
        if status == "departed" and user.get("datelastmodified"):
            try:
                departure = _departure(user["datelastmodified"]).isoformat()
            except ValueError:
                problem("dateLastModified", f"not an ISO 8601 date-time: {user['datelastmodified']!r}")
        org_ids = [o.strip() for o in user.get("orgsourcedids", "").split(",") if o.strip()]
        primary = user.get("primaryorg") or (org_ids[0] if org_ids else "")
        for org in dict.fromkeys([*org_ids, primary]):
            if org and org not in orgs:
                problem("orgSourcedIds", f"org {org!r} is not in orgs.csv")
        handles = _handles(user.get("userids", ""), platforms, problem)
        if len(problems) > bad:
            continue
        rows.append(
            (
                number,
                {
                    "person_id": person_id,
                    "role": role or "",
                    "school": orgs.get(primary, ""),
                    "first_name": user.get("givenname", ""),
                    "last_name": user.get("familyname", ""),
                    "preferred_name": user.get("preferredgivenname", ""),
                    "status": status,
                    "departure_date": departure,
                    "handles": ";".join(handles),
                },
            )
        )
    return path, rows


def _status(user: dict[str, str], problem: Report) -> str:
    """tobedeleted: the SIS is removing the person (left the division); enabledUser false: a disabled
    account of someone still on the roll."""
    status = user.get("status", "").lower()
    enabled = user.get("enableduser", "").lower()
    if status not in ("", "active", "tobedeleted", "inactive"):
        problem("status", f"unknown OneRoster status {user.get('status')!r} (expected active or tobedeleted)")
    if enabled not in ("", "true", "false"):
        problem("enabledUser", f"expected true or false, got {user.get('enableduser')!r}")
    if status == "tobedeleted":
        return "departed"
    if status == "inactive" or enabled == "false":
        return "inactive"
    return "active"


def _handles(value: str, platforms: dict[str, str], problem: Report) -> list[str]:
    """userIds `{type:identifier},{type:identifier}`: those whose type names a platform, as platform:handle."""
    entries = _USER_ID.findall(value)
    if value.strip() and not entries:
        problem("userIds", f"expected {{type:identifier}} entries, got {value!r}")
    found = []
    for kind, identifier in entries:
        platform = platforms.get(kind.strip().lower())
        if platform and identifier.strip():
            found.append(f"{platform}:{identifier.strip()}")
    return found
