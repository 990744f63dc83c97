"""When an account's participants were last listed in full (the report's last_full_reconciliation)."""

from __future__ import annotations

from datetime import UTC, datetime

from auditor.merge import mark_full_listing
from models.snapshot import AccountSnapshot, CollectionState, CollectionStatus

TAKEN = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def snapshot(state: CollectionState, *, delta: bool = False, cursor: dict[str, str] | None = None) -> AccountSnapshot:
    shot = AccountSnapshot(
        account_key="hhs-media-yt", platform="youtube", taken_at=TAKEN, participants_delta=delta, cursor=cursor or {}
    )
    shot.collections["participants"] = CollectionStatus(state=state)
    return shot


def test_a_complete_listing_by_a_connector_that_always_lists_everyone_is_a_full_reconciliation() -> None:
    shot = snapshot(CollectionState.COMPLETE)
    mark_full_listing(shot)
    assert shot.cursor["full_reconciled_at"] == TAKEN.isoformat()


def test_partial_delta_or_connector_dated_listings_keep_their_date() -> None:
    partial = snapshot(CollectionState.PARTIAL)
    delta = snapshot(CollectionState.COMPLETE, delta=True)
    dated = snapshot(CollectionState.COMPLETE, cursor={"full_reconciled_at": "2026-11-01T06:00:00+00:00"})
    for shot in (partial, delta, dated):
        mark_full_listing(shot)
    assert "full_reconciled_at" not in partial.cursor and "full_reconciled_at" not in delta.cursor
    assert dated.cursor["full_reconciled_at"] == "2026-11-01T06:00:00+00:00"
