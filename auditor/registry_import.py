"""`auditor registry import`: Form 8-06 spreadsheets (xlsx or CSV) to registry YAML.

Columns are found by recognised headers (case, spaces and punctuation ignored) or by a mapping file.
Each row is validated with the registry loader's own model (auditor/inputs.py RegistryEntry); a row
that cannot be mapped is refused with its row number, and then nothing is written: a registry that
silently lost a form would hide an account from the audit.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor.form_headers import RECOGNISED_HEADERS
from auditor.inputs import (
    InputError,
    InputProblem,
    RegistryEntry,
    _explain,
    _load_yaml,
    _mapping_lines,
    read_input_text,
)
from connectors.registry import ConnectorRegistry

IGNORE = "ignore"
LIST_FIELDS = {"holders", "admins"}
DATE_FIELDS = {"reviewed_on", "approved_on", "password_reset_on"}
ID_FIELDS = {"platform_id", "its_admin"}
# A spreadsheet keeps 15 significant digits of a number: a longer id typed into a number cell is already wrong.
EXCEL_DIGITS = 15


def normalise_header(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


_BY_HEADER = {normalise_header(h): name for name, headers in RECOGNISED_HEADERS.items() for h in headers}


class ImportMapping(BaseModel):
    """`--mapping FILE.yaml`: the spreadsheet's own headers and values, named for the registry."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = Field(default_factory=dict)  # spreadsheet header -> registry field or "ignore"
    values: dict[str, dict[str, str]] = Field(default_factory=dict)  # field -> spreadsheet value -> value
    date_format: str | None = None  # for dates written as text, e.g. %d/%m/%Y
    sheet: str | None = None
    header_row: int = Field(1, ge=1)


@dataclass
class ImportResult:
    entries: list[tuple[int, dict[str, Any]]]  # source row, registry entry
    ignored_columns: list[str] = field(default_factory=list)


def load_mapping(path: Path) -> ImportMapping:
    problems: list[InputProblem] = []
    data, node = _load_yaml(path, problems)
    if problems:
        raise InputError(problems)
    sections = _mapping_lines(node)[1]
    try:
        mapping = ImportMapping.model_validate(data or {})
    except ValidationError as exc:
        raise InputError(
            [InputProblem(path, sections.get((where or "").split(".")[0]), "mapping", where, what)
             for where, what in _explain(exc)]
        ) from None  # fmt: skip
    fields = set(RegistryEntry.model_fields)
    for header, target in mapping.columns.items():
        if target not in fields | {IGNORE}:
            message = f"no registry field {target!r}"
            problems.append(InputProblem(path, sections.get("columns"), f"column {header!r}", "columns", message))
    for target in mapping.values:
        if target not in fields:
            problems.append(InputProblem(path, sections.get("values"), None, "values", f"no registry field {target!r}"))
    if problems:
        raise InputError(problems)
    return mapping


# --- reading the spreadsheet ---------------------------------------------------------------------


def _xlsx_rows(path: Path, sheet: str | None, problems: list[InputProblem]) -> Iterator[tuple[int, list[Any]]]:
    from zipfile import BadZipFile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        problems.append(InputProblem(path, None, None, None, f"cannot read it as an .xlsx workbook ({exc})"))
        return
    try:
        if sheet is not None and sheet not in book.sheetnames:
            problems.append(InputProblem(path, None, None, None, f"no sheet {sheet!r} (sheets: {book.sheetnames})"))
            return
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            yield number, list(values)
    finally:
        book.close()


def _csv_rows(path: Path, problems: list[InputProblem]) -> Iterator[tuple[int, list[Any]]]:
    text = read_input_text(path, problems)  # UTF-8 only, bounded: Excel's plain "CSV" is Windows-1252
    if text is None:
        return
    try:
        # Rows as a spreadsheet numbers them (a quoted cell may hold a line break).
        yield from enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
    except csv.Error as exc:
        problems.append(InputProblem(path, None, None, None, f"not valid CSV: {exc}"))


def read_rows(path: Path, mapping: ImportMapping, problems: list[InputProblem]) -> list[tuple[int, list[Any]]]:
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return list(_xlsx_rows(path, mapping.sheet, problems))
    if path.suffix.lower() == ".csv":
        return list(_csv_rows(path, problems))
    problems.append(InputProblem(path, None, None, None, "expected an .xlsx workbook or a .csv file (save it as one)"))
    return []


# --- mapping rows to registry entries ----------------------------------------------------------


def _columns(
    path: Path, header: list[Any], line: int, mapping: ImportMapping, problems: list[InputProblem]
) -> tuple[dict[int, str], list[str]]:
    """Column index -> registry field, and the headers ignored."""
    mapped = {normalise_header(h): target for h, target in mapping.columns.items()}
    found: dict[int, str] = {}
    ignored: list[str] = []
    given_by: dict[str, str] = {}
    for index, cell in enumerate(header):
        name = "" if cell is None else str(cell).strip()
        if not name:
            continue
        target = mapped.pop(normalise_header(name), None) or _BY_HEADER.get(normalise_header(name))
        if target is None or target == IGNORE:
            ignored.append(name)
            continue
        if target in given_by:
            message = f"columns {given_by[target]!r} and {name!r} both give {target!r} (map one to ignore)"
            problems.append(InputProblem(path, line, None, None, message))
            continue
        given_by[target] = name
        found[index] = target
    for header_name in (h for h in mapping.columns if normalise_header(h) in mapped):
        message = f"the mapping's column {header_name!r} is not in the file"
        problems.append(InputProblem(path, line, None, None, message))
    for required in ("platform", "school", "purpose", "kind", "audience"):
        if required not in given_by:
            known = ", ".join(repr(h) for h in RECOGNISED_HEADERS[required])
            message = f"no column for {required!r} (recognised headers: {known}; or name it in --mapping)"
            problems.append(InputProblem(path, line, None, None, message))
    if "handle" not in given_by and "platform_id" not in given_by:
        problems.append(InputProblem(path, line, None, None, "no column for the account's handle or platform id"))
    return found, ignored


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _date(value: Any, date_format: str | None) -> date | str:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return datetime.strptime(text, date_format).date() if date_format else date.fromisoformat(text)
    except ValueError:
        expected = date_format or "YYYY-MM-DD"
        raise ValueError(f"{text!r} is not a date ({expected}; or set date_format in the mapping file)") from None


def _platform(value: str, connectors: Mapping[str, Any]) -> str:
    """The connector's platform name, from the whole cell or one of its words (a name or an alias)."""
    for candidate in [value.lower(), *re.split(r"[^a-z0-9]+", value.lower())]:
        if candidate in connectors:
            return str(connectors[candidate].name)
    return value.lower()


def _choice(value: str, allowed: tuple[str, ...], synonyms: dict[str, str]) -> str:
    lowered = value.lower()
    for option in allowed:
        if lowered == option or lowered.startswith(option + " ") or lowered.endswith(" " + option):
            return option
    return synonyms.get(lowered, lowered)


def _cell(name: str, raw: Any, mapping: ImportMapping, connectors: ConnectorRegistry) -> Any:
    """One cell as the registry field's value; ValueError says what is wrong."""
    if name in ID_FIELDS and isinstance(raw, int | float) and len(str(int(raw))) > EXCEL_DIGITS:
        raise ValueError(f"{raw!r} was typed as a number and lost digits: format the column as text and retype it")
    value_map = {k.strip().lower(): v for k, v in mapping.values.get(name, {}).items()}
    text = _text(raw)
    if text is None:
        return None
    if text.lower() in value_map:
        text = value_map[text.lower()]
    if name in DATE_FIELDS:
        return _date(raw if text == _text(raw) else text, mapping.date_format)
    if name in LIST_FIELDS:
        return [part.strip() for part in re.split(r"[;,\n]+", text) if part.strip()]
    if name == "platform":
        return _platform(text, connectors)
    if name == "kind":
        return _choice(text, ("individual", "joint"), {"shared": "joint", "single": "individual"})
    if name == "audience":
        return _choice(text, ("public", "closed"), {"private": "closed"})
    if name in {"status", "connector"}:
        return text.lower()
    return text


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _row_entry(
    path: Path,
    number: int,
    values: list[Any],
    columns: dict[int, str],
    mapping: ImportMapping,
    connectors: ConnectorRegistry,
    problems: list[InputProblem],
) -> dict[str, Any] | None:
    entry: dict[str, Any] = {}
    bad = len(problems)
    for index, name in columns.items():
        try:
            value = _cell(name, values[index] if index < len(values) else None, mapping, connectors)
        except ValueError as exc:
            problems.append(InputProblem(path, number, None, name, str(exc)))
            continue
        if value not in (None, []):
            entry[name] = value
    if len(problems) > bad:
        return None
    if "key" not in entry and entry.get("platform") and (entry.get("handle") or entry.get("platform_id")):
        entry["key"] = f"{_slug(str(entry.get('handle') or entry['platform_id']))}-{entry['platform']}"
    label = f"account '{entry['key']}'" if entry.get("key") else None
    try:
        # Without a key (no platform or handle) the errors about those say what to fix.
        RegistryEntry.model_validate({"key": "unnamed", **entry})
    except ValidationError as exc:
        for where, what in _explain(exc):
            problems.append(InputProblem(path, number, label, where, what))
        return None
    connector = connectors.get(str(entry.get("connector") or entry["platform"]))
    reads_export = connector is not None and connector.reads_export  # a platform ITS exports by hand
    if entry["platform"] not in connectors and not reads_export:
        known = ", ".join(sorted(connectors.aliases()))
        readers = " or ".join(name for name in connectors.names() if connectors[name].reads_export)
        message = f"unknown platform {entry['platform']!r} (known: {known}; or a Connector column saying {readers})"
        problems.append(InputProblem(path, number, label, "platform", message))
    if not entry.get("handle") and not entry.get("platform_id") and (connector is None or connector.needs_handle):
        problems.append(InputProblem(path, number, label, "handle", "give the account's handle or platform id"))
    if "key" not in entry and len(problems) == bad:
        problems.append(InputProblem(path, number, None, "key", "no handle or platform id to make a key of: add a Key"))
    if len(problems) > bad:
        return None
    return {name: entry[name] for name in RegistryEntry.model_fields if name in entry}  # the README's order


def import_forms(path: Path, mapping: ImportMapping) -> ImportResult:
    """Every data row as a registry entry; InputError listing every row that cannot be mapped."""
    problems: list[InputProblem] = []
    rows = read_rows(path, mapping, problems)
    if problems:
        raise InputError(problems)
    header = next(((n, v) for n, v in rows if n == mapping.header_row), None)
    if header is None or not any(_text(v) for v in header[1]):
        raise InputError([InputProblem(path, mapping.header_row, None, None, "no header row (the column names)")])
    columns, ignored = _columns(path, header[1], header[0], mapping, problems)
    if problems:
        raise InputError(problems)
    connectors = ConnectorRegistry.installed()
    entries: list[tuple[int, dict[str, Any]]] = []
    keys: dict[str, int] = {}
    for number, values in rows:
        if number <= header[0] or not any(_text(v) for v in values):
            continue  # the header, a title above it, or a blank row
        entry = _row_entry(path, number, values, columns, mapping, connectors, problems)
        if entry is None:
            continue
        if entry["key"] in keys:
            message = f"key {entry['key']!r} is already row {keys[entry['key']]}'s (add a Key column: one per account)"
            problems.append(InputProblem(path, number, f"account '{entry['key']}'", "key", message))
            continue
        keys[entry["key"]] = number
        entries.append((number, entry))
    if not entries and not problems:
        problems.append(InputProblem(path, None, None, None, "no registrations below the header row"))
    if problems:
        raise InputError(problems)
    return ImportResult(entries, ignored)


def registry_text(source: Path, entries: list[tuple[int, dict[str, Any]]]) -> str:
    lines = [
        f"# Form 8-06 registrations imported from {source.name} by `auditor registry import`.",
        "# Each entry names its source row; check the file with `auditor validate`.",
        "accounts:",
    ]
    for number, entry in entries:
        block = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, default_flow_style=None, width=120)
        lines.append(f"  # {source.name} row {number}")
        lines += [f"  {line}" for line in block.rstrip("\n").splitlines()]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write beside the target and rename: a reader sees the old registry or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
