"""report.html without a browser: self-containment, CSP, escaping, content, atomic private file."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import re
import stat
import sys
import tracemalloc
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.report.html import render_html, safe_link, stream_html, write_html
from tests.auditor.report.factory import (
    RLO,
    SPOOFED_HANDLE,
    load_schema,
    make_report,
    validate,
    with_hostile_finding,
)


class Page(HTMLParser):
    """Collects what matters for self-containment: resource attributes, scripts, styles, the CSP."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.resources: list[tuple[str, str, str]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self.csp = ""
        self.style_attributes = 0
        self.handlers: list[str] = []
        self._open: tuple[str, dict[str, str | None]] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "action", "data", "poster", "srcset"):
            if values.get(name) is not None:
                self.resources.append((tag, name, values[name] or ""))
        if tag == "meta" and values.get("http-equiv") == "Content-Security-Policy":
            self.csp = values.get("content") or ""
        if "style" in values:
            self.style_attributes += 1
        self.handlers += [name for name in values if name.startswith("on")]
        if tag in ("script", "style"):
            self._open = (tag, values)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag == self._open[0]:
            text = "".join(self._text)
            if tag == "script":
                self.scripts.append((self._open[1], text))
            else:
                self.styles.append(text)
            self._open = None


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def details_data(html: str) -> list[dict[str, Any]]:
    """Each finding's evidence panel data as report.js reads it, shared texts resolved."""
    return decoded(data_block(html, "details-data"), "findings")


def data_block(html: str, name: str) -> dict[str, Any]:
    block = re.search(rf'<script type="application/json" id="{name}">(.*?)</script>', html, re.S)
    assert block is not None
    return json.loads(block.group(1))


def rows_data(html: str) -> list[dict[str, Any]]:
    """The findings as report.js reads them: one dict per finding, shared texts resolved."""
    return decoded(data_block(html, "rows-data"), "rows")


def decoded(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    texts = data["texts"]
    return [
        {
            name.rstrip("*"): texts[value] if name.endswith("*") else value
            for name, value in zip(data["fields"], row, strict=True)
        }
        for row in data[key]
    ]


def test_factory_reports_follow_the_schema_and_the_schema_rejects_broken_ones() -> None:
    report = make_report(30)
    validate(report)
    broken = copy.deepcopy(report)
    broken["findings"][0]["severity"] = "urgent"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, load_schema())


def test_page_loads_nothing_and_its_csp_allows_only_its_own_script_and_style() -> None:
    html = render_html(make_report(30))
    page = parse(html)

    # the only resource reference is the empty data: favicon (it stops the browser asking for /favicon.ico)
    assert [r for r in page.resources if r[1] != "href" or r[0] != "a"] == [("link", "href", "data:,")]
    csp = dict(part.strip().split(" ", 1) for part in page.csp.split(";"))
    assert csp["default-src"] == "'none'"
    assert csp["img-src"] == "data:"
    executable = [text for attrs, text in page.scripts if attrs.get("type") in (None, "text/javascript")]
    assert len(executable) == 1 and csp["script-src"] == sha256(executable[0])
    assert len(page.styles) == 1 and csp["style-src"] == sha256(page.styles[0])
    assert "unsafe-inline" not in page.csp and "unsafe-eval" not in page.csp
    assert page.style_attributes == 0 and page.handlers == []  # both would be blocked by the CSP


def test_every_platform_link_is_http_and_opens_safely() -> None:
    report = make_report(30)
    html = render_html(report)
    data = details_data(html)
    for finding, item in zip(report["findings"], data, strict=True):
        assert item["url"] == finding["url"]
    assert all(f["url"].startswith("https://") for f in report["findings"])


@pytest.mark.parametrize(
    "url, kept",
    [
        ("https://x.com/hhs_robotics/status/1", True),
        ("http://www.facebook.com/groups/1", True),
        ("javascript:alert(1)", False),
        (" JavaScript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//evil.example/x", False),
        ("https://", False),
        (None, False),
    ],
)
def test_only_http_links_become_clickable(url: str | None, kept: bool) -> None:
    assert (safe_link(url) is not None) is kept


def test_report_data_is_escaped_everywhere() -> None:
    report = make_report(6)
    finding = report["findings"][0]
    finding.update(
        title="<script>alert('title')</script>",
        message='"><img src=x onerror=alert(1)>',
        handle="</script><script>alert(2)</script>",
        url="javascript:alert(3)",
        evidence={"excerpt": "</script><script>alert(4)</script><!--"},
    )
    report["coverage"][0]["collections"]["posts"]["error"] = "<b>platform</b>"
    validate(report)
    html = render_html(report)

    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>platform</b>" not in html
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html
    page = parse(html)
    # the page's own script and the two JSON data blocks, nothing injected
    assert [attrs.get("type") for attrs, _ in page.scripts] == [None, "application/json", "application/json"]
    assert "</script><script>" not in html and "<!--" not in html  # the data cannot close its block
    row = rows_data(html)[0]
    assert (row["title"], row["label"]) == ("<script>alert('title')</script>", "</script><script>alert(2)</script>")
    item = details_data(html)[0]
    assert item["evidence"]["excerpt"] == "</script><script>alert(4)</script><!--"  # data intact once parsed
    assert item["url"] is None and item["url_text"] == "javascript:alert(3)"


def test_summary_states_changes_counts_and_each_coverage_gap() -> None:
    report = make_report(40)
    html = render_html(report)
    changes = report["summary"]["changes"]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert f"New {changes['new']} Resolved {changes['resolved']} Regressed {changes['regressed']}" in text
    assert "This run is incomplete." in text
    assert "2 of 7 accounts were not fully audited." in text
    assert "follower page cap reached (50 pages)" in text
    assert "(platform said: (#10) Requires pages_read_engagement permission)" in text
    for rule, count in report["summary"]["by_rule"].items():
        assert re.search(rf"{re.escape(rule)} .{{0,80}}? {count} ", text)


def test_no_findings_is_never_shown_as_compliance_when_accounts_were_not_audited() -> None:
    audited = make_report(0, coverage_problems=False)
    assert "No findings: every audited account meets AP 80-06" in render_html(audited)

    gaps = make_report(0, coverage_problems=True)
    html = render_html(gaps)
    assert "No findings, but not every account was fully audited" in html
    assert "every audited account meets AP 80-06" not in html

    nothing = make_report(0, coverage_problems=False)
    nothing["coverage"] = []
    nothing["run"]["accounts_audited"] = 0
    validate(nothing)
    html = render_html(nothing)
    assert "No account was audited in this run" in html
    assert "every audited account meets AP 80-06" not in html


def test_every_finding_is_in_the_page_data_with_what_its_row_shows() -> None:
    """The rows are drawn by report.js (see test_html_browser.py): here, the data they are drawn from."""
    report = make_report(60)
    rows = rows_data(render_html(report))
    assert len(rows) == len(report["findings"])
    for finding, row in zip(report["findings"], rows, strict=True):
        assert row["status"] == finding["status"] and row["sev"] == finding["severity"]
        assert (row["school"], row["account"], row["label"]) == (
            finding["school"],
            finding["account"],
            finding["handle"],
        )
        assert row["owners"] == " " + " ".join(o.get("person_id") or "its" for o in finding["owners"]) + " "
        assert row["waiver"] == finding["waiver"]


def test_clauses_fill_in_for_findings_that_do_not_quote_one() -> None:
    report = make_report(7)
    for finding in report["findings"]:
        finding["clause"] = ""
    data = details_data(render_html(report, clauses={"password-reset-overdue": "Passwords are changed yearly."}))
    for finding, item in zip(report["findings"], data, strict=True):
        expected = "Passwords are changed yearly." if finding["rule"] == "password-reset-overdue" else ""
        assert item["clause"] == expected


def test_write_html_is_atomic_private_and_deterministic(tmp_path: Path) -> None:
    report = make_report(20)
    folder = tmp_path / "reports" / "run-1"
    path = write_html(report, folder)
    assert path == folder / "report.html"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["report.html"]  # no temporary file left behind
    first = path.read_bytes()
    write_html(report, folder)
    assert path.read_bytes() == first == render_html(report).encode()


def test_per_school_report_says_whose_it_is() -> None:
    report = make_report(20, school="Riverbend Elementary")
    html = render_html(report)
    assert "— Riverbend Elementary only" in html
    assert "Hillside High School" not in html


def test_large_reports_keep_findings_out_of_the_markup() -> None:
    """5,000 findings: no row, evidence panel or act-first item is markup; the page before the data
    blocks is the same size whatever the number of findings, so it opens as fast."""
    small, large = render_html(make_report(60)), render_html(make_report(5000))
    for html in (small, large):
        assert 'class="f"' not in html and 'class="detail-grid"' not in html and 'class="af"' not in html
    before = [html.index('<script type="application/json"') for html in (small, large)]
    assert before[1] - before[0] < 2_000  # only the counts' digits differ


def test_writing_the_page_copies_neither_the_report_nor_its_data_blocks() -> None:
    """Issue #21: 100,000 findings must render within 1 GB. Writing the page to a file adds only a
    finding at a time and the shared texts, a small fraction of the report, whatever its size; the
    text written is the page render_html returns."""
    report = make_report(1000, validated=False)
    expected = render_html(report)
    pieces: list[str] = []

    class Sink(io.StringIO):
        def writelines(self, lines: Any) -> None:  # count what is written, keep it for the comparison
            pieces.extend(lines)

    tracemalloc.start()
    try:
        held = tracemalloc.get_traced_memory()[0]
        stream_html(report, Sink())
        pieces_size = sum(sys.getsizeof(p) for p in pieces)
        extra = tracemalloc.get_traced_memory()[1] - held - pieces_size
    finally:
        tracemalloc.stop()
    report_size = len(json.dumps(report))
    assert "".join(pieces) == expected
    assert max(len(p) for p in pieces) < report_size / 10  # the data blocks come in pieces, not one string
    assert extra < report_size / 4, f"rendering held {extra:,} bytes for a {report_size:,}-byte report"


def test_footer_reports_what_the_run_spent() -> None:
    report = make_report(5)
    report["run"]["spend"] = {
        "requests": {"twitter": {"GET /2/users": 3, "GET /2/users/:id/followers": 4}, "youtube": {"channels.list": 2}},
        "units": {"youtube": 7},
        "estimated_cost": 0.07,
    }
    validate(report)
    html = render_html(report)
    assert "API use: twitter: 7 requests; youtube: 2 requests, 7 quota units; estimated cost $0.07." in html


BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


def test_bidi_overrides_are_shown_escaped_and_platform_names_isolated() -> None:
    report = with_hostile_finding(
        make_report(12),
        handle=SPOOFED_HANDLE,
        message=f"Admin {SPOOFED_HANDLE} is not active staff",
        evidence={"source": "observed", "excerpt": "Go \u2066team\u2069 " + RLO + "won"},
    )
    report["findings"][1]["handle"] = "בית ספר"  # right-to-left, no override: isolated, not escaped
    html = render_html(report)

    assert [c for c in BIDI_CONTROLS if c in html] == []
    rows = rows_data(html)  # drawn in <bdi> by report.js: test_html_browser.py checks the isolation
    assert rows[0]["label"] == "<U+202E>sh_edisllih@"
    assert rows[0]["message"] == "Admin <U+202E>sh_edisllih@ is not active staff"
    assert rows[1]["label"] == "בית ספר"
    assert details_data(html)[0]["evidence"]["excerpt"] == "Go <U+2066>team<U+2069> <U+202E>won"
