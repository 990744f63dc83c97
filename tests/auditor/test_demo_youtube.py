"""`auditor demo` shows the YouTube channel's findings, and the channel is fully audited."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from connectors.scrub import forget_secrets


def test_demo_reports_the_media_class_channel(
    tmp_path: Path, auditor_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(("YOUTUBE_", "ACCOUNT_")):
            monkeypatch.delenv(name)
    output = tmp_path / "demo"
    saved = dict(os.environ)
    try:
        result = CliRunner().invoke(app, ["demo", "--output", str(output)], catch_exceptions=False)
    finally:
        # `auditor demo` sets its own database, folders and placeholder credentials in os.environ.
        os.environ.clear()
        os.environ.update(saved)
        forget_secrets()
    assert result.exit_code == 1, result.output
    report = json.loads((output / "reports" / "latest" / "report.json").read_text())
    coverage = next(c for c in report["coverage"] if c["account"] == "hhs-media-yt")
    assert coverage["state"] == "complete"
    assert coverage["collections"]["admins"]["state"] == "not_supported"
    found = {(f["rule"], f["severity"]) for f in report["findings"] if f["account"] == "hhs-media-yt"}
    assert found == {
        ("platform-not-approved", "medium"),
        ("staff-student-interaction", "high"),
        ("non-school-participant", "info"),
    }
    interaction = next(
        f for f in report["findings"] if f["rule"] == "staff-student-interaction" and f["platform"] == "youtube"
    )
    assert (interaction["evidence"]["staff"]["person_id"], interaction["evidence"]["student"]["person_id"]) == (
        "E1005",
        "300100002",
    )
    assert report["run"]["spend"]["units"]["youtube"] == 5
