from __future__ import annotations

from datetime import UTC, date, datetime

from tests.auditor.rules.world import ACCOUNT_ID, World

RULE = "departed-staff-account-active"


def test_active_individual_account_of_departed_holder(world: World) -> None:
    world.account_is(kind="individual", holders=["E4"])
    world.person("E4", departed=date(2026, 6, 30))
    world.post("old", "p1", created_at=datetime(2026, 5, 1, tzinfo=UTC))
    world.post("newest", "p2", created_at=datetime(2026, 10, 3, tzinfo=UTC))
    world.post("by a visitor", "p3", author=world.stranger("visitor"), created_at=datetime(2026, 11, 1, tzinfo=UTC))

    [result] = world.run(RULE)

    assert result.subject == "E4"
    assert result.evidence["departure_date"] == "2026-06-30"
    assert result.evidence["last_activity_seen"] == "2026-10-03T00:00:00+00:00"


def test_the_accounts_own_reply_is_activity(world: World) -> None:
    world.account_is(kind="individual", holders=["E4"])
    world.person("E4", departed=date(2026, 6, 30))
    me = world.identity("hillsidehigh", platform_id=ACCOUNT_ID)
    world.interaction(me, None, "thanks!", created_at=datetime(2026, 11, 2, tzinfo=UTC))

    [result] = world.run(RULE)
    assert result.evidence["last_activity_seen"] == "2026-11-02T00:00:00+00:00"


def test_passes_when_holder_active_account_disabled_or_joint(world: World) -> None:
    world.account_is(kind="individual", holders=["E4"])
    world.person("E4")
    assert world.run(RULE) == []

    world.person("E4", departed=date(2026, 6, 30))
    world.account_is(status="disabled")
    assert world.run(RULE) == []

    world.account_is(status="active", kind="joint")
    assert world.run(RULE) == []


def test_departure_after_the_run_date_is_not_yet_a_finding(world: World) -> None:
    world.account_is(kind="individual", holders=["E4"])
    world.person("E4", departed=date(2026, 11, 30))

    assert world.run(RULE) == []


def test_no_snapshot_still_reports_with_unknown_activity(world: World) -> None:
    world.account_is(kind="individual", holders=["E4"])
    world.person("E4", departed=date(2026, 6, 30))
    world.snapshot = None

    [result] = world.run(RULE)
    assert result.evidence["last_activity_seen"] is None
