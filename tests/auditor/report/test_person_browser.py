"""The person section of report.html (`auditor check --person`) in headless Chromium.

Skipped, with the reason, where /usr/bin/chromium is missing (see test_html_browser.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.auditor.demo_store import AS_OF, DEMO_DIVISION, REPO, demo_env, run_demo
from tests.auditor.report.test_html_browser import CHROMIUM, Watched, browser

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the module-scoped fixture, shared with test_html_browser.py

from playwright.sync_api import Browser, Page  # noqa: E402


@pytest.fixture
def person_report(tmp_path: Path) -> Path:
    """report.html of `auditor check --person E1013` after the demo's nightly run."""
    env = {**os.environ, **demo_env(run_demo(tmp_path / "demo"), tmp_path / "var"), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "check", "--person", "E1013", "--division", str(DEMO_DIVISION),
         "--as-of", AS_OF],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    reports = (tmp_path / "var" / "reports" / "checks").glob("*/report.json")  # a check's own folder
    (folder,) = [p.parent for p in reports if p.parent.name != "latest" and "person" in json.loads(p.read_text())]
    return folder / "report.html"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = browser.new_page(viewport={"width": 1280, "height": 1000})
    yield opened
    opened.close()


def test_person_section_renders_the_checklist(person_report: Path, page: Page) -> None:
    assert CHROMIUM.exists()
    view = Watched(page)
    view.url = person_report.as_uri()
    page.goto(view.url)
    section = page.locator("#person")
    assert section.is_visible()
    assert "Person: Rob MacLeod" in page.locator("#person-h").inner_text()
    rows = page.locator("#person-checklist tbody tr")
    assert rows.count() == 2
    assert [rows.nth(i).get_attribute("data-status") for i in range(2)] == ["open", "open"]
    assert rows.nth(0).locator(".state").inner_text() == "open"
    assert "last reset 2026-03-01; left 2026-09-15" in rows.nth(0).inner_text()
    assert page.locator("#person-findings").get_by_text("about this person").count() == 2
    assert page.locator("#departures").get_by_text("Rob MacLeod").is_visible()
    assert view.console_errors() == []
    assert view.requests == [view.url]  # nothing fetched: the page is self-contained
