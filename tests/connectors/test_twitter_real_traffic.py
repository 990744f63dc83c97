"""The X connector against every real X recording in ../shared/reference/real-traffic/x/.

Each recorded body is served (read-only, as recorded, with its recorded headers where a cassette has
them) to the request of the connector that asks for it, replayed through vcrpy matching on method and
path only. Real bodies lack what the hand-built cassettes always carry: tweepy's recordings asked for
no fields, so their posts have no `author_id`, `created_at`, `entities` or `includes`. Where a
recording has a `next_token` whose page was never recorded, the test serves the empty last page X
sends (`{"meta": {"result_count": 0}}`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.merge import carry_forward
from auditor.policy import Policy
from connectors.base import ConnectorContext, CredentialState, SnapshotBuilder
from connectors.recording import make_vcr
from connectors.resilience import Deadline
from connectors.scrub import forget_secrets
from connectors.twitter import TwitterConnector, parse
from connectors.twitter.connector import QUOTES_UNSEEN
from connectors.twitter.errors import partial_error
from connectors.twitter.settings import XSettings
from models.snapshot import AccountSnapshot, Capability, CollectionState, CollectionStatus, ErrorKind
from models.tables import RegisteredAccount
from tests.contexts import context_for
from tests.real_traffic import real_traffic

REAL_X = real_traffic("x")
API = "https://api.twitter.com"
AS_OF = datetime(2026, 11, 15, 6, tzinfo=UTC)
EVERYTHING = Policy(lookback_days=36500)  # the recordings are from 2019-2022
LAST_PAGE: dict[str, Any] = {"meta": {"result_count": 0}}  # what X sends for an empty page
TWITTER = "783214"  # @Twitter, the account of tweepy's recordings
TWITTER_DEV = "2244994945"  # @TwitterDev, the account of python-twitter's bodies

# Recordings of requests the connector never makes, and why.
NOT_REQUESTED = {
    "README.md": "the provenance table, not a recording",
    "tweepy_get_liking_users.yaml": "likes carry no text and name no one: no AP 80-06 rule reads them",
    "tweepy_get_list_members.yaml": "X lists are not an account's participants (its followers are)",
    "tweepy_get_users_following.yaml": "whom the account follows is not a rule input",
    "tweepy_get_tweets_by_ids.yaml": "the connector never looks posts up by id (see docs/performance.md)",
    "tweepy_get_users_followers.ORIGINAL_GZIP.yaml": (
        "the same exchange as tweepy_get_users_followers.yaml, kept gzip-encoded to show the urllib3-2 replay problem"
    ),
    "tweepy_v1_followers_list.yaml": "API v1.1: the connector speaks v2 only",
    "tweepy_v1_mentions_timeline.yaml": "API v1.1: the connector speaks v2 only",
    "tweepy_v1_rate_limit_status.yaml": "API v1.1: the connector reads x-rate-limit-* headers instead",
    "v1_error_63_user_suspended.json": "API v1.1: v2 says suspended with resource-not-found (cassettes/twitter)",
    "pytw_usage_tweets.json": "GET /2/usage/tweets: the run counts what X bills itself (snapshot.billable)",
}


pytestmark = pytest.mark.skipif(
    not REAL_X.is_dir(), reason=f"the shared reference recordings are not checked out beside the repo ({REAL_X})"
)

Response = tuple[str, int, Any, dict[str, list[str]]]  # path, status, body, headers


def body(name: str) -> Any:
    return json.loads((REAL_X / name).read_text(encoding="utf-8"))


def exchange(name: str) -> Response:
    """The one exchange of a tweepy cassette, with its recorded status and headers."""
    (recorded,) = yaml.safe_load((REAL_X / name).read_text(encoding="utf-8"))["interactions"]
    path = recorded["request"]["uri"].removeprefix(API).split("?")[0]
    response = recorded["response"]
    return path, response["status"]["code"], json.loads(response["body"]["string"]), response["headers"]


def served(path: str, data: Any, status: int = 200, headers: dict[str, list[str]] | None = None) -> Response:
    return path, status, data, headers or {"content-type": ["application/json; charset=utf-8"]}


def pages(path: str, first: Any) -> list[Response]:
    return [served(path, first), served(path, LAST_PAGE)]


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    for name in ("X_CONSUMER_KEY", "X_CONSUMER_SECRET"):
        monkeypatch.delenv(name, raising=False)
    yield
    forget_secrets()


def cassette(tmp_path: Path, responses: list[Response]) -> None:
    interactions = [
        {
            "request": {"body": None, "headers": {}, "method": "GET", "uri": API + path},
            "response": {
                "status": {"code": status, "message": "recorded"},
                "headers": headers,
                "body": {"string": data if isinstance(data, str) else json.dumps(data)},
            },
        }
        for path, status, data, headers in responses
    ]
    (tmp_path / "real.yaml").write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))


def context(sleeps: list[float]) -> ConnectorContext:
    settings = XSettings(X_BEARER_TOKEN="replay-placeholder-token")  # type: ignore[call-arg]
    return context_for(
        TwitterConnector,
        settings=settings,
        policy=EVERYTHING,
        as_of=AS_OF,
        deadline=Deadline(3600),
        full=True,
        sleep=sleeps.append,
    )


def account(handle: str, platform_id: str | None = None) -> RegisteredAccount:
    return RegisteredAccount(
        key=handle.lower() + "-x", platform="twitter", connector="twitter", handle=f"@{handle}",
        platform_id=platform_id, school="-", purpose="-", kind="joint", audience="public",
    )  # fmt: skip


def replay(tmp_path: Path, who: RegisteredAccount, responses: list[Response]) -> tuple[AccountSnapshot, bool]:
    cassette(tmp_path, responses)
    sleeps: list[float] = []
    with make_vcr(tmp_path, match_on=("method", "path")).use_cassette("real.yaml") as recording:
        snapshot = TwitterConnector(context(sleeps)).pull(who, {})
        return snapshot, recording.all_played


def state(snapshot: AccountSnapshot, collection: Capability) -> CollectionStatus:
    status = snapshot.status_of(collection)
    assert status is not None
    return status


# --- an account from tweepy's recordings: posts with id and text only --------------------------------


def tweepy_responses() -> list[Response]:
    profile = exchange("tweepy_get_user_by_username.yaml")
    followers = exchange("tweepy_get_users_followers.yaml")
    tweets = exchange("tweepy_get_users_tweets.yaml")
    mentions = exchange("tweepy_get_users_mentions.yaml")
    search = exchange("tweepy_search_recent_tweets.yaml")
    return [
        profile,
        followers,
        served(followers[0], LAST_PAGE),
        tweets,
        served(tweets[0], LAST_PAGE),
        mentions,
        served(mentions[0], LAST_PAGE),
        search,  # the one search of the account's 2 conversations
        served(search[0], LAST_PAGE),
    ]


def test_tweepy_recordings_mentions_and_replies_without_author_are_counted_partial(tmp_path: Path) -> None:
    responses = tweepy_responses()
    snapshot, all_played = replay(tmp_path, account("Twitter"), responses)

    assert all_played
    assert snapshot.profile is not None and snapshot.profile.id == TWITTER
    followers = [u["id"] for u in responses[1][2]["data"]]
    assert [p.id for p in snapshot.participants] == followers
    # 10 mentions and 10 search results, none with `author_id`: not one is silently dropped.
    without_author = {t["id"] for r in (responses[5], responses[7]) for t in r[2]["data"]}
    assert len(without_author) == 20
    interactions = state(snapshot, Capability.INTERACTIONS)
    assert interactions.state == CollectionState.PARTIAL
    assert interactions.reason is not None and "20 mention(s) or reply(ies) came without `author_id`" in (
        interactions.reason
    )
    # ... and the next run asks for them again.
    assert "mentions_since_id" not in snapshot.cursor and "replies_since_id" not in snapshot.cursor


def test_tweepy_recordings_posts_without_created_at_get_their_id_time_and_are_carried_forward(
    tmp_path: Path,
) -> None:
    responses = tweepy_responses()
    snapshot, _ = replay(tmp_path, account("Twitter"), responses)

    recorded = [t["id"] for t in responses[3][2]["data"]]
    assert [p.id for p in snapshot.posts] == recorded
    assert [p.created_at for p in snapshot.posts] == [parse.snowflake_time(i) for i in recorded]
    assert state(snapshot, Capability.POSTS).state == CollectionState.COMPLETE

    # The next nightly run read nothing new: the run keeps the previous snapshot's posts in the window.
    tonight = AccountSnapshot(account_key=snapshot.account_key, platform="twitter", taken_at=AS_OF)
    tonight.collections[str(Capability.POSTS)] = CollectionStatus(state=CollectionState.COMPLETE)
    carry_forward(snapshot, tonight, parse.snowflake_time(recorded[-1]))
    assert [p.id for p in tonight.posts] == recorded


# --- an account from python-twitter's bodies: fields asked for, but no author_id -------------------------


def test_python_twitter_bodies_read_in_full_and_billed_as_x_bills_them(tmp_path: Path) -> None:
    followers = body("pytw_followers_with_expansion.json")
    tweets = body("pytw_user_tweets_with_metrics.json")
    mentions = body("pytw_mentions_with_metrics.json")
    responses = [
        served(f"/2/users/{TWITTER_DEV}", body("pytw_user_with_public_metrics.json")),
        *pages(f"/2/users/{TWITTER_DEV}/followers", followers),
        *pages(f"/2/users/{TWITTER_DEV}/tweets", tweets),
        *pages(f"/2/users/{TWITTER_DEV}/mentions", mentions),
        served("/2/tweets/search/recent", LAST_PAGE),  # the 5 posts' conversations: one query, no replies
    ]
    snapshot, all_played = replay(tmp_path, account("TwitterDev", TWITTER_DEV), responses)

    assert all_played
    assert snapshot.profile is not None and snapshot.profile.counts["followers"] == 514020
    assert [p.id for p in snapshot.participants] == [u["id"] for u in followers["data"]]
    assert [(p.id, p.created_at) for p in snapshot.posts] == [
        (t["id"], parse.parse_time(t["created_at"])) for t in tweets["data"]
    ]
    interactions = state(snapshot, Capability.INTERACTIONS)
    assert interactions.state == CollectionState.PARTIAL
    assert f"{len(mentions['data'])} mention(s) or reply(ies) came without `author_id`" in str(interactions.reason)
    # X bills each returned resource: 5 followers, the pinned post they include, 5 posts, 5 mentions.
    assert snapshot.billable == {"user": 1, "follower": 5, "post": 1 + 5 + 5}


def test_a_mention_page_with_authors_and_errors_beside_data_is_read_and_says_what_x_left_out(
    tmp_path: Path,
) -> None:
    """python-twitter's tweets body (posts with `author_id`, `includes.users`, no `entities`) as a mentions
    page, with the `errors` X sends beside `data` for a referenced post it withholds (the recorded error)."""
    with_authors = body("pytw_tweets_with_author_expansion.json")
    refused = body("tweets_lookup_200_errors_not_authorized.json")
    page = {**with_authors, "errors": refused["errors"]}
    responses = [
        exchange("tweepy_get_user_by_username.yaml"),
        served(f"/2/users/{TWITTER}/followers", LAST_PAGE),
        served(f"/2/users/{TWITTER}/tweets", LAST_PAGE),
        served(f"/2/users/{TWITTER}/mentions", page),  # no `meta.next_token`: the only page
    ]
    snapshot, all_played = replay(tmp_path, account("Twitter"), responses)

    assert all_played
    interactions = state(snapshot, Capability.INTERACTIONS)
    assert interactions.state == CollectionState.COMPLETE
    # @TwitterDev's post names three people in its text only (no `entities`): each is a mention.
    assert sorted((i.actor.handle, i.target.handle if i.target else None) for i in snapshot.interactions) == [
        ("TwitterDev", "MongoDB"),
        ("TwitterDev", "Twitch"),
        ("TwitterDev", "suhemparack"),
    ]
    assert all(i.created_at == parse.parse_time(with_authors["data"][0]["created_at"]) for i in snapshot.interactions)
    assert "X left out 1 resource(s) its answers referred to: Authorization Error (tweet)" in snapshot.notes
    assert partial_error(refused, protected_fix="fix") is not None  # alone (no `data`), it is the answer's error


def test_quotes_without_a_mention_are_said_to_be_unseen_in_coverage(tmp_path: Path) -> None:
    responses = [
        exchange("tweepy_get_user_by_username.yaml"),
        served(f"/2/users/{TWITTER}/followers", LAST_PAGE),
        served(f"/2/users/{TWITTER}/tweets", LAST_PAGE),
        served(f"/2/users/{TWITTER}/mentions", LAST_PAGE),
    ]
    snapshot, _ = replay(tmp_path, account("Twitter"), responses)

    interactions = state(snapshot, Capability.INTERACTIONS)
    assert interactions.state == CollectionState.COMPLETE
    assert interactions.reason == QUOTES_UNSEEN and "not seen" in QUOTES_UNSEEN
    assert "quote_tweets" not in json.dumps(snapshot.requests)


# --- lookups of many users ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tweepy_get_users_by_usernames.yaml", "pytw_users_lookup.json"])
def test_user_lookup_recordings_give_profiles(tmp_path: Path, name: str) -> None:
    answer = exchange(name) if name.endswith(".yaml") else served("/2/users/by", body(name))
    cassette(tmp_path, [answer])
    connector = TwitterConnector(context([]))
    builder = SnapshotBuilder(account("Twitter"), "twitter", AS_OF)
    with make_vcr(tmp_path, match_on=("method", "path")).use_cassette("real.yaml"):
        found = connector.lookup_accounts(["@Twitter", "@TwitterDev"], builder)

    assert sorted((f.handle, f.profile.id if f.profile else None) for f in found) == [
        ("Twitter", TWITTER),
        ("TwitterDev", TWITTER_DEV),
    ]
    assert builder.snapshot.billable == {"user": 2}


def test_get_me_recording_proves_an_owner_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = account("TweepyDev", "1072250532645998596")
    monkeypatch.setenv("X_CONSUMER_KEY", "replay-consumer-key")
    monkeypatch.setenv("X_CONSUMER_SECRET", "replay-consumer-secret")
    monkeypatch.setenv("ACCOUNT_TWEEPYDEV_X_X_ACCESS_TOKEN", "replay-access-token")
    monkeypatch.setenv("ACCOUNT_TWEEPYDEV_X_X_ACCESS_TOKEN_SECRET", "replay-access-secret")
    cassette(tmp_path, [exchange("tweepy_get_me.yaml")])
    with make_vcr(tmp_path, match_on=("method", "path")).use_cassette("real.yaml"):
        (check,) = TwitterConnector(context([])).check_credentials([owner])

    assert check.state == CredentialState.OK and check.detail == "acts as @TweepyDev"


# --- X's error bodies -------------------------------------------------------------------------------------


def _headers(name: str) -> dict[str, list[str]]:
    pairs = (line.split(":", 1) for line in (REAL_X / name).read_text(encoding="utf-8").splitlines() if ":" in line)
    return {"content-type": ["application/json"], **{k.strip(): [v.strip()] for k, v in pairs}}


def _error_responses(path: str, status: int, name: str, headers: dict[str, list[str]] | None = None) -> list[Response]:
    """A healthy empty account whose request to `path` X answered with the recorded error body."""
    problem = served(path, (REAL_X / name).read_text(encoding="utf-8"), status, headers)
    healthy = [
        exchange("tweepy_get_user_by_username.yaml"),
        served(f"/2/users/{TWITTER}/followers", LAST_PAGE),
        served(f"/2/users/{TWITTER}/tweets", LAST_PAGE),
        served(f"/2/users/{TWITTER}/mentions", LAST_PAGE),
    ]
    return [problem if r[0] == path else r for r in healthy]


def test_401_fails_every_collection_naming_the_variable(tmp_path: Path) -> None:
    responses = _error_responses("/2/users/by/username/Twitter", 401, "error_401_unauthorized.json")
    snapshot, _ = replay(tmp_path, account("Twitter"), responses[:1])
    profile = state(snapshot, Capability.PROFILE)
    assert (profile.state, profile.error) == (CollectionState.FAILED, ErrorKind.AUTH)
    assert "Unauthorized" in str(profile.reason) and "X_BEARER_TOKEN" in str(profile.reason)
    assert all(state(snapshot, c).state == CollectionState.FAILED for c in (Capability.POSTS, Capability.INTERACTIONS))


def test_403_client_not_enrolled_leaves_followers_unavailable_and_reads_the_rest(tmp_path: Path) -> None:
    path = f"/2/users/{TWITTER}/followers"
    name = "error_403_client_not_enrolled_standard_basic.json"
    snapshot, all_played = replay(tmp_path, account("Twitter"), _error_responses(path, 403, name))
    assert all_played
    participants = state(snapshot, Capability.PARTICIPANTS)
    assert (participants.state, participants.error) == (CollectionState.UNAVAILABLE, ErrorKind.PERMISSION)
    assert "Standard Basic" in str(participants.reason)
    assert state(snapshot, Capability.POSTS).state == CollectionState.COMPLETE


def test_429_usage_capped_is_a_quota_never_waited_for(tmp_path: Path) -> None:
    path = f"/2/users/{TWITTER}/followers"
    headers = _headers("error_429_usage_capped.headers.txt")
    responses = _error_responses(path, 429, "error_429_usage_capped.json", headers)
    cassette(tmp_path, responses)
    sleeps: list[float] = []
    with make_vcr(tmp_path, match_on=("method", "path")).use_cassette("real.yaml"):
        snapshot = TwitterConnector(context(sleeps)).pull(account("Twitter"), {})
    participants = state(snapshot, Capability.PARTICIPANTS)
    assert (participants.state, participants.error) == (CollectionState.FAILED, ErrorKind.QUOTA)
    assert "Usage cap exceeded" in str(participants.reason) and sleeps == []


def test_429_too_many_requests_is_retried(tmp_path: Path) -> None:
    path = f"/2/users/{TWITTER}/mentions"
    responses = _error_responses(path, 429, "error_429_too_many_requests.json")
    responses.append(served(path, LAST_PAGE))  # the retry
    cassette(tmp_path, responses)
    sleeps: list[float] = []
    with make_vcr(tmp_path, match_on=("method", "path")).use_cassette("real.yaml") as recording:
        snapshot = TwitterConnector(context(sleeps)).pull(account("Twitter"), {})
        assert recording.all_played
    assert len(sleeps) == 1  # no x-rate-limit-reset was recorded: the shared backoff
    assert state(snapshot, Capability.INTERACTIONS).state == CollectionState.COMPLETE


def test_400_invalid_request_fails_the_search_with_xs_words(tmp_path: Path) -> None:
    tweets = exchange("tweepy_get_users_tweets.yaml")
    responses = [
        exchange("tweepy_get_user_by_username.yaml"),
        served(f"/2/users/{TWITTER}/followers", LAST_PAGE),
        tweets,
        served(tweets[0], LAST_PAGE),
        # Mentions X sent without author: they cannot show which conversations have replies, so every
        # conversation is searched (an empty page of mentions would show that none has replies).
        mentions := exchange("tweepy_get_users_mentions.yaml"),
        served(mentions[0], LAST_PAGE),
        served("/2/tweets/search/recent", (REAL_X / "pytw_error_invalid_request.json").read_text(), 400),
    ]
    snapshot, all_played = replay(tmp_path, account("Twitter"), responses)
    assert all_played
    interactions = state(snapshot, Capability.INTERACTIONS)
    assert (interactions.state, interactions.error) == (CollectionState.FAILED, ErrorKind.BAD_REQUEST)
    assert "Invalid Request" in str(interactions.reason)


# --- every recording is served above, or says why not ----------------------------------------------------

COVERED = {
    "tweepy_get_user_by_username.yaml",
    "tweepy_get_users_followers.yaml",
    "tweepy_get_users_tweets.yaml",
    "tweepy_get_users_mentions.yaml",
    "tweepy_search_recent_tweets.yaml",
    "tweepy_get_users_by_usernames.yaml",
    "tweepy_get_me.yaml",
    "pytw_user_with_public_metrics.json",
    "pytw_followers_with_expansion.json",
    "pytw_user_tweets_with_metrics.json",
    "pytw_mentions_with_metrics.json",
    "pytw_tweets_with_author_expansion.json",
    "pytw_users_lookup.json",
    "pytw_error_invalid_request.json",
    "tweets_lookup_200_errors_not_authorized.json",
    "error_401_unauthorized.json",
    "error_403_client_not_enrolled_standard_basic.json",
    "error_429_usage_capped.json",
    "error_429_usage_capped.headers.txt",
    "error_429_too_many_requests.json",
}


def test_every_recording_is_covered_or_says_why_not() -> None:
    assert not COVERED & set(NOT_REQUESTED)
    assert {p.name for p in REAL_X.iterdir()} == COVERED | set(NOT_REQUESTED)
    source = Path(__file__).read_text(encoding="utf-8").split("COVERED = {")[0]
    assert all(f'"{name}"' in source for name in COVERED), "a covered recording must be served by a test"
