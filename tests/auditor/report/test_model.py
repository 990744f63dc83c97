"""The typed report model (auditor/report/model.py) and report.schema.json say the same thing (#16)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import TypeAdapter

from auditor.report.model import Report
from tests.auditor.report.factory import load_schema, make_report

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "demo"
ADAPTER: TypeAdapter[Report] = TypeAdapter(Report)
# The report's object parts, as paths of property names from the root ("[]" steps into an array's items).
PARTS = [
    (), ("run",), ("run", "spend"), ("summary",), ("summary", "changes"), ("summary", "departures", "[]"),
    ("summary", "departures", "[]", "accounts", "[]"),
    ("summary", "departures", "[]", "accounts", "[]", "findings", "[]"),
    ("coverage", "[]"), ("findings", "[]"), ("findings", "[]", "owners", "[]"), ("findings", "[]", "waiver"),
]  # fmt: skip


def _resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow $ref and allOf, and take the non-null branch of `X | None`."""
    while True:
        if "$ref" in node:
            node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        elif "allOf" in node and len(node["allOf"]) == 1 and "properties" not in node:
            node = node["allOf"][0]
        elif "anyOf" in node:
            node = next(n for n in node["anyOf"] if n.get("type") != "null")
        else:
            return node


def _part(root: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = _resolve(root, root)
    for step in path:
        node = _resolve(root, node["items"] if step == "[]" else node["properties"][step])
    return node


def _values(root: dict[str, Any], node: dict[str, Any]) -> set[Any] | None:
    """The values an enum (or const) field allows; None for any other field."""
    node = _resolve(root, node)
    if "enum" in node:
        return {v for v in node["enum"] if v is not None}
    if "const" in node:
        return {node["const"]}
    return None


@pytest.mark.parametrize("path", PARTS, ids=lambda p: ".".join(p) or "report")
def test_the_model_and_the_schema_name_the_same_fields(path: tuple[str, ...]) -> None:
    schema, model = load_schema(), ADAPTER.json_schema()
    ours, theirs = _part(model, path), _part(schema, path)
    assert set(ours["properties"]) == set(theirs["properties"])
    assert set(ours.get("required", [])) == set(theirs.get("required", []))
    assert (ours.get("additionalProperties") is False) == (theirs.get("additionalProperties") is False)
    for name in theirs["properties"]:
        expected = _values(schema, theirs["properties"][name])
        if expected is not None:
            assert _values(model, ours["properties"][name]) == expected, name


def _golden_reports() -> list[Path]:
    return sorted(GOLDEN.glob("*/report.json"))


@pytest.mark.parametrize("path", _golden_reports(), ids=lambda p: p.parent.name)
def test_every_demo_report_validates_with_the_model_and_the_schema(path: Path) -> None:
    report = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(report, load_schema())
    ADAPTER.validate_python(report, strict=True)


def test_the_model_refuses_what_the_schema_refuses() -> None:
    report = make_report(12)
    ADAPTER.validate_python(report, strict=True)
    for broken in ({"severity": "urgent"}, {"unexpected": 1}, {"owners": [{"name": "A", "role": "janitor"}]}):
        bad = json.loads(json.dumps(report))
        bad["findings"][0].update(broken)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, load_schema())
        with pytest.raises(ValueError):
            ADAPTER.validate_python(bad, strict=True)
