from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.snapshot import Capability, CollectionState, ErrorKind
from tests.auditor.rules.world import World

RULE = "audit-incomplete"


def test_complete_snapshot_passes(world: World) -> None:
    assert world.run(RULE) == []


def test_not_supported_is_not_incomplete(world: World) -> None:
    world.without(Capability.ADMINS)
    assert world.run(RULE) == []


@pytest.mark.parametrize("state", [CollectionState.FAILED, CollectionState.PARTIAL, CollectionState.UNAVAILABLE])
def test_each_gap_state_is_reported_with_error_and_retry(world: World, state: CollectionState) -> None:
    retry = datetime(2026, 11, 29, 2, 15, tzinfo=UTC)
    world.collection(
        Capability.PARTICIPANTS,
        state,
        reason="rate limited: 15 requests per 15 minutes",
        error=ErrorKind.RATE_LIMITED,
        retry_after=retry,
    )

    [result] = world.run(RULE)

    assert result.subject == "coverage"
    assert result.evidence["collections"] == [
        {
            "collection": "participants",
            "state": state.value,
            "error": "rate-limited",
            "reason": "rate limited: 15 requests per 15 minutes",
            "retry_after": "2026-11-29T02:15:00+00:00",
        }
    ]


def test_one_finding_lists_every_gap(world: World) -> None:
    world.collection(Capability.ADMINS, CollectionState.FAILED, error=ErrorKind.AUTH, reason="token expired")
    world.collection(Capability.POSTS, CollectionState.PARTIAL, reason="page cap reached")

    [result] = world.run(RULE)
    assert [g["collection"] for g in result.evidence["collections"]] == ["admins", "posts"]


def test_no_snapshot_at_all(world: World) -> None:
    world.snapshot = None

    [result] = world.run(RULE)
    assert result.subject == "coverage"
    assert "no snapshot" in result.evidence["note"]


def test_a_capability_without_a_recorded_outcome_is_a_gap(world: World) -> None:
    del world.snap.collections["interactions"]

    [result] = world.run(RULE)
    assert result.evidence["collections"][0]["state"] == "not-reported"
