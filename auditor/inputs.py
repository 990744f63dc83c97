"""Inputs: the registry (Form 8-06), the directory (HR and SIS exports), activities and policy.

Each file is parsed, validated and explained: every problem names the file, the line, the record,
the field and what is wrong. All problems are gathered before anything is written anywhere.

A division folder holds:
    registry/*.yaml (or registry.yaml)   one entry per registered account
    directory/*.csv                      people exports; identity exports (person_id,platform,handle)
    activities.yaml                      school activities
    policy.yaml                          thresholds and settings (optional: defaults are AP 80-06)
    waivers.yaml                         reviewed waivers by pattern (optional)
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from stat import S_ISREG
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auditor.directory import Directory, normalise_handle
from auditor.input_files import (
    PEOPLE_COLUMNS,
    PERSON_STATUSES,
    CsvRows,
    InputProblem,
    explain,
    load_yaml,
    mapping_lines,
    read_csv,
)
from auditor.policy import Policy, move_legacy_keys
from connectors.files import file_kind
from connectors.registry import ConnectorRegistry
from models.tables import Activity, PatternWaiver, Person, PersonIdentity, RegisteredAccount, checked_row

log = logging.getLogger("auditor.inputs")
PLATFORM_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")


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
    waivers: list[PatternWaiver] = field(default_factory=list)  # waivers.yaml, reviewed by ITS
    principals: dict[str, str] = field(default_factory=dict)  # school -> person id (registry `schools:`)
    # (platform, handle) of the identities the directory marks `(personal)`: a staff member's own account
    personal: set[tuple[str, str]] = field(default_factory=set)

    def directory(self) -> Directory:
        return Directory(
            people={p.person_id: p for p in self.people},
            identities=self.identities,
            activities={a.activity_id: a for a in self.activities},
            personal=frozenset(self.personal),
        )


def _list_items(node: yaml.Node | None, key: str) -> list[yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for k, v in node.value:
        if k.value == key and isinstance(v, yaml.SequenceNode):
            return list(v.value)
    return []


def _item_lines(node: yaml.Node | None, key: str) -> list[int]:
    """Line of each item of a list field of a mapping (flow lists share their key's line)."""
    if not isinstance(node, yaml.MappingNode):
        return []
    for k, v in node.value:
        if k.value == key:
            if isinstance(v, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in v.value]
            return [k.start_mark.line + 1]
    return []


ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Reference:
    """An id one input names in another (a registry holder, an activity's sponsor), checked once all are loaded."""

    file: Path
    line: int | None
    record: str
    field: str
    kind: Literal["person", "activity", "account"]
    value: str


def _references(
    path: Path,
    node: yaml.Node | None,
    line: int | None,
    record: str,
    field_name: str,
    kind: Literal["person", "activity", "account"],
    values: list[str],
) -> list[Reference]:
    lines = _item_lines(node, field_name)
    return [
        Reference(path, lines[i] if i < len(lines) else line, record, field_name, kind, value)
        for i, value in enumerate(values)
    ]


def _validated_items(
    path: Path,
    data: dict[str, Any],
    node: yaml.Node | None,
    section: str,
    model: type[ModelT],
    key_field: str,
    problems: list[InputProblem],
    rejected: set[str] | None = None,
) -> Iterator[tuple[ModelT, int | None, dict[str, int], yaml.Node]]:
    """Each item of a YAML list section, validated, with its line, its fields' lines and its node.

    The keys of items that fail validation go to `rejected`: a reference to one is a knock-on error.
    """
    singular = section.rstrip("s").replace("activitie", "activity")
    for raw, item_node in zip(data.get(section) or [], _list_items(node, section), strict=False):
        line, key_lines = mapping_lines(item_node)
        label = f"{singular} '{raw.get(key_field, '?')}'" if isinstance(raw, dict) else singular
        try:
            yield model.model_validate(raw), line, key_lines, item_node
        except ValidationError as exc:
            if rejected is not None and isinstance(raw, dict) and isinstance(raw.get(key_field), str | int):
                rejected.add(str(raw[key_field]))
            for location, message in explain(exc):
                top = (location or "").split(".")[0]
                problems.append(InputProblem(path, key_lines.get(top, line), label, location, message))


def _unknown_sections(
    path: Path, data: dict[Any, Any], node: yaml.Node | None, known: tuple[str, ...], problems: list[InputProblem]
) -> None:
    _line, key_lines = mapping_lines(node)
    expected = ", ".join(f"'{k}:'" for k in known)
    for key in data:
        if key not in known:
            problems.append(
                InputProblem(path, key_lines.get(str(key), 1), None, str(key), f"unknown section (expected {expected})")
            )


def _text_ids(value: Any) -> Any:
    """YAML reads E1001 as text but 300100001 as a number: both are ids. Anything else is left to validation."""
    if isinstance(value, list):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


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
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("holders", "admins", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        return _text_ids(value)


class IgnoreEntry(BaseModel):
    """An account ITS checked and decided is not the Division's: discovery never reports it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    platform: str = Field(min_length=1)
    handle: str | None = None
    platform_id: str | None = None
    reason: str = Field(min_length=1)  # a suppression without a reason cannot be reviewed

    @field_validator("platform_id", "handle", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


@dataclass(frozen=True)
class ExportRules:
    """Where `export:` files may be and how large: the division folder plus the policy's export_folders."""

    folders: tuple[Path, ...]
    max_bytes: int

    @classmethod
    def of(cls, division: Path, policy: Policy) -> ExportRules:
        folders = [division, *(division / Path(extra).expanduser() for extra in policy.export_folders)]
        return cls(tuple(dict.fromkeys(f.resolve() for f in folders)), policy.export_max_bytes)

    def allows(self, path: Path) -> bool:
        return any(path.is_relative_to(folder) for folder in self.folders)


def check_export(registry_file: Path, value: str, rules: ExportRules) -> tuple[Path, str | None]:
    """The export's real path and what is wrong with it (None: a regular file, inside, not too large)."""
    named = registry_file.parent / value
    real = named.resolve()
    if not rules.allows(real):
        allowed = ", ".join(str(f) for f in rules.folders)
        how = "is a symbolic link to a file" if rules.allows(Path(os.path.normpath(named.absolute()))) else "is"
        return real, f"{value!r} {how} outside the allowed folders ({allowed}; see the policy's export_folders)"
    try:
        info = real.stat()
    except FileNotFoundError:
        return real, f"export file not found: {real}"
    except OSError as exc:
        return real, f"cannot read the export file {real}: {exc.strerror or exc}"
    if not S_ISREG(info.st_mode):
        return real, f"{real} is {file_kind(info.st_mode)}, not a regular file"
    if info.st_size > rules.max_bytes:
        return real, f"{real} is {info.st_size} bytes, more than the policy's export_max_bytes ({rules.max_bytes})"
    return real, None


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


@dataclass
class _Loaded:
    """What the loaders found so far: ids that exist, ids whose own record was rejected, references to check."""

    people: set[str] = field(default_factory=set)
    rejected_people: set[str] = field(default_factory=set)
    activities: set[str] = field(default_factory=set)
    rejected_activities: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)
    rejected_accounts: set[str] = field(default_factory=set)
    references: list[Reference] = field(default_factory=list)
    # Kinds of which a whole file could not be read: a reference to one of them may be in that file.
    unreadable: set[str] = field(default_factory=set)
    personal: set[tuple[str, str]] = field(default_factory=set)  # identities marked `(personal)`
    connectors: ConnectorRegistry = field(default_factory=ConnectorRegistry.installed)


def load_registry(
    files: list[Path],
    exports: ExportRules,
    loaded: _Loaded,
    problems: list[InputProblem],
    principals: dict[str, DeclaredPrincipal] | None = None,
) -> tuple[list[RegisteredAccount], list[dict[str, Any]]]:
    """Accounts and the ignore list; each school's declared principal goes into `principals`."""
    accounts: list[RegisteredAccount] = []
    ignored: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for path in files:
        data, node = load_yaml(path, problems)
        if not isinstance(data, dict) or not isinstance(data.get("accounts", []), list):
            loaded.unreadable.add("account")
        if node is None and data is None:
            if not any(p.file == path for p in problems):  # empty, not unreadable: it lost its accounts
                problems.append(InputProblem(path, None, None, None, "the file is empty (expected 'accounts:')"))
            continue
        if not isinstance(data, dict):
            problems.append(InputProblem(path, 1, None, "accounts", "expected a list under 'accounts:'"))
            continue
        _unknown_sections(path, data, node, ("accounts", "ignore", "schools"), problems)
        key_lines = mapping_lines(node)[1]
        lists = {section: isinstance(data.get(section, []), list) for section in ("accounts", "ignore")}
        for section in (s for s, ok in lists.items() if not ok):
            message = f"expected a list under '{section}:'"
            problems.append(InputProblem(path, key_lines.get(section, 1), None, section, message))
        if lists["ignore"]:
            for item, *_where in _validated_items(path, data, node, "ignore", IgnoreEntry, "handle", problems):
                entry = dict(item.model_dump(exclude_none=True), source=str(path))
                if isinstance(entry.get("platform"), str):  # an alias -> the connector's own name
                    entry["platform"] = loaded.connectors.canonical(entry["platform"])
                ignored.append(entry)
        if principals is not None:
            _read_schools(path, data, node, principals, problems)
        if lists["accounts"]:
            accounts += _registry_accounts(path, data, node, exports, seen, loaded, problems)
    return accounts, ignored


def _registry_accounts(
    path: Path,
    data: dict[str, Any],
    node: yaml.Node | None,
    exports: ExportRules,
    seen: dict[str, str],
    loaded: _Loaded,
    problems: list[InputProblem],
) -> list[RegisteredAccount]:
    connectors = loaded.connectors
    accounts: list[RegisteredAccount] = []
    entries = _validated_items(path, data, node, "accounts", RegistryEntry, "key", problems, loaded.rejected_accounts)
    for entry, line, entry_lines, entry_node in entries:
        account = _to_account(entry, path, line, entry_lines, connectors, exports, seen, problems)
        if account is None:
            loaded.rejected_accounts.add(entry.key)
            continue
        accounts.append(account)
        loaded.accounts.add(account.key)
        record = f"account '{entry.key}'"
        for field_name in ("holders", "admins"):
            values = getattr(entry, field_name)
            loaded.references += _references(path, entry_node, line, record, field_name, "person", values)
        activity = [entry.activity] if entry.activity else []
        loaded.references += _references(path, entry_node, line, record, "activity", "activity", activity)
    return accounts


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
    for entry, line, key_lines, _node in _validated_items(path, data, node, "schools", SchoolEntry, "name", problems):
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
    connectors: ConnectorRegistry,
    exports: ExportRules,
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
    platform = platform_cls.name if platform_cls is not None else entry.platform.lower()
    connector = connectors.canonical(entry.connector) if entry.connector else platform
    connector_cls = connectors.get(connector)
    # A platform without a connector of its own is audited by one that reads an ITS export.
    reads_export = connector_cls is not None and connector_cls.reads_export
    if platform_cls is None and not reads_export:
        known = ", ".join(sorted(connectors.aliases()))
        readers = " or ".join(f"connector: {name}" for name in connectors.names() if connectors[name].reads_export)
        alternative = f"; or set {readers}" if readers else ""
        problem("platform", f"unknown platform {entry.platform!r} (known: {known}{alternative})")
    if connector_cls is None:
        problem("connector", f"no connector named {connector!r} is installed")
    if reads_export and not entry.export:
        problem("export", f"the {connector} connector needs 'export:' (the path of the ITS export CSV)")
    export: str | None = None
    if entry.export:
        real, wrong = check_export(path, entry.export, exports)
        if wrong:
            problem("export", wrong)
        export = str(real)
    if not entry.handle and not entry.platform_id and (connector_cls is None or connector_cls.needs_handle):
        problem("handle", "give the account's handle or platform_id (or both)")
    if entry.approved_by and not entry.approved_on:
        problem("approved_on", "a platform approval needs the date it was given")
    if len(problems) > bad:
        return None
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

IDENTITY_COLUMNS = {"person_id", "platform", "handle"}


def load_directory_folder(
    directory: Path, platforms: set[str], aliases: dict[str, str], loaded: _Loaded, problems: list[InputProblem]
) -> tuple[list[Person], list[PersonIdentity]]:
    """directory/: its CSVs (nine columns, or any columns mapped by mapping.yaml) and OneRoster exports."""
    from auditor import mapping, oneroster

    files = sorted(directory.glob("*.csv")) if directory.is_dir() else []
    sources = oneroster.find_sources(directory)
    if not files and not sources:
        problems.append(InputProblem(directory, None, None, None, "no directory CSV files or OneRoster export found"))
    mappings = mapping.load_mappings(directory / "mapping.yaml", problems)
    for name, entry in mappings.items():
        if entry is not None and not (directory / name).is_file():
            problems.append(InputProblem(entry.file, entry.line, None, name, "no such file in the directory folder"))
    if any(p.file == directory / "mapping.yaml" for p in problems):
        loaded.unreadable.add("person")  # a person in a file it failed to map would look missing
    # OneRoster users as people rows in the auditor's columns (its userIds types: platform names and aliases)
    names = {**{p: p for p in platforms}, **aliases}
    rostered = []
    for source in sources:
        users = oneroster.read_users(source, names, problems)
        if users is None:
            loaded.unreadable.add("person")
        else:
            rostered.append(users)
    return load_directory(files, platforms, aliases, loaded, problems, mappings=mappings, rostered=rostered)


def load_directory(
    files: list[Path],
    platforms: set[str],
    aliases: dict[str, str],
    loaded: _Loaded,
    problems: list[InputProblem],
    mappings: dict[str, Any] | None = None,  # file name -> auditor.mapping.Mapping
    rostered: list[tuple[Path, list[tuple[int, dict[str, str]]]]] | None = None,  # OneRoster rows, read
) -> tuple[list[Person], list[PersonIdentity]]:
    from auditor.mapping import apply_mapping

    people: dict[str, Person] = {}
    declared: list[tuple[Path, int, str, str, str]] = []  # file, line, person, platform, value
    for path, rostered_rows in rostered or []:
        _read_people(path, rostered_rows, people, declared, aliases, loaded, problems)
    for path in files:
        table = read_csv(path, problems)
        if table is None:
            loaded.unreadable.add("person")
            continue
        header, rows = table
        columns = set(header)
        mapped = (mappings or {}).get(path.name)
        if path.name in (mappings or {}) and mapped is None:
            continue  # its mapping is wrong: that error is the one to fix
        if mapped is not None:
            converted = apply_mapping(path, header, rows, mapped, loaded.rejected_people, problems)
            if converted is None:
                loaded.unreadable.add("person")
            else:
                _read_people(path, converted, people, declared, aliases, loaded, problems)
        elif columns >= IDENTITY_COLUMNS and "role" not in columns:
            for number, row in rows:
                declared.append((path, number, row["person_id"], row["platform"].lower(), row["handle"]))
        elif columns & (PEOPLE_COLUMNS - {"person_id"}):
            missing = ", ".join(sorted(PEOPLE_COLUMNS - columns))
            if missing:
                message = f"missing column(s): {missing}"
                if {"status", "departure_date"} & (PEOPLE_COLUMNS - columns):
                    message += " (without status and departure_date departed staff look active)"
                problems.append(InputProblem(path, 1, None, None, message))
                loaded.unreadable.add("person")
                continue
            _read_people(path, rows, people, declared, aliases, loaded, problems)
        else:
            message = (
                f"missing columns: a people file needs {', '.join(sorted(PEOPLE_COLUMNS))}; "
                f"an identity file {', '.join(sorted(IDENTITY_COLUMNS))}"
            )
            problems.append(InputProblem(path, 1, None, None, message))
            loaded.unreadable.add("person")
    loaded.people |= set(people)
    loaded.rejected_people -= loaded.people
    identities = _declared_identities(declared, people, platforms, aliases, loaded, problems)
    return list(people.values()), identities


def _read_people(
    path: Path,
    rows: CsvRows,
    people: dict[str, Person],
    declared: list[tuple[Path, int, str, str, str]],
    aliases: dict[str, str],
    loaded: _Loaded,
    problems: list[InputProblem],
) -> None:
    for number, row in rows:
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
        handles: list[tuple[Path, int, str, str, str]] = []
        for part in filter(None, (p.strip() for p in row.get("handles", "").split(";"))):
            platform, _, value = part.partition(":")
            if not value:
                problem("handles", f"expected platform:handle, got {part!r}")
            else:
                handles.append((path, number, person_id, aliases.get(platform.lower(), platform.lower()), value))
        if len(problems) > bad:
            if person_id:
                loaded.rejected_people.add(person_id)  # its handles are not checked: this row's error says it all
            continue
        declared += handles
        people[person_id] = checked_row(
            Person,
            session_ready=False,  # the directory is read, and stored by value
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
    loaded: _Loaded,
    problems: list[InputProblem],
) -> list[PersonIdentity]:
    identities: list[PersonIdentity] = []
    owners: dict[tuple[str, str], str] = {}
    for path, number, person_id, platform, marked in declared:
        platform = aliases.get(platform, platform)
        value, personal = split_personal(marked)
        label = f"person '{person_id}'"
        if not PLATFORM_NAME.fullmatch(platform):
            problems.append(InputProblem(path, number, label, "handles", f"not a platform name: {platform!r}"))
            continue
        if person_id not in people:
            if person_id not in loaded.rejected_people and "person" not in loaded.unreadable:  # else a knock-on
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
            identities.append(
                checked_row(
                    PersonIdentity, session_ready=False, id=None, person_id=person_id, platform=platform, value=key[1]
                )
            )
        if personal:
            loaded.personal.add(key)
    return identities


PERSONAL_MARK = re.compile(r"\s*\(\s*personal\s*\)\s*$", re.I)


def split_personal(value: str) -> tuple[str, bool]:
    """`@name(personal)` declares the person's own, personal account: the handle, and True."""
    bare = PERSONAL_MARK.sub("", value)
    return bare, bare != value


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

    @field_validator("sponsors", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        return _text_ids(value)


def load_activities(path: Path, loaded: _Loaded, problems: list[InputProblem]) -> list[Activity]:
    if not path.exists():
        return []
    data, node = load_yaml(path, problems)
    if not isinstance(data, dict) or not isinstance(data.get("activities") or [], list):
        loaded.unreadable.add("activity")
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("activities") or [], list):
        problems.append(InputProblem(path, 1, None, "activities", "expected a list under 'activities:'"))
        return []
    _unknown_sections(path, data, node, ("activities",), problems)
    activities: list[Activity] = []
    items = _validated_items(path, data, node, "activities", ActivityEntry, "id", problems, loaded.rejected_activities)
    for entry, line, _keys, entry_node in items:
        label = f"activity '{entry.id}'"
        if entry.id in loaded.activities:
            problems.append(InputProblem(path, line, label, "id", "duplicate activity id"))
            continue
        loaded.activities.add(entry.id)
        loaded.references += _references(path, entry_node, line, label, "sponsors", "person", entry.sponsors)
        loaded.references += _references(path, entry_node, line, label, "accounts", "account", entry.accounts)
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
    loaded.rejected_activities -= loaded.activities
    return activities


def load_policy(path: Path, problems: list[InputProblem], connectors: ConnectorRegistry | None = None) -> Policy:
    if not path.exists():
        return Policy()
    data, node = load_yaml(path, problems)
    if data is None:
        return Policy()
    registry = connectors or ConnectorRegistry.installed()
    _line, key_lines = mapping_lines(node)
    data = dict(data) if isinstance(data, dict) else data
    if isinstance(data, dict):
        for old, connector, new in move_legacy_keys(data, registry):
            where = f"{path}:{key_lines.get(old, 1)}"
            log.warning(
                "%s: policy key %r is deprecated: write it as 'connectors: {%s: {%s: ...}}'", where, old, connector, new
            )
    try:
        policy = Policy.model_validate(data or {})
    except ValidationError as exc:
        for location, message in explain(exc):
            top = (location or "").split(".")[0]
            problems.append(InputProblem(path, key_lines.get(top, 1), "policy", location, message))
        return Policy()
    _check_connector_sections(path, node, policy, registry, problems)
    return policy


def _check_connector_sections(
    path: Path, node: yaml.Node | None, policy: Policy, registry: ConnectorRegistry, problems: list[InputProblem]
) -> None:
    """Each `connectors:` section names an installed connector and holds only its options, valid."""
    _line, key_lines = mapping_lines(node)
    sections_node = _value_node(node, "connectors")
    _line, section_lines = mapping_lines(sections_node)
    for name, field_name, message in registry.check_sections(policy.connectors):
        _line, field_lines = mapping_lines(_value_node(sections_node, name))
        top = (field_name or "").split(".")[0]
        line = field_lines.get(top) or section_lines.get(name) or key_lines.get("connectors", 1)
        location = f"connectors.{name}" + (f".{field_name}" if field_name else "")
        problems.append(InputProblem(path, line, "policy", location, message))


def _value_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) == key:
            return value_node
    return None


# --- the whole division -------------------------------------------------------------------

_WHERE = {"person": "in the directory", "activity": "in activities.yaml", "account": "in the registry"}


def check_references(loaded: _Loaded, problems: list[InputProblem]) -> None:
    """Every id an input names exists. A reference to a record that was itself rejected, or to a kind
    one of whose files could not be read, is not reported: that error is the one to fix."""
    known = {"person": loaded.people, "activity": loaded.activities, "account": loaded.accounts}
    rejected = {
        "person": loaded.rejected_people,
        "activity": loaded.rejected_activities,
        "account": loaded.rejected_accounts,
    }
    for ref in loaded.references:
        if ref.value in known[ref.kind] or ref.value in rejected[ref.kind] or ref.kind in loaded.unreadable:
            continue
        message = f"{ref.kind} {ref.value!r} is not {_WHERE[ref.kind]}"
        problems.append(InputProblem(ref.file, ref.line, ref.record, ref.field, message))


def load_division(folder: Path, connectors: ConnectorRegistry | None = None) -> Division:
    """Load and validate every input of a division folder; raise InputError listing every problem."""
    problems: list[InputProblem] = []
    if not folder.is_dir():
        raise InputError([InputProblem(folder, None, None, None, "division folder not found")])
    registry = connectors or ConnectorRegistry.installed()
    platforms = {name for name in registry.names() if not registry[name].reads_export}
    aliases = registry.aliases()
    loaded = _Loaded(connectors=registry)
    policy = load_policy(folder / "policy.yaml", problems, registry)
    activities = load_activities(folder / "activities.yaml", loaded, problems)
    people, identities = load_directory_folder(folder / "directory", platforms, aliases, loaded, problems)
    registry_files = _registry_files(folder)
    if not registry_files:
        problems.append(InputProblem(folder / "registry", None, None, None, "no registry YAML files found"))
    principals: dict[str, DeclaredPrincipal] = {}
    accounts, ignored = load_registry(registry_files, ExportRules.of(folder, policy), loaded, problems, principals)
    _check_principals(principals, people, {a.school for a in accounts}, policy.staff_roles, problems)
    check_references(loaded, problems)
    waivers = load_waivers(folder / "waivers.yaml", {a.key for a in accounts}, policy, problems)
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
        waivers=waivers,
        principals={school: declared.person_id for school, declared in principals.items()},
        personal=loaded.personal,
    )


# --- waivers.yaml ----------------------------------------------------------------------------


class WaiverEntry(BaseModel):
    """One reviewed waiver by pattern: a rule, an account (or a glob over account keys), a subject glob."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    rule: str = Field(min_length=1)
    account: str = Field(min_length=1)
    subject: str = Field("*", min_length=1)
    reason: str = Field(min_length=1)
    approver: str = Field(min_length=1)
    expires: date


def load_waivers(
    path: Path, account_keys: set[str], policy: Policy, problems: list[InputProblem], today: date | None = None
) -> list[PatternWaiver]:
    """The division's waivers.yaml (optional). An entry naming an unknown rule, matching no registered
    account, already expired or longer than the policy's max_waiver_days is a problem, like any input's."""
    from fnmatch import fnmatchcase

    from auditor.rules.base import load_rules

    if not path.exists():
        return []
    data, node = load_yaml(path, problems)
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("waivers") or [], list):
        problems.append(InputProblem(path, 1, None, "waivers", "expected a list under 'waivers:'"))
        return []
    today = today or date.today()
    latest = date.fromordinal(today.toordinal() + policy.max_waiver_days)
    rules = set(load_rules())
    waivers: list[PatternWaiver] = []
    for entry, line, key_lines, _node in _validated_items(path, data, node, "waivers", WaiverEntry, "rule", problems):
        wrong: list[tuple[str, str]] = []  # field, what is wrong
        if entry.rule not in rules:
            wrong.append(("rule", f"unknown rule id {entry.rule!r} (see `auditor rules`)"))
        if not any(fnmatchcase(key, entry.account) for key in account_keys):
            wrong.append(("account", f"{entry.account!r} matches no registered account"))
        if entry.expires < today:
            wrong.append(("expires", f"expired on {entry.expires} (remove the entry or renew it)"))
        elif entry.expires > latest:
            wrong.append(("expires", f"{entry.expires} is more than max_waiver_days ({policy.max_waiver_days}) away"))
        for field_name, message in wrong:
            problems.append(
                InputProblem(path, key_lines.get(field_name, line), f"waiver '{entry.rule}'", field_name, message)
            )
        if wrong:
            continue
        waivers.append(
            PatternWaiver(
                rule=entry.rule,
                account=entry.account,
                subject=entry.subject,
                reason=entry.reason,
                approver=entry.approver,
                expires_on=entry.expires,
                source=f"{path.name}:{line}",
            )
        )
    return waivers
