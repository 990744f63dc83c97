"""A principal's report: only that school's findings and coverage."""

from __future__ import annotations

import copy

import pytest

from auditor.report.html import render_html
from auditor.report.school import UnknownSchool, filter_report_for_school
from tests.auditor.report.factory import make_report, validate


def test_keeps_only_that_school_and_recounts() -> None:
    report = make_report(60)
    original = copy.deepcopy(report)
    school = filter_report_for_school(report, "Riverbend Elementary")

    validate(school)
    assert report == original  # the division's report is not changed
    assert school["findings"] and {f["school"] for f in school["findings"]} == {"Riverbend Elementary"}
    assert {c["account"] for c in school["coverage"]} == {"rbe-news-fb", "rbe-reading-group"}
    assert school["run"]["school"] == "Riverbend Elementary"
    assert school["run"]["accounts_audited"] == 2
    kept = school["findings"]
    assert school["summary"]["changes"]["new"] == sum(1 for f in kept if f["status"] == "new")
    assert sum(school["summary"]["by_status"].values()) == len(kept)
    assert sum(school["summary"]["by_severity"].values()) == sum(
        1 for f in kept if f["status"] in ("new", "persisting", "unknown")
    )
    assert school["summary"] != report["summary"]


def test_school_name_is_matched_without_case_or_spacing() -> None:
    school = filter_report_for_school(make_report(20), "  maple ridge   JUNIOR high ")
    assert school["run"]["school"] == "Maple Ridge Junior High"


def test_unknown_school_is_refused_with_the_known_names() -> None:
    with pytest.raises(UnknownSchool) as error:
        filter_report_for_school(make_report(20), "Hillcrest")
    assert "Hillside High School, Maple Ridge Junior High, Riverbend Elementary" in str(error.value)


def test_a_school_with_no_findings_still_shows_its_coverage() -> None:
    report = make_report(20)
    report["findings"] = [f for f in report["findings"] if f["school"] != "Maple Ridge Junior High"]
    school = filter_report_for_school(report, "Maple Ridge Junior High")
    assert school["findings"] == []
    html = render_html(school)
    assert "1 of 2 accounts were not fully audited." in html
    assert "No findings, but not every account was fully audited" in html
    assert "Hillside High School" not in html
