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


def test_a_school_sees_only_its_own_accounts_api_usage() -> None:
    report = make_report(20)
    report["run"]["spend"] = {
        "requests": {"twitter": {"GET /2/users": 3, "GET /2/tweets/search/recent": 4}, "youtube": {"channels.list": 2}},
        "units": {"youtube": 12},
        "estimated_cost": 0.07,
        "by_account": {
            "rbe-news-fb": {"platform": "facebook", "requests": {"facebook": {"GET /posts": 5}}, "estimated_cost": 0.0},
            "mrj-band-yt": {
                "platform": "youtube",
                "requests": {"youtube": {"channels.list": 2}},
                "units": {"youtube": 12},
            },
            "twitter:batched-lookup": {"platform": "twitter", "requests": {"twitter": {"GET /2/users": 3}}},
        },
    }
    school = filter_report_for_school(report, "Riverbend Elementary")
    validate(school)
    spend = school["run"]["spend"]
    assert spend["requests"] == {"facebook": {"GET /posts": 5}}  # not the division's twitter/youtube use
    assert spend["units"] == {}
    assert set(spend["by_account"]) == {"rbe-news-fb"}
    assert spend["shared_requests"] == 3  # the batch serves every school: counted apart, not as this school's
    html = render_html(school)
    assert "API use: facebook: 5 requests; 3 requests shared across the division&#39;s accounts not counted." in html


def test_a_run_without_per_account_spend_shows_the_school_nothing_rather_than_the_division() -> None:
    report = make_report(20)  # spend as runs stored it before it was kept per account
    school = filter_report_for_school(report, "Riverbend Elementary")
    assert school["run"]["spend"]["requests"] == {} and school["run"]["spend"]["units"] == {}
