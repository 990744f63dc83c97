from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models.snapshot import Capability
from tests.auditor.rules.world import World

RULE = "password-not-reset-after-departure"


@pytest.mark.parametrize(
    ("left", "flagged"),
    [(date(2026, 8, 31), False), (date(2026, 9, 1), False), (date(2026, 9, 2), True)],
)
def test_departure_before_on_or_after_the_last_reset(world: World, left: date, flagged: bool) -> None:
    world.account_is(password_reset_on=date(2026, 9, 1), holders=["E1"])
    world.person("E1", departed=left)

    results = world.run(RULE)

    assert len(results) == int(flagged)
    if flagged:
        assert results[0].subject == "E1"
        assert results[0].evidence["departure_date"] == left.isoformat()
        assert results[0].evidence["last_reset"] == "2026-09-01"
        assert results[0].evidence["access"] == ["holder"]


def test_future_departure_is_not_yet_a_finding(world: World) -> None:
    world.account_is(password_reset_on=date(2026, 9, 1), declared_admins=["E1"])
    world.person("E1", departed=date(2026, 12, 31))

    assert world.run(RULE) == []


def test_observed_admin_who_left(world: World) -> None:
    world.admin(world.known("E3", departed=date(2026, 10, 15)))

    [result] = world.run(RULE)
    assert result.evidence["access"] == ["observed admin"]
    assert result.confidence == "certain"


def test_a_password_change_observed_after_the_departure_clears_it(world: World) -> None:
    world.account_is(password_reset_on=date(2026, 1, 1), declared_admins=["E1"])
    world.person("E1", departed=date(2026, 6, 30))
    world.without(Capability.ADMINS)
    assert len(world.run(RULE)) == 1

    world.snap.password_changed_at = datetime(2026, 7, 2, tzinfo=UTC)
    assert world.run(RULE) == []


def test_only_staff_and_only_joint_accounts(world: World) -> None:
    world.account_is(password_reset_on=date(2026, 1, 1), holders=["S1", "E1"])
    world.person("S1", role="student", departed=date(2026, 6, 30))
    world.person("E1", departed=date(2026, 6, 30))
    assert [r.subject for r in world.run(RULE)] == ["E1"]

    world.account_is(kind="individual")
    assert world.run(RULE) == []


def test_never_reset_and_departure_without_a_date(world: World) -> None:
    world.account_is(password_reset_on=None, holders=["E1"])
    world.person("E1", status="departed")

    [result] = world.run(RULE)
    assert "unrecorded date" in result.message
    assert "never recorded" in result.message
