"""directory/mapping.yaml: read an HR (or any other) export in its own columns and values.

    files:
      hr-export.csv:
        columns:                       # source column -> the auditor's field
          Employee Number: person_id
          Position: role
          Employment Status: status
          Termination Date: departure_date
          ...
        ignore: [Salary, SIN]          # columns deliberately not read
        values:
          role: {Teacher: staff, Principal: administrator}
          status: {Active: active, Terminated: departed, LOA: on_leave}
        date_format: "%d/%m/%Y"

Every column of a mapped file is either mapped or ignored, and every role or status value is in its
map: an export that changed shape, or a new HR code, stops the run (exit 2 with file:line) instead
of being read as something else. docs/onboarding.md explains it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auditor.input_files import PEOPLE_COLUMNS, PERSON_STATUSES, InputProblem, explain, load_yaml, mapping_lines

Target = Literal[
    "person_id", "role", "school", "first_name", "last_name", "preferred_name", "status", "departure_date", "handles"
]
Status = Literal["active", "departed", "inactive", "on_leave"]
assert set(Status.__args__) == PERSON_STATUSES  # type: ignore[attr-defined]  # one list of statuses


class ValueMaps(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: dict[str, str] | None = None  # export value -> auditor role (e.g. Teacher: staff)
    status: dict[str, Status] | None = None

    @field_validator("role", "status", mode="before")
    @classmethod
    def _keys_as_text(cls, value: object) -> object:
        # YAML reads an HR code 1 or yes as a number or a boolean: the CSV holds text.
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value


class FileMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: dict[str, Target]
    ignore: list[str] = Field(default_factory=list)
    values: ValueMaps = Field(default_factory=ValueMaps)
    date_format: str = "%Y-%m-%d"

    @field_validator("date_format")
    @classmethod
    def _a_date_format(cls, value: str) -> str:
        sample = date(2026, 12, 31)
        try:
            if datetime.strptime(sample.strftime(value), value).date() != sample:
                raise ValueError
        except ValueError:
            raise ValueError(f"not a date format that round-trips a date (e.g. %d/%m/%Y): {value!r}") from None
        return value


@dataclass(frozen=True)
class Mapping:
    """One file's validated mapping, with where it was written (for messages)."""

    file: Path  # the mapping.yaml
    line: int  # of this file's entry
    spec: FileMapping

    def where(self) -> str:
        return f"{self.file}:{self.line}"


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _line_of(node: yaml.Node | None, keys: list[str], default: int) -> int:
    """Line of the deepest key of `keys` (a pydantic location such as values.status.LOA) that exists."""
    line = default
    for key in keys:
        lines = mapping_lines(node)[1]
        if key not in lines:
            break
        line, node = lines[key], _child(node, key)
    return line


def load_mappings(path: Path, problems: list[InputProblem]) -> dict[str, Mapping | None]:
    """directory/mapping.yaml (optional): file name -> its mapping, None when the mapping is wrong (the
    file is then not read at all: read as nine columns it would only add knock-on errors)."""
    if not path.exists():
        return {}
    data, node = load_yaml(path, problems)
    if data is None:
        return {}
    if not isinstance(data, dict) or set(data) != {"files"} or not isinstance(data["files"], dict):
        problems.append(InputProblem(path, 1, None, "files", "expected 'files:' mapping each file name to its mapping"))
        return {}
    files_node = _child(node, "files")
    _line, file_lines = mapping_lines(files_node)
    mappings: dict[str, Mapping | None] = {}
    for name, raw in data["files"].items():
        mappings[str(name)] = None
        line = file_lines.get(str(name), 1)
        entry_node = _child(files_node, str(name))
        key_lines = mapping_lines(entry_node)[1]
        try:
            spec = FileMapping.model_validate(raw)
        except ValidationError as exc:
            for location, message in explain(exc):
                at = _line_of(entry_node, (location or "").split("."), line)
                problems.append(InputProblem(path, at, f"file '{name}'", location, message))
            continue
        column_lines = mapping_lines(_child(entry_node, "columns"))[1]
        targets: dict[str, str] = {}
        for column, target in spec.columns.items():
            if target in targets:
                message = f"{target} is already mapped from column {targets[target]!r}"
                problems.append(InputProblem(path, column_lines.get(column, line), f"file '{name}'", column, message))
            targets[target] = column
        missing = sorted(PEOPLE_COLUMNS - set(targets))
        if missing:
            message = f"map a column to each of: {', '.join(missing)}"
            if {"status", "departure_date"} & set(missing):
                message += " (without status and departure_date departed staff look active)"
            problems.append(InputProblem(path, key_lines.get("columns", line), f"file '{name}'", "columns", message))
            continue
        mappings[str(name)] = Mapping(path, line, spec)
    return mappings


def _lookup(table: dict[str, str], value: str) -> str | None:
    """Exact first, then ignoring case: HR systems change the case of their codes between versions."""
    if value in table:
        return table[value]
    folded = {k.casefold(): v for k, v in table.items()}
    return folded.get(value.casefold())


def apply_mapping(
    csv_path: Path,
    header: list[str],
    rows: Iterable[tuple[int, dict[str, str]]],
    mapping: Mapping,
    rejected: set[str],
    problems: list[InputProblem],
) -> list[tuple[int, dict[str, str]]] | None:
    """The export's rows in the auditor's columns, or None when its header does not fit the mapping.
    A row with an unmapped value or a bad date is left out, its id added to `rejected`."""
    spec = mapping.spec
    columns = {source.strip().lower(): target for source, target in spec.columns.items()}
    ignored = {c.strip().lower() for c in spec.ignore}
    bad = len(problems)
    for column in header:
        if column and column not in columns and column not in ignored:
            message = f"unknown column: map it or list it under 'ignore' in {mapping.where()}"
            problems.append(InputProblem(csv_path, 1, None, column, message))
    for source in columns:
        if source not in header:
            message = f"{mapping.where()} maps column {source!r}, which the file does not have"
            problems.append(InputProblem(csv_path, 1, None, source, message))
    if len(problems) > bad:
        return None
    by_target = {target: source for source, target in columns.items()}
    mapped: list[tuple[int, dict[str, str]]] = []
    for number, row in rows:
        row_bad = len(problems)
        out: dict[str, str] = {target: row.get(source, "") for source, target in columns.items()}
        label = f"person '{out.get('person_id', '')}'" if out.get("person_id") else "row"
        for target in ("role", "status"):
            table = getattr(spec.values, target)
            value = out.get(target, "")
            if table is None or not value:
                continue
            found = _lookup(table, value)
            if found is None:
                message = f"value {value!r} is not in the {target} map of {mapping.where()}"
                problems.append(InputProblem(csv_path, number, label, by_target[target], message))
            else:
                out[target] = found
        when = out.get("departure_date", "")
        if when:
            try:
                out["departure_date"] = datetime.strptime(when, spec.date_format).date().isoformat()
            except ValueError:
                message = f"not a date in the format {spec.date_format!r} ({mapping.where()}): {when!r}"
                problems.append(InputProblem(csv_path, number, label, by_target["departure_date"], message))
        if len(problems) > row_bad:
            if out.get("person_id"):
                rejected.add(out["person_id"])  # a reference to it is a knock-on of this row's error
            continue
        mapped.append((number, out))
    return mapped
