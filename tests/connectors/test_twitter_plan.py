"""X connector: the pull and the dry-run estimate follow one fetch plan (connectors/twitter/plan.py).

Each case pulls a recorded account once, as a first run, then asks the estimate of the next run and
replays that run from the same cassette: what the estimate said the run would call is what it called.
"""

from __future__ import annotations

import pytest

from auditor.policy import Policy
from connectors.base import KnownParticipants
from connectors.recording import make_vcr
from connectors.resilience import Deadline
from connectors.twitter import TwitterConnector
from connectors.twitter.endpoints import EP_FOLLOWERS, EP_SEARCH, EP_TWEETS, EP_USER, EP_USER_BY_NAME
from connectors.twitter.plan import MentionsRead
from connectors.twitter.settings import XSettings
from models.snapshot import Identity
from models.tables import RegisteredAccount
from tests.connectors.test_twitter import AS_OF, BEARER, CASSETTES, _no_sleep, division_account, pull, registered
from tests.contexts import context_for


def connector(*, full: bool, known: list[Identity] | None = None) -> TwitterConnector:
    stored = KnownParticipants({p.key for p in known}) if known is not None else None
    context = context_for(
        TwitterConnector,
        settings=XSettings(X_BEARER_TOKEN=BEARER),  # type: ignore[call-arg]
        policy=Policy(),
        as_of=AS_OF,
        deadline=Deadline(60),
        full=full,
        sleep=_no_sleep,
        known_participants=lambda key: stored,  # the store holds the first run's followers
    )
    return TwitterConnector(context)


CASES = [
    # cassette, account, full run, what the second run's cursor changes, endpoints it calls
    (
        "followers_multipage.yaml",
        division_account(),
        True,
        {},
        {EP_USER, EP_FOLLOWERS, EP_TWEETS, "mentions", EP_SEARCH},
    ),
    # Nightly: the public account's followers wait for their full listing; the post count moved.
    (
        "followers_multipage.yaml",
        division_account(),
        False,
        {"tweet_count": "1872"},
        {EP_USER, EP_TWEETS, "mentions", EP_SEARCH},
    ),
    (
        "discovery_school_account.yaml",
        registered("hhs-news-x", "@HillsideHS_News"),
        True,
        {},
        {EP_USER_BY_NAME, EP_FOLLOWERS, EP_TWEETS, "mentions", EP_SEARCH},
    ),
]


@pytest.mark.parametrize(
    ("cassette", "account", "full", "change", "expected"), CASES, ids=["full", "nightly", "full-by-username"]
)
def test_the_estimate_names_the_endpoints_a_replayed_pull_of_the_same_plan_calls(
    cassette: str, account: RegisteredAccount, full: bool, change: dict[str, str], expected: set[str]
) -> None:
    first = pull(cassette, account)
    cursor = {**first.cursor, **change}
    x = connector(full=full, known=first.participants)

    estimate = x.estimate(account, cursor, first)
    # A full run asks what the first run asked; a nightly run asks with since_id where the recording has
    # start_time, so it is matched on the path (each recording still plays once).
    recorder = make_vcr(CASSETTES) if full else make_vcr(CASSETTES, match_on=("method", "path"))
    with recorder.use_cassette(cassette):
        again = x.pull(account, dict(cursor))

    assert again.failed_collections() == {}
    assert set(estimate.requests) == set(again.requests)
    expected = {e if e != "mentions" else "GET /2/users/:id/mentions" for e in expected}
    assert set(again.requests) == expected


def test_the_plan_is_what_the_estimate_and_the_pull_read() -> None:
    first = pull("followers_multipage.yaml", division_account())
    nightly = connector(full=False).plan(division_account(), first.cursor)
    full = connector(full=True).plan(division_account(), first.cursor)

    # A nightly run starts from the cursor and keeps a public account's followers until their listing ...
    assert nightly.posts_window == {"since_id": first.cursor["since_id"]}
    assert nightly.reconciliation is None and nightly.followers_kept(closed=False)
    assert not nightly.mentions_whole_window and nightly.mentions_read is MentionsRead.OWN
    # ... a full run ignores the cursor and lists every follower.
    assert full.cursor == {} and full.reconciliation == "full run"
    assert "start_time" in full.posts_window and full.mentions_whole_window
    # Announced batched reads: the profile comes from the batched lookup, not from a request of its own.
    assert connector(full=True).plan(division_account(), {}, prefetched=True).profile_endpoint is None
    assert full.profile_endpoint == EP_USER
