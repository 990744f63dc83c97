from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.auditor.rules.world import World

RULE = "password-reset-overdue"


@pytest.mark.parametrize(
    ("reset", "age", "overdue"), [(date(2025, 11, 29), 365, False), (date(2025, 11, 28), 366, True)]
)
def test_boundary_at_365_days(world: World, reset: date, age: int, overdue: bool) -> None:
    world.account_is(password_reset_on=reset)

    results = world.run(RULE)

    assert len(results) == int(overdue)
    if overdue:
        assert results[0].evidence["age_days"] == age
        assert results[0].evidence["last_reset"] == reset.isoformat()
        assert results[0].evidence["last_reset_source"] == "declared"


def test_never_recorded_is_overdue(world: World) -> None:
    world.account_is(password_reset_on=None)

    [result] = world.run(RULE)
    assert result.evidence["last_reset"] is None
    assert "no password reset" in result.message


def test_a_newer_observed_password_change_wins(world: World) -> None:
    world.account_is(password_reset_on=date(2024, 1, 1))
    world.snap.password_changed_at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    assert world.run(RULE) == []

    world.snap.password_changed_at = datetime(2023, 3, 1, 12, 0, tzinfo=UTC)  # older: registry wins
    [result] = world.run(RULE)
    assert result.evidence["last_reset_source"] == "declared"


def test_observed_change_alone_is_reported_as_observed(world: World) -> None:
    world.account_is(password_reset_on=None)
    world.snap.password_changed_at = datetime(2025, 1, 1, tzinfo=UTC)

    [result] = world.run(RULE)
    assert result.evidence["last_reset_source"] == "observed"
    assert result.confidence == "certain"


def test_policy_age_applies(world: World) -> None:
    world.policy.password_max_age_days = 30
    world.account_is(password_reset_on=date(2026, 10, 1))

    [result] = world.run(RULE)
    assert result.evidence["max_age_days"] == 30
