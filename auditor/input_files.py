"""Reading a division's input files: bounded reads, UTF-8 text, YAML with line numbers, CSV rows,
and the problem each names (file, line, record, field, what is wrong).

The primitives under the loaders: auditor.inputs (registry, directory, activities, policy, waivers),
auditor.mapping (directory exports in other columns), auditor.oneroster (OneRoster exports) and
auditor.registry_import all read through here, and this module imports none of them.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from connectors.files import read_bounded

# Division inputs are text a person edits: a directory of 50,000 people is a few MB. The bound only
# keeps a wrong file (a disk image, a pipe) from filling memory or hanging the nightly run.
INPUT_MAX_BYTES = 512 * 1024 * 1024
INPUT_READ_SECONDS = 120.0
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


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
        # One problem, one line: a newline in a message or a file name must not split it in a log.
        return _CONTROL.sub(" ", ": ".join(parts) + f": {self.message}")


# --- YAML with line numbers ---------------------------------------------------------------


class _TextDatesLoader(yaml.SafeLoader):
    """Dates stay text so that pydantic validates them and a bad one becomes a clear message."""


_TextDatesLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
)

# libyaml reads a registry of 1,000 accounts ten times faster; a file it refuses is read again by
# the pure-Python loader, so every error message and line stays the one the tests expect.
_FAST_LOADERS: tuple[type, type] | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _FastTextDatesLoader(yaml.CSafeLoader):
        """_TextDatesLoader on libyaml."""

    _FastTextDatesLoader.add_constructor(
        "tag:yaml.org,2002:timestamp",
        lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
    )
    _FAST_LOADERS = (yaml.CSafeLoader, _FastTextDatesLoader)


_PLAIN_DEPTH = 64  # no registry, policy or activity list nests anywhere near this


def _depth(root: yaml.Node | None) -> int:
    """How deeply the document nests (iteratively: libyaml reads depths Python's stack cannot)."""
    deepest, stack = 0, [(root, 1)] if root is not None else []
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, yaml.SequenceNode):
            stack += [(child, depth + 1) for child in node.value]
        elif isinstance(node, yaml.MappingNode):
            stack += [(child, depth + 1) for pair in node.value for child in pair]
        if deepest > _PLAIN_DEPTH:
            break
    return deepest


def _parse_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The document's nodes (for lines) and its data; raises what the pure-Python loader raises."""
    if _FAST_LOADERS is not None:
        try:
            node = yaml.compose(text, Loader=_FAST_LOADERS[0])
            if _depth(node) <= _PLAIN_DEPTH:  # deeper: let the pure-Python loader decide, as it always did
                return yaml.load(text, Loader=_FAST_LOADERS[1]), node
        except (yaml.YAMLError, ValueError, RecursionError):
            pass  # explained below, in the words and lines of the loader the messages were written for
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    return yaml.load(text, Loader=_TextDatesLoader), node


def _line_at(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def read_input_text(path: Path, problems: list[InputProblem]) -> str | None:
    """The file as UTF-8 text, or None with a problem naming the line of the first bad byte."""
    try:
        raw = read_bounded(path, max_bytes=INPUT_MAX_BYTES, timeout_seconds=INPUT_READ_SECONDS)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        problems.append(InputProblem(path, None, None, None, f"cannot read file: {reason}"))
        return None
    return decode_input(raw, path, problems)


def decode_input(raw: bytes, path: Path, problems: list[InputProblem]) -> str | None:
    """Bytes read from `path` (a file, or a member of a zip) as UTF-8 text, or None with a problem."""
    for bom, encoding in _WIDE_BOMS:
        if raw.startswith(bom):
            problems.append(InputProblem(path, 1, None, None, f"the file is {encoding} text: save it as UTF-8"))
            return None
    nul = raw.find(b"\x00")
    if nul >= 0:
        message = "contains a NUL byte (a binary file, or UTF-16 text?): save it as UTF-8 text"
        problems.append(InputProblem(path, _line_at(raw, nul), None, None, message))
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        message = (
            f"not UTF-8 text: byte 0x{raw[exc.start]:02X} at column {column} "
            "(Latin-1 or Windows-1252?): save the file as UTF-8"
        )
        problems.append(InputProblem(path, _line_at(raw, exc.start), None, None, message))
        return None


def load_yaml(path: Path, problems: list[InputProblem]) -> tuple[Any, yaml.Node | None]:
    text = read_input_text(path, problems)
    if text is None:
        return None, None
    try:
        data, node = _parse_yaml(text)
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        if isinstance(exc, yaml.reader.ReaderError):  # a character YAML refuses: its offset, as a line
            line = text.count("\n", 0, exc.position) + 1
        problems.append(InputProblem(path, line, None, None, f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return None, None
    except RecursionError:
        problems.append(
            InputProblem(path, None, None, None, "nested too deeply to read (lists or maps inside each other)")
        )
        return None, None
    _check_duplicate_keys(path, node, problems)
    return data, node


def _check_duplicate_keys(path: Path, root: yaml.Node | None, problems: list[InputProblem]) -> None:
    """A key given twice in one mapping: YAML keeps the last silently, so the first would be lost unseen."""
    pending = [root] if root is not None else []
    visited: set[int] = set()
    while pending:  # a loop, not recursion: the nesting may be as deep as the parser allowed
        node = pending.pop()
        if id(node) in visited:  # an alias repeats a node already checked
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                pending.append(value)
                if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                    continue
                line = key.start_mark.line + 1
                if key.value in first:
                    message = f"duplicate key (also at line {first[key.value]}; only one may be given)"
                    problems.append(InputProblem(path, line, None, key.value, message))
                else:
                    first[key.value] = line
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)


def mapping_lines(node: yaml.Node | None) -> tuple[int | None, dict[str, int]]:
    """Line of a mapping node and of each of its keys (1-based)."""
    if not isinstance(node, yaml.MappingNode):
        return (node.start_mark.line + 1 if node is not None else None), {}
    lines = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
    return node.start_mark.line + 1, lines


def explain(error: ValidationError) -> list[tuple[str | None, str]]:
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


# --- CSV -----------------------------------------------------------------------------------

PERSON_STATUSES = {"active", "departed", "inactive", "on_leave"}
# Without status and departure_date a directory cannot tell departed staff from active ones.
PEOPLE_COLUMNS = {"person_id", "role", "first_name", "last_name", "status", "departure_date"}


CsvRows = Iterable[tuple[int, dict[str, str]]]


def read_csv(path: Path, problems: list[InputProblem]) -> tuple[list[str], CsvRows] | None:
    """Header (lower-case) and rows (line, column -> stripped value), or None with the problems."""
    text = read_input_text(path, problems)
    return None if text is None else parse_csv(path, text, problems)


def parse_csv(path: Path, text: str, problems: list[InputProblem]) -> tuple[list[str], CsvRows] | None:
    """`read_csv` on text already read (e.g. from a zip member)."""
    if not text.strip():
        problems.append(InputProblem(path, None, None, None, "the file is empty (expected a header and rows)"))
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    try:
        header = [h.strip().lower() for h in next(reader)]
        start = reader.line_num + 1
        for values in reader:
            if values:  # a blank line
                rows.append((start, values))
            start = reader.line_num + 1
    except csv.Error as exc:
        problems.append(InputProblem(path, reader.line_num, None, None, f"not valid CSV: {exc}"))
        return None
    duplicated = sorted({h for h in header if h and header.count(h) > 1})
    if duplicated:
        message = f"duplicated column(s): {', '.join(duplicated)} (which one counts would be a guess)"
        problems.append(InputProblem(path, 1, None, None, message))
        return None
    if not rows:
        problems.append(InputProblem(path, 1, None, None, "the file has a header but no rows"))
        return None
    # Each row becomes a dict as it is read: 150,000 of them at once would be a transient 150 MB.
    return header, (
        (number, {h: (values[i] if i < len(values) else "").strip() for i, h in enumerate(header) if h})
        for number, values in rows
    )
