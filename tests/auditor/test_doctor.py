"""The doctor's checks are library functions (#16: a thin CLI): a scheduler or a web page can run them
and read the same rows `auditor doctor` prints, without going through the command."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from auditor.doctor import all_checks
from auditor.policy import Policy
from auditor.reconcile import expiry_problem, waiver_state
from auditor.settings import Settings
from connectors.base import CredentialState


@pytest.mark.usefixtures("auditor_env")
def test_the_checks_run_without_the_command(tmp_path: Path) -> None:
    checks = all_checks(tmp_path / "no-such-division", Settings())
    by_area = {check.area: check for check in checks}
    assert by_area["inputs"].state is CredentialState.FAILED
    assert "division folder not found" in by_area["inputs"].detail
    assert by_area["database"].state is CredentialState.OK  # made and migrated on the way
    assert by_area["database"].detail == "reachable; no run yet"
    assert "credentials" not in by_area  # no division: no account whose credentials to try


def test_the_waiver_rules_are_the_policys_not_the_commands() -> None:
    policy = Policy(max_waiver_days=90, waiver_warning_days=14)
    today = date(2026, 11, 30)
    assert expiry_problem(date(2026, 11, 30), policy, today) == "--expires must be in the future"
    too_late = expiry_problem(date(2027, 3, 1), policy, today) or ""
    assert "max_waiver_days (90 days: 2027-02-28 at the latest)" in too_late
    assert expiry_problem(date(2027, 2, 28), policy, today) is None
    assert waiver_state(date(2026, 12, 10), False, today, 14) == "expiring"
    assert waiver_state(date(2027, 1, 30), False, today, 14) == "active"
    assert waiver_state(date(2026, 11, 1), False, today, 14) == "expired"
    assert waiver_state(date(2027, 1, 30), True, today, 14) == "revoked"
