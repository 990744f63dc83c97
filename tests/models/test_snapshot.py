"""models/snapshot.py: what an incomplete collection, and so an incomplete snapshot, is (defined once)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.store import worst_state
from models.snapshot import AccountSnapshot, CollectionState, CollectionStatus

TAKEN = datetime(2026, 11, 29, 6, tzinfo=UTC)


def _snapshot(*states: CollectionState) -> AccountSnapshot:
    collections = {f"c{n}": CollectionStatus(state=state) for n, state in enumerate(states)}
    return AccountSnapshot(account_key="a", platform="p", taken_at=TAKEN, collections=collections)


@pytest.mark.parametrize(
    ("state", "incomplete"),
    [
        (CollectionState.COMPLETE, False),
        (CollectionState.NOT_SUPPORTED, False),  # no API: declared data stands in, the audit is not short of it
        (CollectionState.PARTIAL, True),
        (CollectionState.UNAVAILABLE, True),
        (CollectionState.FAILED, True),
    ],
)
def test_one_incomplete_collection_makes_the_snapshot_incomplete(state: CollectionState, incomplete: bool) -> None:
    snapshot = _snapshot(CollectionState.COMPLETE, state)
    assert snapshot.collections["c1"].incomplete is incomplete
    assert snapshot.incomplete is incomplete
    assert bool(snapshot.failed_collections()) is incomplete
    assert (worst_state(snapshot) != "complete") is incomplete
