"""models/severity.py: what "open" means, once, and what a run keeps tracking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from auditor.notify import route
from auditor.policy import SinkPolicy
from auditor.report.build import summarize
from auditor.report.markdown import open_findings
from models.severity import OPEN_STATUSES, TRACKED_STATUSES, FindingStatus


@pytest.mark.parametrize(
    ("status", "is_open", "tracked"),
    [
        (FindingStatus.NEW, True, True),
        (FindingStatus.PERSISTING, True, True),
        (FindingStatus.UNKNOWN, True, True),  # not confirmed fixed: still to act on
        (FindingStatus.WAIVED, False, True),  # accepted until the waiver expires, but carried to the next run
        (FindingStatus.RESOLVED, False, False),
    ],
)
def test_open_and_still_tracked_are_two_meanings(status: FindingStatus, is_open: bool, tracked: bool) -> None:
    assert status.is_open is is_open
    assert status.still_tracked is tracked
    assert (status in OPEN_STATUSES, status in TRACKED_STATUSES) == (is_open, tracked)


def _finding(status: str, severity: str = "high") -> dict[str, Any]:
    return {"status": status, "severity": severity, "rule": "too-few-staff-admins", "account": "a", "subject": status}


def test_a_waived_finding_is_counted_nowhere_a_user_acts_on() -> None:
    """The report's counts, its summary's list and the notifications all leave out what is waived or resolved."""
    findings = [_finding(status.value) for status in FindingStatus]
    summary = summarize(findings)
    assert sum(summary["by_severity"].values()) == 3
    assert summary["by_status"]["waived"] == 1
    assert {f["status"] for f in open_findings({"findings": findings})} == {"new", "persisting", "unknown"}
    report = {"findings": findings, "generated_at": datetime.now(UTC).isoformat()}
    routed = route(report, SinkPolicy(kind="webhook", new_only=False))
    assert {f["status"] for f in routed} == {"new", "persisting", "unknown"}
