"""X connector, incremental runs: counts before lists, new followers only, full reconciliation, estimates."""

from __future__ import annotations

import os
from datetime import timedelta
from unittest.mock import patch

from auditor.merge import carry_forward
from auditor.policy import Policy
from auditor.store import StoredParticipants
from connectors.base import ConnectorContext, KnownParticipants
from connectors.recording import make_vcr
from connectors.resilience import Deadline
from connectors.twitter import TwitterConnector, parse
from connectors.twitter.connector import (
    EP_FOLLOWERS,
    EP_MENTIONS,
    EP_SEARCH,
    EP_TWEETS,
    EP_USER,
    EP_USERS,
    XPrefetch,
    reconciliation_due,
)
from connectors.twitter.settings import XSettings
from models.snapshot import AccountSnapshot, Capability, CollectionState, CollectionStatus, Identity, Profile
from tests.connectors.test_twitter import AS_OF, BEARER, CASSETTES, _no_sleep, division_account
from tests.contexts import context_for

# The five followers of followers_multipage.yaml, as the previous snapshot stored them.
KNOWN = {
    "1501184455321219073": "taxpayer_tom",
    "1287744519283040256": "localnewsdesk",
    "883209174": "mchen_hhs",
    "1622310298847555584": "jdoe_parent",
    "1398401122766041089": "prairie_weather",
}


def known_identities(extra: dict[str, str] | None = None) -> list[Identity]:
    return [Identity(platform="twitter", id=i, handle=h) for i, h in {**KNOWN, **(extra or {})}.items()]


# The delta tests read a public account's new followers every night, as policy "nightly" asks.
NIGHTLY = Policy(connectors={"twitter": {"public_follower_lists": "nightly"}})


def context(
    *,
    full: bool = False,
    known: list[Identity] | None = None,
    policy: Policy | None = None,
    prefetched: XPrefetch | None = None,
) -> ConnectorContext:
    keys = KnownParticipants({p.key for p in known}) if known is not None else None
    return context_for(
        TwitterConnector,
        settings=XSettings(X_BEARER_TOKEN=BEARER),  # type: ignore[call-arg]
        policy=policy or NIGHTLY,
        as_of=AS_OF,
        deadline=Deadline(60),
        full=full,
        sleep=_no_sleep,
        known_participants=(lambda key: keys) if known is not None else None,
        prefetched=prefetched,
    )


def nightly_cursor(**changes: str) -> dict[str, str]:
    cursor = {
        "full_reconciled_at": (AS_OF - timedelta(days=3)).isoformat(),
        "followers_count": "5",
        "tweet_count": "1873",
        "since_id": parse.min_snowflake(AS_OF - timedelta(days=2)),
        "mentions_since_id": parse.min_snowflake(AS_OF - timedelta(days=1)),
    }
    return {**cursor, **changes}


def test_nightly_run_lists_followers_newest_first_and_stops_at_the_first_known_one() -> None:
    with make_vcr(CASSETTES).use_cassette("followers_incremental.yaml"):  # 3 recordings: anything else fails
        snapshot = TwitterConnector(context(known=known_identities())).pull(division_account(), nightly_cursor())

    assert [p.handle for p in snapshot.participants] == ["priya_r_hhs", "hhs_boosters"]
    assert snapshot.participants_delta is True
    # One small follower page, no second page although X offered one; no timeline (post count unchanged).
    assert snapshot.requests == {EP_USER: 1, EP_FOLLOWERS: 1, EP_MENTIONS: 1}
    assert snapshot.billable["follower"] == 5  # X bills every follower the page returned
    assert snapshot.status_of(Capability.PARTICIPANTS).state == CollectionState.COMPLETE  # type: ignore[union-attr]
    assert snapshot.cursor["followers_count"] == "7"
    assert snapshot.cursor["full_reconciled_at"] == nightly_cursor()["full_reconciled_at"]  # not a full listing
    assert any("2 new since the previous run" in note for note in snapshot.notes)

    # The run adds the stored list: rules see all seven followers.
    stored = StoredParticipants(
        known_identities(), CollectionStatus(state=CollectionState.COMPLETE), AS_OF - timedelta(days=1)
    )
    carry_forward(None, snapshot, AS_OF - timedelta(days=30), lambda: stored)
    assert len(snapshot.participants) == 7 and snapshot.participants_delta is False


def test_a_public_accounts_followers_wait_for_its_full_listing_by_default() -> None:
    # Anyone may follow a public account: the rule reports only a count, so between full listings the
    # default policy reads no follower page, even though X reports two more followers than last time.
    with make_vcr(CASSETTES).use_cassette("followers_incremental.yaml", allow_playback_repeats=True):
        snapshot = TwitterConnector(context(known=known_identities(), policy=Policy())).pull(
            division_account(), nightly_cursor()
        )

    assert EP_FOLLOWERS not in snapshot.requests and "follower" not in snapshot.billable
    assert snapshot.participants == [] and snapshot.participants_delta is True  # the run keeps the stored list
    assert snapshot.status_of(Capability.PARTICIPANTS).state == CollectionState.COMPLETE  # type: ignore[union-attr]
    assert snapshot.cursor["followers_count"] == "5"  # still the count of the stored list
    note = next(n for n in snapshot.notes if n.startswith("followers: public account"))
    listed = AS_OF - timedelta(days=3)
    assert f"({listed:%Y-%m-%d}: 5 followers; X now reports 7)" in note
    assert f"listed again by {listed + timedelta(days=30):%Y-%m-%d}" in note


def test_a_protected_account_gets_its_new_followers_every_night_by_default() -> None:
    # X shows the account protected (its owner's token reads it): its followers are a participant list the
    # school controls, so new ones are read every night whatever public_follower_lists says.
    profile = {
        "id": "2931447021",
        "username": "PrairieHillsSD",
        "name": "Prairie Hills School Division",
        "protected": True,
        "public_metrics": {"followers_count": 7, "following_count": 210, "tweet_count": 1873, "listed_count": 12},
    }
    owner = {"ACCOUNT_PHRD_X_X_USER_TOKEN": "owner-user-token-placeholder"}
    pulling = TwitterConnector(context(known=known_identities(), policy=Policy(), prefetched=XPrefetch(profile)))
    replaying = make_vcr(CASSETTES).use_cassette("followers_incremental.yaml", allow_playback_repeats=True)
    with replaying, patch.dict(os.environ, owner):
        snapshot = pulling.pull(division_account("closed"), nightly_cursor())

    assert [p.handle for p in snapshot.participants] == ["priya_r_hhs", "hhs_boosters"]
    assert snapshot.requests == {EP_FOLLOWERS: 1, EP_MENTIONS: 1}
    assert snapshot.cursor["followers_count"] == "7"


def test_unchanged_counts_read_no_list_at_all() -> None:
    # Only the profile and the mentions since the cursor: a cassette with followers or timeline would be unused.
    cursor = nightly_cursor(followers_count="7")
    with make_vcr(CASSETTES).use_cassette("followers_incremental.yaml", allow_playback_repeats=True) as cassette:
        snapshot = TwitterConnector(context(known=known_identities())).pull(division_account(), cursor)

    assert snapshot.requests == {EP_USER: 1, EP_MENTIONS: 1}
    assert snapshot.participants == [] and snapshot.participants_delta is True
    assert cassette.play_count == 2


def test_merging_a_delta_without_a_stored_list_is_partial_not_complete() -> None:
    snapshot = AccountSnapshot(account_key="phrd-x", platform="twitter", taken_at=AS_OF, participants_delta=True)
    snapshot.collections["participants"] = CollectionStatus(state=CollectionState.COMPLETE)

    carry_forward(None, snapshot, AS_OF - timedelta(days=30), lambda: None)

    status = snapshot.status_of(Capability.PARTICIPANTS)
    assert status is not None and status.state == CollectionState.PARTIAL
    assert "auditor run --full" in (status.reason or "")


def test_full_reconciliation_after_n_days_finds_departures() -> None:
    departed = {"1600000000000000001": "moved_away_mia"}
    policy = Policy(full_reconcile_days=30, connectors={"twitter": {"public_follower_lists": "nightly"}})
    cursor = nightly_cursor(full_reconciled_at=(AS_OF - timedelta(days=30)).isoformat(), followers_count="5")
    cursor.pop("since_id"), cursor.pop("mentions_since_id")  # the recordings ask for the whole window
    with make_vcr(CASSETTES).use_cassette("followers_multipage.yaml"):
        snapshot = TwitterConnector(context(known=known_identities(departed), policy=policy)).pull(
            division_account(), cursor
        )

    assert snapshot.participants_delta is False  # the whole list: the run replaces the stored one
    assert {p.handle for p in snapshot.participants} == set(KNOWN.values())
    assert "moved_away_mia" not in {p.handle for p in snapshot.participants}
    assert snapshot.requests[EP_FOLLOWERS] == 2
    assert snapshot.cursor["full_reconciled_at"] == AS_OF.isoformat()
    note = next(n for n in snapshot.notes if n.startswith("followers: full listing"))
    assert "0 new and 1 left" in note and "full_reconcile_days 30" in note


def test_a_reconciliation_not_yet_due_lists_only_new_followers() -> None:
    cursor = nightly_cursor(full_reconciled_at=(AS_OF - timedelta(days=29)).isoformat())
    with make_vcr(CASSETTES).use_cassette("followers_incremental.yaml"):
        policy = Policy(full_reconcile_days=30, connectors={"twitter": {"public_follower_lists": "nightly"}})
        snapshot = TwitterConnector(context(known=known_identities(), policy=policy)).pull(division_account(), cursor)

    assert snapshot.participants_delta is True and snapshot.requests[EP_FOLLOWERS] == 1


def test_batched_lookup_reads_every_profile_in_one_request_per_hundred() -> None:
    connector = TwitterConnector(context())
    accounts = [division_account()] * 150

    estimate = connector.estimate_prefetch(accounts, {})

    assert estimate.requests == {EP_USERS: 2}


def test_estimate_of_a_full_run_from_the_previous_counts() -> None:
    previous = AccountSnapshot(account_key="phrd-x", platform="twitter", taken_at=AS_OF - timedelta(days=1))
    previous.profile = Profile(id="2931447021", handle="PrairieHillsSD", counts={"followers": 4_500, "tweet": 10})
    day = (AS_OF - timedelta(days=3)).date().isoformat()
    cursor = {"conversations": " ".join(f"{10**18 + n}:{day}" for n in range(20))}

    estimate = TwitterConnector(context(full=True)).estimate(division_account(), cursor, previous)

    assert estimate.requests == {EP_USER: 1, EP_FOLLOWERS: 5, EP_TWEETS: 1, EP_MENTIONS: 1, EP_SEARCH: 2}
    assert estimate.billable["follower"] == 4_500


def test_full_listings_spread_over_the_cycle_after_the_first_run() -> None:
    """X allows 15 follower requests per 15 minutes: 300 accounts must not all be re-listed the same night."""
    first_run = AS_OF
    last = dict.fromkeys((f"acct-{n:04d}" for n in range(300)), first_run)
    per_night = []
    for night in range(1, 61):
        now = first_run + timedelta(days=night)
        due = [
            key
            for key, listed in last.items()
            if reconciliation_due(
                key, {"full_reconciled_at": listed.isoformat(), "followers_count": "1"}, now, 30, full=False
            )
        ]
        for key in due:
            last[key] = now
        per_night.append(len(due))

    assert max(per_night) <= 25  # about 10 a night, never all 300 on one night
    assert all(count > 0 for count in per_night)
    assert all(first_run + timedelta(days=60) - listed <= timedelta(days=30) for listed in last.values())


def test_a_follower_stored_under_another_form_is_still_known() -> None:
    """The store may keep people outside the directory as a keyed hash: they still stop the listing."""

    def hashed(identity: Identity) -> Identity:
        return Identity(platform=identity.platform, id=f"hmac:{identity.id}")

    tom = Identity(platform="twitter", id="1501184455321219073", handle="taxpayer_tom")
    known = KnownParticipants({hashed(tom).key}, stored_as=hashed)

    assert tom in known and len(known) == 1
    assert Identity(platform="twitter", id="42", handle="newcomer") not in known


def test_many_new_followers_behind_a_small_change_are_read_in_growing_pages() -> None:
    # 23 joined and 22 left: the count moved by one, so the first page is small; the next doubles.
    with make_vcr(CASSETTES).use_cassette("followers_incremental_busy.yaml"):
        snapshot = TwitterConnector(context(known=known_identities())).pull(division_account(), nightly_cursor())

    assert len(snapshot.participants) == 23 and "taxpayer_tom" not in {p.handle for p in snapshot.participants}
    assert snapshot.requests == {EP_USER: 1, EP_FOLLOWERS: 2, EP_MENTIONS: 1}
    assert snapshot.billable["follower"] == 20 + 5
    assert snapshot.cursor["followers_count"] == "6"
