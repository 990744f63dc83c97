"""summary.md: the short text for e-mail and chat."""

from __future__ import annotations

import stat
from pathlib import Path

from auditor.report.markdown import md_escape, render_summary_md, write_summary_md
from tests.auditor.report.factory import SPOOFED_HANDLE, make_report, post_text, validate, with_hostile_finding


def test_summary_gives_changes_counts_coverage_and_new_findings_most_severe_first() -> None:
    report = make_report(40)
    text = render_summary_md(report)
    changes = report["summary"]["changes"]
    assert f"- New: {changes['new']}" in text
    assert f"- Resolved: {changes['resolved']}" in text
    assert f"- Regressed (resolved before, found again): {changes['regressed']}" in text
    assert f"## Open findings: {sum(report['summary']['by_severity'].values())}" in text
    for severity, count in report["summary"]["by_severity"].items():
        assert f"| {severity} | {count} |" in text
    assert "**2 of 7 accounts were not fully audited**" in text
    assert "participants partial (follower page cap reached (50 pages))" in text
    assert "posts failed (permission), retry after 2026-11-16T06:00:00+00:00" in text

    new_section = text.split("## New findings")[1]
    severities = [line.split("**")[1] for line in new_section.splitlines() if line.startswith("- **")]
    ranks = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]
    assert severities == sorted(severities, key=ranks.index)
    assert len(severities) == len([f for f in report["findings"] if f["status"] == "new"])


def test_summary_lists_at_most_ten_new_findings_and_counts_the_rest() -> None:
    report = make_report(300)
    new = [f for f in report["findings"] if f["status"] == "new"]
    text = render_summary_md(report)
    assert f"## New findings ({len(new)})" in text
    assert f"- … and {len(new) - 10} more in report.html" in text


def test_summary_names_accounts_never_the_people_in_a_finding() -> None:
    report = make_report(40)
    text = render_summary_md(report)
    for finding in report["findings"]:
        person = finding["evidence"]["admin"]["identity"]
        assert person not in text
        assert finding["message"] not in text


def test_a_quiet_complete_run_says_so() -> None:
    report = make_report(12, coverage_problems=False, statuses=("persisting",))
    report["findings"] = [f for f in report["findings"] if f["severity"] == "info"]
    report["summary"]["by_severity"] = {"info": len(report["findings"])}
    report["summary"]["by_rule"] = {"participant-summary": len(report["findings"])}
    report["summary"]["by_status"] = {"persisting": len(report["findings"])}
    validate(report)
    text = render_summary_md(report)
    assert "All 7 accounts were fully audited." in text
    assert "## New findings" not in text
    assert "UTC, complete;" in text


def test_markdown_in_names_stays_literal() -> None:
    assert md_escape("_hillside_ [x](http://e.test) *b* <a>") == "\\_hillside\\_ \\[x\\](http://e.test) \\*b\\* \\<a\\>"
    report = make_report(8)
    for finding in report["findings"]:
        finding["handle"] = "@_bold_[link](http://e.test)"
    text = render_summary_md(report)
    assert "@\\_bold\\_\\[link\\](http://e.test)" in text
    assert "[link](http" not in text


def test_write_summary_md_is_private(tmp_path: Path) -> None:
    path = write_summary_md(make_report(5), tmp_path / "run")
    assert path.name == "summary.md"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="utf-8").startswith("# AP 80-06 social media audit: Prairie Hills Regional Division")


def test_a_bidi_override_in_a_handle_is_shown_escaped_not_obeyed() -> None:
    report = with_hostile_finding(make_report(12), handle=SPOOFED_HANDLE, title="Admin is not active staff")
    partial = next(c for c in report["coverage"] if c["state"] == "partial")  # listed: not fully audited
    partial["handle"] = "RBE \u2067Reading\u2069 Buddies"
    text = render_summary_md(report)
    assert "\\<U+202E\\>sh\\_edisllih@" in text  # shows as <U+202E>sh_edisllih@ once rendered
    assert "RBE \\<U+2067\\>Reading\\<U+2069\\> Buddies" in text
    assert not any(chr(c) in text for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def test_a_huge_name_is_cut_on_its_line() -> None:
    report = with_hostile_finding(make_report(12), handle=post_text(1_000_000))
    text = render_summary_md(report)
    assert len(text) < len(render_summary_md(make_report(12))) + 1_000
    assert "… \\[truncated, 1,000,000 characters\\]" in text
