"""Inputs: the registry (Form 8-06), the directory (HR and SIS exports), activities and policy.

Each file is parsed, validated and explained: every problem names the file, the line, the record,
the field and what is wrong. All problems are gathered before anything is written anywhere.

A division folder holds:
    registry/*.yaml (or registry.yaml)   one entry per registered account
    directory/*.csv                      people exports; identity exports (person_id,platform,handle)
    activities.yaml                      school activities
    policy.yaml                          thresholds and settings (optional: defaults are AP 80-06)
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auditor.directory import Directory, normalise_handle
from auditor.policy import Policy
from connectors.base import available_connectors
from models.tables import Activity, Person, PersonIdentity, RegisteredAccount

PERSON_STATUSES = {"active", "departed", "inactive", "on_leave"}


@dataclass
class InputProblem:
    file: Path
    line: int | None
    record: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        parts = [where]
        if self.record:
            parts.append(self.record)
        if self.field:
            parts.append(f"field '{self.field}'")
        return ": ".join(parts) + f": {self.message}"


class InputError(Exception):
    """One or more input files are wrong. Nothing has been written."""

    def __init__(self, problems: list[InputProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class Division:
    """Validated inputs, ready to store and audit."""

    folder: Path
    accounts: list[RegisteredAccount]
    people: list[Person]
    identities: list[PersonIdentity]
    activities: list[Activity]
    policy: Policy
    ignored: list[dict[str, Any]] = field(default_factory=list)
    principals: dict[str, str] = field(default_factory=dict)  # school -> person id (registry `schools:`)

    def directory(self) -> Directory:
        return Directory(
            people={p.person_id: p for p in self.people},
            identities=self.identities,
            activities={a.activity_id: a for a in self.activities},
        )


# --- YAML with line numbers ---------------------------------------------------------------


class _TextDatesLoader(yaml.SafeLoader):
    """Dates stay text so that pydantic validates them and a bad one becomes a clear message."""


_TextDatesLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
)


def _load_yaml(path: Path, problems: list[InputProblem]) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        problems.append(InputProblem(path, None, None, None, f"cannot read file: {exc.strerror}"))
        return None, None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=_TextDatesLoader)
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problems.append(InputProblem(path, line, None, None, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return None, None
    return data, node


def _mapping_lines(node: yaml.Node | None) -> tuple[int | None, dict[str, int]]:
    """Line of a mapping node and of each of its keys (1-based)."""
    if not isinstance(node, yaml.MappingNode):
        return (node.start_mark.line + 1 if node is not None else None), {}
    lines = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
    return node.start_mark.line + 1, lines


def _list_items(node: yaml.Node | None, key: str) -> list[yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for k, v in node.value:
        if k.value == key and isinstance(v, yaml.SequenceNode):
            return list(v.value)
    return []


ModelT = TypeVar("ModelT", bound=BaseModel)


def _validated_items(
    path: Path,
    data: dict[str, Any],
    node: yaml.Node | None,
    section: str,
    model: type[ModelT],
    key_field: str,
    problems: list[InputProblem],
) -> Iterator[tuple[ModelT, int | None, dict[str, int]]]:
    """Each item of a YAML list section, validated, with its line and its fields' lines."""
    singular = section.rstrip("s").replace("activitie", "activity")
    for raw, item_node in zip(data.get(section) or [], _list_items(node, section), strict=False):
        line, key_lines = _mapping_lines(item_node)
        label = f"{singular} '{raw.get(key_field, '?')}'" if isinstance(raw, dict) else singular
        try:
            yield model.model_validate(raw), line, key_lines
        except ValidationError as exc:
            for location, message in _explain(exc):
                top = (location or "").split(".")[0]
                problems.append(InputProblem(path, key_lines.get(top, line), label, location, message))


def _explain(error: ValidationError) -> list[tuple[str | None, str]]:
    explained = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or None
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        elif item["type"] == "missing":
            message = "required field is missing"
        elif "input" in item and item["type"].startswith(("date", "literal", "enum")):
            message = f"{message} (got {item['input']!r})"
        explained.append((location, message))
    return explained


# --- registry ------------------------------------------------------------------------------


class RegistryEntry(BaseModel):
    """One Form 8-06 registration as ITS writes it in YAML."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    platform: str
    connector: str | None = None
    handle: str | None = None
    platform_id: str | None = None
    school: str
    purpose: str
    activity: str | None = None
    kind: Literal["individual", "joint"]
    audience: Literal["public", "closed"]
    holders: list[str] = Field(default_factory=list)
    admins: list[str] = Field(default_factory=list)
    its_admin: str | None = None
    reviewed_by: str | None = None
    reviewed_on: date | None = None
    approved_by: str | None = None
    approved_on: date | None = None
    password_reset_on: date | None = None
    status: Literal["active", "disabled"] = "active"
    export: str | None = None

    @field_validator("platform_id", "its_admin", "handle", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("holders", "admins", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        return [str(v) for v in value] if isinstance(value, list) else value


class SchoolEntry(BaseModel):
    """A school as the registry names it, with its principal (a directory person id): who is told first."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1)
    principal: str | None = None

    @field_validator("principal", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


@dataclass
class DeclaredPrincipal:
    person_id: str
    file: Path
    line: int | None


def _registry_files(folder: Path) -> list[Path]:
    if (folder / "registry").is_dir():
        return sorted((folder / "registry").glob("*.y*ml"))
    return [p for p in (folder / "registry.yaml", folder / "registry.yml") if p.exists()]


def load_registry(
    files: list[Path],
    activity_ids: set[str],
    problems: list[InputProblem],
    principals: dict[str, DeclaredPrincipal] | None = None,
) -> tuple[list[RegisteredAccount], list[dict[str, Any]]]:
    """Accounts and the ignore list; each school's declared principal goes into `principals`."""
    connectors = available_connectors()
    accounts: list[RegisteredAccount] = []
    ignored: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for path in files:
        data, node = _load_yaml(path, problems)
        if data is None:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("accounts", []), list):
            problems.append(InputProblem(path, 1, None, "accounts", "expected a list under 'accounts:'"))
            continue
        ignored += [dict(item, source=str(path)) for item in data.get("ignore", []) or [] if isinstance(item, dict)]
        if principals is not None:
            _read_schools(path, data, node, principals, problems)
        for entry, line, key_lines in _validated_items(path, data, node, "accounts", RegistryEntry, "key", problems):
            account = _to_account(entry, path, line, key_lines, connectors, activity_ids, seen, problems)
            if account is not None:
                accounts.append(account)
    return accounts, ignored


def _read_schools(
    path: Path,
    data: dict[str, Any],
    node: yaml.Node | None,
    principals: dict[str, DeclaredPrincipal],
    problems: list[InputProblem],
) -> None:
    if not isinstance(data.get("schools", []), list):
        problems.append(InputProblem(path, 1, None, "schools", "expected a list under 'schools:'"))
        return
    for entry, line, key_lines in _validated_items(path, data, node, "schools", SchoolEntry, "name", problems):
        if entry.principal is None:
            continue
        before = principals.get(entry.name)
        if before is not None and before.person_id != entry.principal:
            where = f"{before.file}:{before.line}"
            message = f"{entry.name} already has principal {before.person_id} ({where})"
            problems.append(
                InputProblem(path, key_lines.get("principal", line), f"school '{entry.name}'", "principal", message)
            )
            continue
        principals[entry.name] = DeclaredPrincipal(entry.principal, path, key_lines.get("principal", line))


def _check_principals(
    principals: dict[str, DeclaredPrincipal],
    people: list[Person],
    schools: set[str],
    staff_roles: list[str],
    problems: list[InputProblem],
) -> None:
    """A declared principal must be staff in the directory, of a school some account names."""
    by_id = {p.person_id: p for p in people}
    for school, declared in principals.items():
        label = f"school '{school}'"
        person = by_id.get(declared.person_id)
        if school not in schools:
            known = ", ".join(sorted(schools)) or "none"
            message = f"no registered account names this school (schools: {known})"
            problems.append(InputProblem(declared.file, declared.line, label, "name", message))
        if person is None:
            message = f"principal {declared.person_id!r} is not in the directory"
            problems.append(InputProblem(declared.file, declared.line, label, "principal", message))
        elif person.role not in staff_roles:
            message = f"principal {declared.person_id!r} is not staff (directory role: {person.role})"
            problems.append(InputProblem(declared.file, declared.line, label, "principal", message))


def _to_account(
    entry: RegistryEntry,
    path: Path,
    line: int | None,
    key_lines: dict[str, int],
    connectors: dict[str, Any],
    activity_ids: set[str],
    seen: dict[str, str],
    problems: list[InputProblem],
) -> RegisteredAccount | None:
    label = f"account '{entry.key}'"
    bad = len(problems)

    def problem(field_name: str, message: str) -> None:
        problems.append(InputProblem(path, key_lines.get(field_name, line), label, field_name, message))

    platform_cls = connectors.get(entry.platform.lower())
    if entry.key in seen:
        problem("key", f"duplicate key (already registered at {seen[entry.key]})")
    seen.setdefault(entry.key, f"{path}:{line}")
    if platform_cls is None and entry.connector != "manual":
        known = ", ".join(sorted(connectors))
        problem("platform", f"unknown platform {entry.platform!r} (known: {known}; or set connector: manual)")
    platform = platform_cls.name if platform_cls is not None else entry.platform.lower()
    connector = entry.connector or platform
    if connector not in connectors:
        problem("connector", f"no connector named {connector!r} is installed")
    if connector == "manual" and not entry.export:
        problem("export", "the manual connector needs 'export:' (the path of the ITS export CSV)")
    if not entry.handle and not entry.platform_id and connector != "manual":
        problem("handle", "give the account's handle or platform_id (or both)")
    if entry.activity and entry.activity not in activity_ids:
        problem("activity", f"activity {entry.activity!r} is not in activities.yaml")
    if entry.approved_by and not entry.approved_on:
        problem("approved_on", "a platform approval needs the date it was given")
    if len(problems) > bad:
        return None
    export = str((path.parent / entry.export).resolve()) if entry.export else None
    return RegisteredAccount(
        key=entry.key,
        platform=platform,
        connector=connector,
        handle=entry.handle,
        platform_id=entry.platform_id,
        school=entry.school,
        purpose=entry.purpose,
        activity=entry.activity,
        kind=entry.kind,
        audience=entry.audience,
        holders=entry.holders,
        declared_admins=entry.admins,
        its_admin=entry.its_admin,
        reviewed_by=entry.reviewed_by,
        reviewed_on=entry.reviewed_on,
        approved_by=entry.approved_by,
        approved_on=entry.approved_on,
        password_reset_on=entry.password_reset_on,
        status=entry.status,
        export=export,
        source=f"{path}:{line}",
    )


# --- directory -----------------------------------------------------------------------------

PEOPLE_COLUMNS = {"person_id", "role", "first_name", "last_name"}
IDENTITY_COLUMNS = {"person_id", "platform", "handle"}


def load_directory(
    files: list[Path], platforms: set[str], aliases: dict[str, str], problems: list[InputProblem]
) -> tuple[list[Person], list[PersonIdentity]]:
    people: dict[str, Person] = {}
    declared: list[tuple[Path, int, str, str, str]] = []  # file, line, person, platform, value
    for path in files:
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.DictReader(handle))
                header = set(rows[0].keys()) if rows else set()
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            problems.append(InputProblem(path, None, None, None, f"cannot read CSV: {exc}"))
            continue
        header = {h.strip().lower() for h in header if h}
        if header >= PEOPLE_COLUMNS:
            _read_people(path, rows, people, declared, aliases, problems)
        elif header >= IDENTITY_COLUMNS:
            for number, row in enumerate(rows, start=2):
                row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
                declared.append((path, number, row["person_id"], row["platform"].lower(), row["handle"]))
        elif rows:
            missing = ", ".join(sorted(PEOPLE_COLUMNS - header))
            problems.append(InputProblem(path, 1, None, None, f"missing columns: {missing}"))
    identities = _declared_identities(declared, people, platforms, aliases, problems)
    return list(people.values()), identities


def _read_people(
    path: Path,
    rows: list[dict[str, str]],
    people: dict[str, Person],
    declared: list[tuple[Path, int, str, str, str]],
    aliases: dict[str, str],
    problems: list[InputProblem],
) -> None:
    for number, raw in enumerate(rows, start=2):  # line 1 is the header
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        person_id = row.get("person_id", "")
        label = f"person '{person_id}'" if person_id else "row"
        bad = len(problems)

        def problem(field_name: str, message: str, number: int = number, label: str = label) -> None:
            problems.append(InputProblem(path, number, label, field_name, message))

        for column in ("person_id", "role", "last_name"):
            if not row.get(column):
                problem(column, "required value is empty")
        if person_id in people:
            problem("person_id", "duplicate person id")
        status = (row.get("status") or "active").lower()
        if status not in PERSON_STATUSES:
            problem("status", f"unknown status {status!r} (expected one of {', '.join(sorted(PERSON_STATUSES))})")
        departure = None
        if row.get("departure_date"):
            try:
                departure = date.fromisoformat(row["departure_date"])
            except ValueError:
                problem("departure_date", f"not a date (YYYY-MM-DD): {row['departure_date']!r}")
        for part in filter(None, (p.strip() for p in row.get("handles", "").split(";"))):
            platform, _, value = part.partition(":")
            if not value:
                problem("handles", f"expected platform:handle, got {part!r}")
            else:
                declared.append((path, number, person_id, aliases.get(platform.lower(), platform.lower()), value))
        if len(problems) > bad:
            continue
        people[person_id] = Person(
            person_id=person_id,
            role=row["role"].lower(),
            school=row.get("school") or None,
            first_name=row.get("first_name", ""),
            last_name=row["last_name"],
            preferred_name=row.get("preferred_name") or None,
            status=status,
            departure_date=departure,
        )


def _declared_identities(
    declared: list[tuple[Path, int, str, str, str]],
    people: dict[str, Person],
    platforms: set[str],
    aliases: dict[str, str],
    problems: list[InputProblem],
) -> list[PersonIdentity]:
    identities: list[PersonIdentity] = []
    owners: dict[tuple[str, str], str] = {}
    for path, number, person_id, platform, value in declared:
        platform = aliases.get(platform, platform)
        label = f"person '{person_id}'"
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", platform):
            problems.append(InputProblem(path, number, label, "handles", f"not a platform name: {platform!r}"))
            continue
        if person_id not in people:
            problems.append(InputProblem(path, number, label, "person_id", "no such person in the directory"))
            continue
        key = (platform, normalise_handle(value))
        if key in owners and owners[key] != person_id:
            problems.append(
                InputProblem(path, number, label, "handles", f"{value} is already declared for {owners[key]}")
            )
            continue
        if key not in owners:
            owners[key] = person_id
            identities.append(PersonIdentity(person_id=person_id, platform=platform, value=key[1]))
    return identities


# --- activities and policy -----------------------------------------------------------------


class ActivityEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1)
    school: str | None = None
    name: str
    sponsors: list[str] = Field(default_factory=list)
    hashtags: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    accounts: list[str] = Field(default_factory=list)


def load_activities(path: Path, problems: list[InputProblem]) -> list[Activity]:
    if not path.exists():
        return []
    data, node = _load_yaml(path, problems)
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("activities") or [], list):
        problems.append(InputProblem(path, 1, None, "activities", "expected a list under 'activities:'"))
        return []
    activities: list[Activity] = []
    seen: set[str] = set()
    for entry, line, _keys in _validated_items(path, data, node, "activities", ActivityEntry, "id", problems):
        label = f"activity '{entry.id}'"
        if entry.id in seen:
            problems.append(InputProblem(path, line, label, "id", "duplicate activity id"))
            continue
        seen.add(entry.id)
        activities.append(
            Activity(
                activity_id=entry.id,
                school=entry.school,
                name=entry.name,
                sponsors=entry.sponsors,
                hashtags=[h if h.startswith("#") else f"#{h}" for h in entry.hashtags],
                keywords=entry.keywords,
                accounts=entry.accounts,
            )
        )
    return activities


def load_policy(path: Path, problems: list[InputProblem]) -> Policy:
    if not path.exists():
        return Policy()
    data, node = _load_yaml(path, problems)
    if data is None:
        return Policy()
    _line, key_lines = _mapping_lines(node)
    try:
        return Policy.model_validate(data or {})
    except ValidationError as exc:
        for location, message in _explain(exc):
            top = (location or "").split(".")[0]
            problems.append(InputProblem(path, key_lines.get(top, 1), "policy", location, message))
        return Policy()


# --- the whole division -------------------------------------------------------------------


def load_division(folder: Path) -> Division:
    """Load and validate every input of a division folder; raise InputError listing every problem."""
    problems: list[InputProblem] = []
    if not folder.is_dir():
        raise InputError([InputProblem(folder, None, None, None, "division folder not found")])
    connectors = available_connectors()
    platforms = {cls.name for cls in connectors.values()} - {"manual"}
    aliases = {alias: cls.name for alias, cls in connectors.items()}
    policy = load_policy(folder / "policy.yaml", problems)
    activities = load_activities(folder / "activities.yaml", problems)
    directory_files = sorted((folder / "directory").glob("*.csv")) if (folder / "directory").is_dir() else []
    if not directory_files:
        problems.append(InputProblem(folder / "directory", None, None, None, "no directory CSV files found"))
    people, identities = load_directory(directory_files, platforms, aliases, problems)
    registry_files = _registry_files(folder)
    if not registry_files:
        problems.append(InputProblem(folder / "registry", None, None, None, "no registry YAML files found"))
    principals: dict[str, DeclaredPrincipal] = {}
    accounts, ignored = load_registry(registry_files, {a.activity_id for a in activities}, problems, principals)
    _check_principals(principals, people, {a.school for a in accounts}, policy.staff_roles, problems)
    _check_activity_accounts(folder / "activities.yaml", activities, {a.key for a in accounts}, problems)
    if problems:
        raise InputError(problems)
    return Division(
        folder,
        accounts,
        people,
        identities,
        activities,
        policy,
        ignored,
        {school: declared.person_id for school, declared in principals.items()},
    )


def _check_activity_accounts(
    path: Path, activities: list[Activity], account_keys: set[str], problems: list[InputProblem]
) -> None:
    for activity in activities:
        for key in activity.accounts:
            if key not in account_keys:
                problems.append(
                    InputProblem(
                        path,
                        None,
                        f"activity '{activity.activity_id}'",
                        "accounts",
                        f"account {key!r} is not in the registry",
                    )
                )
