"""Merge stage: complete this run's pull with what the store already holds of the account.

An incremental pull asks only for what is new since the cursor: posts and interactions still inside
the look-back window, and the participant list, come back from the previous snapshot, so the rules
see the whole picture and a finding is never mistaken for resolved. A connector's complete listing
is dated here as the account's full reconciliation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from auditor.store import StoredParticipants, latest_participants
from connectors.base import KnownParticipants
from models.db import session
from models.snapshot import AccountSnapshot, Capability, CollectionState, CollectionStatus, Identity, Interaction

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from auditor.context import RunContext


def merge(
    ctx: RunContext, previous: AccountSnapshot | None, snapshot: AccountSnapshot, earlier: PreviousParticipants
) -> None:
    """The merge stage's entry: `snapshot` (this run's pull) completed in place with the previous one."""
    policy, as_of = ctx.policy, ctx.as_of
    carry_forward(previous, snapshot, as_of - timedelta(days=policy.lookback_days), earlier.load, earlier.stored_as)
    earlier.forget()
    mark_full_listing(snapshot)


def carry_forward(
    previous: AccountSnapshot | None,
    snapshot: AccountSnapshot,
    window_start: datetime,
    stored_participants: Callable[[], StoredParticipants | None] | None = None,
    stored_as: Callable[[Identity], Identity] | None = None,
) -> None:
    """Complete an incremental pull with what the store already holds, so rules see the whole picture.

    - Posts and interactions: the pull asked only for what is new since the cursor; the previous
      snapshot's ones still inside the look-back window are added back, so a finding about last
      week's post is not mistaken for resolved.
    - Participants: a pull that listed only new participants (`participants_delta`) gets the previous
      participant list added; who left is found at the connector's next full listing. `stored_as`
      is how the store keeps an identity (keyed hash of an outsider), so nobody is held twice.
    """
    if previous is not None and snapshot.usable(Capability.POSTS):
        known = {p.id for p in snapshot.posts}
        snapshot.posts += [p for p in previous.posts if p.id not in known and _within(p.created_at, window_start)]
    if previous is not None and snapshot.usable(Capability.INTERACTIONS):
        seen = {_interaction_key(i) for i in snapshot.interactions}
        snapshot.interactions += [
            i for i in previous.interactions if _interaction_key(i) not in seen and _within(i.created_at, window_start)
        ]
    if snapshot.participants_delta and snapshot.usable(Capability.PARTICIPANTS):
        _merge_participants(snapshot, stored_participants() if stored_participants else None, stored_as)


def _merge_participants(
    snapshot: AccountSnapshot, stored: StoredParticipants | None, stored_as: Callable[[Identity], Identity] | None
) -> None:
    new = len(snapshot.participants)
    if stored is None:
        snapshot.collections[Capability.PARTICIPANTS.value] = CollectionStatus(
            state=CollectionState.PARTIAL,
            reason=f"only the {new} participant(s) new since the previous run: the previous list is not in the "
            "store; run `auditor run --full` to list everyone",
        )
        return  # stays a delta: never used as the base of a later merge
    listed = {p.key for p in snapshot.participants}
    if stored_as is not None:
        listed |= {stored_as(p).key for p in snapshot.participants}
    snapshot.participants += [p for p in stored.identities if p.key not in listed]
    snapshot.participants_delta = False
    if stored.status.state == CollectionState.PARTIAL:
        snapshot.collections[Capability.PARTICIPANTS.value] = CollectionStatus(
            state=CollectionState.PARTIAL,
            reason=f"{new} new participant(s) added to a list that was partial: {stored.status.reason}",
        )


FULL_LISTING_KEY = "full_reconciled_at"  # cursor key; the report's coverage[].last_full_reconciliation


def mark_full_listing(snapshot: AccountSnapshot) -> None:
    """A connector that lists every participant each run (a channel's subscribers, an ITS export) does not
    keep a reconciliation date itself: its complete listing is one, dated this run."""
    status = snapshot.status_of(Capability.PARTICIPANTS)
    complete = status is not None and status.state == CollectionState.COMPLETE
    if complete and not snapshot.participants_delta and FULL_LISTING_KEY not in snapshot.cursor:
        snapshot.cursor[FULL_LISTING_KEY] = snapshot.taken_at.isoformat()


class PreviousParticipants:
    """The account's stored participant list, read at most once per pull and only when asked for."""

    def __init__(
        self, engine: Engine, account_key: str, stored_as: Callable[[Identity], Identity] | None = None
    ) -> None:
        self.engine = engine
        self.account_key = account_key
        self.stored_as = stored_as
        self._loaded = False
        self._stored: StoredParticipants | None = None

    def load(self) -> StoredParticipants | None:
        if not self._loaded:
            with session(self.engine) as db:
                self._stored = latest_participants(db, self.account_key)
            self._loaded = True
        return self._stored

    def keys(self, account_key: str) -> KnownParticipants | None:
        stored = self.load() if account_key == self.account_key else None
        if stored is None:
            return None
        return KnownParticipants({p.key for p in stored.identities}, self.stored_as)

    def forget(self) -> None:
        self._stored = None  # memory stays bounded: one account's list at a time per worker


def _within(when: datetime | None, window_start: datetime) -> bool:
    if when is None:
        return False
    return (when if when.tzinfo else when.replace(tzinfo=UTC)) >= window_start


def _interaction_key(interaction: Interaction) -> tuple[str | None, ...]:
    return (interaction.kind, interaction.url, interaction.actor.key, interaction.post_id, str(interaction.created_at))
