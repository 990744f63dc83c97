"""The report code is typed by the report's model (#16): build_report gives a Report, every consumer
takes its typed parts, and the store's text columns are checked against the report's enums where a
finding is built, so that no report says a severity, status or confidence the schema refuses."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import update

from auditor import notify
from auditor.report import build, filters, html, markdown, ocsf, owner, publish, school
from auditor.report.publish import report_for_run
from models.db import session
from models.tables import Finding
from tests.auditor.report.factory import load_schema
from tests.auditor.report.test_build import _store_findings

# Each function that reads a whole report, and the model type it must take.
CONSUMERS: list[tuple[Callable[..., Any], str]] = [
    (publish.write_json, "Report"), (publish.write_csv, "Report"), (publish.write_report_files, "Report"),
    (publish.without_principal_only, "Report"), (publish.report_folder, "Report"),
    (html.render_html, "Report"), (html.stream_html, "Report"), (html.write_html, "Report"),
    (html.build_view, "Report"), (ocsf.ocsf_findings, "Report"), (ocsf.render_ocsf, "Report"),
    (school.filter_report_for_school, "Report"), (school.schools_in, "Report"),
    (owner.filter_report_for_owner, "Report"), (owner.owners_in, "Report"), (filters.filter_report, "Report"),
    (markdown.render_summary_md, "ReportLabels"), (markdown.write_summary_md, "ReportLabels"),
    (notify.send_notifications, "ReportLabels"), (notify.route, "ReportLabels"),
]  # fmt: skip


def test_build_report_returns_the_typed_report() -> None:
    assert inspect.signature(build.build_report).return_annotation == "Report"
    assert inspect.signature(publish.report_for_run).return_annotation == "Report"


@pytest.mark.parametrize("function, expected", CONSUMERS, ids=lambda v: getattr(v, "__qualname__", v))
def test_every_consumer_takes_the_typed_report(function: Callable[..., Any], expected: str) -> None:
    assert inspect.signature(function).parameters["report"].annotation == expected


def test_the_findings_parts_are_typed_too() -> None:
    assert inspect.signature(ocsf.ocsf_finding).parameters["finding"].annotation == "FindingEntry"
    assert inspect.signature(build.summarize).parameters["findings"].annotation == "Sequence[FindingLabels]"
    assert inspect.signature(notify.Notification).parameters["findings"].annotation == "list[FindingLabels]"


@pytest.mark.parametrize(
    "column, value", [("severity", "urgent"), ("status", "open"), ("confidence", "sure")], ids=lambda v: str(v)
)
def test_a_stored_value_the_schema_refuses_is_an_error_not_a_report(tmp_path: Path, column: str, value: str) -> None:
    """A store holding a severity (status, confidence) report.json cannot say fails the build, naming
    the value, instead of publishing a report that its own schema rejects."""
    engine, run_id = _store_findings(tmp_path / "auditor.db", 3)
    jsonschema.validate(report_for_run(engine, run_id), load_schema())  # as stored: a valid report
    with session(engine) as db:
        db.execute(update(Finding).where(Finding.fingerprint == "fp-000001").values({column: value}))  # type: ignore[arg-type]
        db.commit()
    with pytest.raises(ValueError, match=repr(value)):
        report_for_run(engine, run_id)
