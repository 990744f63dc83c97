"""X connector: each recorded scenario becomes the snapshot a user would see in the report."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import tweepy
import yaml

from auditor.inputs import load_division
from auditor.policy import Policy
from connectors import resilience
from connectors.recording import make_vcr
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline
from connectors.twitter import TwitterConnector, parse
from connectors.twitter.auth import build_client
from connectors.twitter.connector import conversation_queries
from connectors.twitter.errors import classify
from connectors.twitter.settings import XSettings
from models.snapshot import AccountSnapshot, Capability, CollectionState, ErrorKind, Identity
from models.tables import RegisteredAccount
from tests.contexts import context_for
from tests.real_traffic import real_traffic

REPO = Path(__file__).resolve().parents[2]
CASSETTES = REPO / "cassettes" / "twitter"
AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
BEARER = "test-bearer-token-not-real"
PHRD_ID = "2931447021"
GATHERED = (Capability.PARTICIPANTS, Capability.POSTS, Capability.INTERACTIONS)


def registered(key: str, handle: str, platform_id: str | None = None, audience: str = "public") -> RegisteredAccount:
    return RegisteredAccount(
        key=key,
        platform="twitter",
        connector="twitter",
        handle=handle,
        platform_id=platform_id,
        school="Division Office",
        purpose="Division news",
        kind="joint",
        audience=audience,
    )


def division_account(audience: str = "public") -> RegisteredAccount:
    return registered("phrd-x", "@PrairieHillsSD", PHRD_ID, audience)


def pull(
    cassette: str,
    account: RegisteredAccount,
    *,
    policy: Policy | None = None,
    sleeps: list[float] | None = None,
    bearer: str = BEARER,
    cursor: dict[str, str] | None = None,
) -> AccountSnapshot:
    settings = XSettings(X_BEARER_TOKEN=bearer)  # type: ignore[call-arg]
    sleep: Callable[[float], None] = sleeps.append if sleeps is not None else _no_sleep
    context = context_for(
        TwitterConnector,
        settings=settings,
        policy=policy or Policy(),
        as_of=AS_OF,
        deadline=Deadline(3600),
        full=True,
        sleep=sleep,
    )
    with make_vcr(CASSETTES).use_cassette(cassette):
        return TwitterConnector(context).pull(account, cursor or {})


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"the connector waited {seconds} s where no wait was expected")


def state(snapshot: AccountSnapshot, collection: Capability) -> CollectionState:
    status = snapshot.status_of(collection)
    assert status is not None, f"{collection} has no status"
    return status.state


@pytest.fixture(autouse=True)
def _no_account_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"):
        monkeypatch.delenv(name, raising=False)


# --- registration -------------------------------------------------------------------------------


def test_registered_under_twitter_and_x() -> None:
    connectors = ConnectorRegistry.installed()
    assert connectors["twitter"] is TwitterConnector
    assert connectors["x"] is TwitterConnector
    assert Capability.ADMINS not in TwitterConnector.capabilities
    assert "declared" in TwitterConnector.limitations[Capability.ADMINS]


# --- a healthy public account ----------------------------------------------------------------


def test_public_account_two_follower_pages_posts_mentions_and_replies() -> None:
    snapshot = pull("followers_multipage.yaml", division_account())

    assert snapshot.profile is not None
    assert (snapshot.profile.handle, snapshot.profile.closed) == ("PrairieHillsSD", False)
    assert snapshot.profile.counts["followers"] == 5
    assert [p.handle for p in snapshot.participants] == [
        "taxpayer_tom",
        "localnewsdesk",
        "mchen_hhs",
        "jdoe_parent",
        "prairie_weather",
    ]
    assert all(p.platform == "twitter" and p.id for p in snapshot.participants)

    assert [p.hashtags for p in snapshot.posts] == [["#PHRDBoard"], []]
    board = snapshot.posts[0]
    assert board.url == f"https://x.com/PrairieHillsSD/status/{board.id}"
    assert board.author is not None and board.author.id == PHRD_ID

    seen = {(i.kind, i.actor.handle, i.target.handle if i.target else "(the account)") for i in snapshot.interactions}
    assert seen == {
        ("mention", "jdoe_parent", "(the account)"),
        ("mention", "jdoe_parent", "mchen_hhs"),
        ("quote", "localnewsdesk", "(the account)"),
        ("reply", "taxpayer_tom", "(the account)"),
        ("reply", "localnewsdesk", "taxpayer_tom"),
        ("mention", "localnewsdesk", "(the account)"),
    }
    reply = next(i for i in snapshot.interactions if i.kind == "reply" and i.actor.handle == "localnewsdesk")
    assert reply.thread_id == board.id  # the conversation is the division's post
    assert reply.url == f"https://x.com/localnewsdesk/status/{reply.post_id}"
    assert reply.target is not None and reply.target.display_name == "Tom Reiner"

    assert {name: s.state for name, s in snapshot.collections.items()} == {
        "profile": CollectionState.COMPLETE,
        "admins": CollectionState.NOT_SUPPORTED,
        "participants": CollectionState.COMPLETE,
        "posts": CollectionState.COMPLETE,
        "interactions": CollectionState.COMPLETE,
    }
    assert snapshot.requests == {
        "GET /2/users/:id": 1,
        "GET /2/users/:id/followers": 2,
        "GET /2/users/:id/tweets": 1,
        "GET /2/users/:id/mentions": 1,
        "GET /2/tweets/search/recent": 1,
    }
    assert any("7 days" in note for note in snapshot.notes)
    # Only the board post's conversation has replies (its mentions show them): the search asks for it alone.
    assert any("searched the 1 of 2 conversation(s) someone has replied to" in note for note in snapshot.notes)
    assert not any("audience mismatch" in note for note in snapshot.notes)
    # The next nightly run asks only for what is newer than this run's newest post and mention.
    assert snapshot.cursor["since_id"] == board.id
    assert snapshot.cursor["mentions_since_id"] == max((i.post_id or "" for i in snapshot.interactions), key=int)
    assert board.id in snapshot.cursor["conversations"]


def test_page_cap_leaves_followers_partial_and_says_why() -> None:
    snapshot = pull(
        "followers_multipage.yaml", division_account(), policy=Policy(connectors={"twitter": {"page_cap": 1}})
    )

    assert len(snapshot.participants) == 3
    status = snapshot.status_of(Capability.PARTICIPANTS)
    assert status is not None and status.state == CollectionState.PARTIAL
    assert (
        status.reason is not None
        and "3 of 5 followers" in status.reason
        and "connectors.twitter.page_cap" in status.reason
    )
    assert snapshot.requests["GET /2/users/:id/followers"] == 1


def test_registered_closed_but_public_is_reported() -> None:
    snapshot = pull("followers_multipage.yaml", division_account(audience="closed"))

    assert snapshot.profile is not None and snapshot.profile.closed is False
    assert any(note.startswith("audience mismatch: registered closed, observed public") for note in snapshot.notes)


# --- protected accounts ------------------------------------------------------------------------


def test_protected_account_with_owner_token_is_read_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_HHS_CHESS_X_X_USER_TOKEN", "owner-token-not-real")
    account = registered("hhs-chess-x", "@HHSChessClub", "1459920177384452099", audience="closed")

    snapshot = pull("protected_account.yaml", account)

    assert snapshot.profile is not None and snapshot.profile.closed is True
    assert {p.handle for p in snapshot.participants} == {"ethan_t_robotics", "slindqvist_drama"}
    assert [p.hashtags for p in snapshot.posts] == [["#HHSChess"]]
    (reply,) = snapshot.interactions
    assert (reply.kind, reply.actor.handle, reply.target) == ("reply", "ethan_t_robotics", None)
    assert all(state(snapshot, c) == CollectionState.COMPLETE for c in GATHERED)
    assert not any("audience mismatch" in note for note in snapshot.notes)


def test_protected_account_without_owner_token_is_unavailable_not_clean() -> None:
    snapshot = pull("protected_no_token.yaml", registered("hhs-band-x", "@HHSBand", audience="public"))

    assert snapshot.profile is not None and snapshot.profile.closed is True
    assert snapshot.participants == [] and snapshot.posts == [] and snapshot.interactions == []
    for collection in GATHERED:
        status = snapshot.status_of(collection)
        assert status is not None and status.state == CollectionState.UNAVAILABLE
        assert status.error == ErrorKind.PERMISSION
        assert status.reason is not None and "ACCOUNT_HHS_BAND_X_X_USER_TOKEN" in status.reason
    assert snapshot.requests == {"GET /2/users/by/username/:username": 1}  # nothing asked that X would refuse
    assert any(note.startswith("audience mismatch: registered public, observed closed") for note in snapshot.notes)


# --- failures ------------------------------------------------------------------------------------


def test_suspended_account_fails_as_not_found() -> None:
    snapshot = pull("suspended_account.yaml", registered("hhs-spirit-x", "@HHS_Spirit_Old"))

    profile = snapshot.status_of(Capability.PROFILE)
    assert profile is not None and profile.state == CollectionState.FAILED
    assert profile.error == ErrorKind.NOT_FOUND
    assert profile.reason is not None and "User has been suspended: [HHS_Spirit_Old]" in profile.reason
    assert all(state(snapshot, c) == CollectionState.FAILED for c in GATHERED)
    assert snapshot.profile is None
    assert snapshot.requests == {"GET /2/users/by/username/:username": 1}


def test_unauthorized_names_the_variable_to_fix() -> None:
    snapshot = pull("unauthorized.yaml", division_account())

    profile = snapshot.status_of(Capability.PROFILE)
    assert profile is not None and profile.state == CollectionState.FAILED and profile.error == ErrorKind.AUTH
    assert profile.reason is not None and "X_BEARER_TOKEN" in profile.reason
    assert all(state(snapshot, c) == CollectionState.FAILED for c in GATHERED)
    assert snapshot.requests == {"GET /2/users/:id": 1}  # 401 is not retried


def test_followers_outside_access_level_are_unavailable_with_platform_words() -> None:
    snapshot = pull("followers_forbidden.yaml", division_account())

    status = snapshot.status_of(Capability.PARTICIPANTS)
    assert status is not None and status.state == CollectionState.UNAVAILABLE
    assert status.error == ErrorKind.PERMISSION
    assert status.reason is not None
    assert "client-not-enrolled" in status.reason and "Client Forbidden" in status.reason
    assert "developer portal" in status.reason and "manual connector" in status.reason
    assert state(snapshot, Capability.POSTS) == CollectionState.COMPLETE
    assert state(snapshot, Capability.INTERACTIONS) == CollectionState.COMPLETE
    assert snapshot.requests["GET /2/users/:id/followers"] == 1


def test_rate_limit_waits_until_the_reset_header_then_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    class Frozen(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Frozen:  # type: ignore[override]
            return cls.fromtimestamp(AS_OF.timestamp(), UTC)

    monkeypatch.setattr(resilience, "datetime", Frozen)
    sleeps: list[float] = []

    snapshot = pull("rate_limited.yaml", division_account(), sleeps=sleeps)

    # x-rate-limit-reset is AS_OF + 120 s; the layer adds 1 s for clock skew.
    assert sleeps == [121.0]
    assert [p.handle for p in snapshot.participants] == ["taxpayer_tom", "prairie_weather"]
    assert state(snapshot, Capability.PARTICIPANTS) == CollectionState.COMPLETE
    assert snapshot.requests["GET /2/users/:id/followers"] == 2


def test_rate_limit_reset_beyond_the_deadline_is_not_waited_for() -> None:
    sleeps: list[float] = []
    settings = XSettings(X_BEARER_TOKEN=BEARER)  # type: ignore[call-arg]
    context = context_for(
        TwitterConnector,
        settings=settings,
        policy=Policy(),
        as_of=AS_OF,
        deadline=Deadline(0.5),
        full=True,
        sleep=sleeps.append,
    )
    with make_vcr(CASSETTES).use_cassette("rate_limited.yaml", allow_playback_repeats=True):
        snapshot = TwitterConnector(context).pull(division_account(), {})

    status = snapshot.status_of(Capability.PARTICIPANTS)
    assert sleeps == []
    assert status is not None and status.state == CollectionState.FAILED
    assert status.error == ErrorKind.RATE_LIMITED
    assert status.retry_after == datetime.fromtimestamp(AS_OF.timestamp() + 120, UTC)


def test_usage_cap_is_never_retried() -> None:
    snapshot = pull("usage_capped.yaml", division_account())  # _no_sleep fails the test on any wait

    for collection in GATHERED:
        status = snapshot.status_of(collection)
        assert status is not None and status.state == CollectionState.FAILED
        assert status.error == ErrorKind.QUOTA
        assert status.reason is not None and "Usage cap exceeded" in status.reason
    assert snapshot.requests == {
        "GET /2/users/:id": 1,
        "GET /2/users/:id/followers": 1,
        "GET /2/users/:id/tweets": 1,
        "GET /2/users/:id/mentions": 1,
    }


def test_server_error_is_retried_after_backoff() -> None:
    sleeps: list[float] = []

    snapshot = pull("server_error.yaml", division_account(), sleeps=sleeps)

    assert sleeps == [1.0]
    assert snapshot.profile is not None and snapshot.profile.handle == "PrairieHillsSD"
    assert all(
        s.state in (CollectionState.COMPLETE, CollectionState.NOT_SUPPORTED) for s in snapshot.collections.values()
    )
    assert snapshot.requests["GET /2/users/:id"] == 2


def test_handle_change_is_noted_when_looked_up_by_id() -> None:
    snapshot = pull("followers_multipage.yaml", registered("phrd-x", "@PHRD_Schools", PHRD_ID))

    assert "handle changed: registered @PHRD_Schools, observed @PrairieHillsSD" in snapshot.notes


def test_unparseable_answer_is_malformed_not_a_crash() -> None:
    error = requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0)

    assert classify(error).kind == ErrorKind.MALFORMED


def test_failed_run_keeps_the_previous_cursor() -> None:
    cursor = {"since_id": parse.min_snowflake(AS_OF - timedelta(days=2)), "conversations": "1:2026-11-10"}
    context = context_for(
        TwitterConnector,
        settings=XSettings(X_BEARER_TOKEN=BEARER),  # type: ignore[call-arg]
        policy=Policy(),
        as_of=AS_OF,
        deadline=Deadline(60),
        sleep=_no_sleep,
    )
    with make_vcr(CASSETTES).use_cassette("unauthorized.yaml"):
        snapshot = TwitterConnector(context).pull(division_account(), cursor)

    assert snapshot.cursor == cursor  # the next run does not lose what this one could not read


def test_no_credentials_fails_every_collection_with_the_fix() -> None:
    settings = XSettings(X_BEARER_TOKEN=None)  # type: ignore[call-arg]
    context = context_for(TwitterConnector, settings=settings, policy=Policy(), as_of=AS_OF, deadline=Deadline(60))

    snapshot = TwitterConnector(context).pull(division_account(), {})

    for collection in (Capability.PROFILE, *GATHERED):
        status = snapshot.status_of(collection)
        assert status is not None and status.error == ErrorKind.AUTH
        assert status.reason is not None and "X_BEARER_TOKEN" in status.reason
    assert snapshot.requests == {}


# --- secrets --------------------------------------------------------------------------------------


def test_token_never_reaches_logs_errors_or_snapshot(caplog: pytest.LogCaptureFixture) -> None:
    canary = "CANARYxTOKENx7Hq2LmP9zzW"
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="tweepy.client")

    healthy = pull("followers_multipage.yaml", division_account(), bearer=canary)
    refused = pull("unauthorized.yaml", division_account(), bearer=canary)

    assert "Making API request" in caplog.text  # tweepy's DEBUG lines (with the headers) were emitted
    assert "Bearer REDACTED" in caplog.text
    assert canary not in caplog.text
    for snapshot in (healthy, refused):
        assert canary not in snapshot.model_dump_json()
    assert all(canary not in (s.reason or "") for s in refused.collections.values())


# --- incremental runs -----------------------------------------------------------------------------


def test_nightly_run_asks_only_for_what_is_new() -> None:
    first = pull("followers_multipage.yaml", division_account())
    asked: dict[str, dict[str, list[str]]] = {}

    def spy(sent: Any, recorded: Any) -> None:
        asked[urlsplit(sent.uri).path] = parse_qs(urlsplit(sent.uri).query)

    recorder = make_vcr(CASSETTES, match_on=("method", "path", "spy"))
    recorder.register_matcher("spy", spy)
    # The account posted since (its post count moved), so the timeline is asked for what is new.
    cursor = dict(
        first.cursor,
        tweet_count="1872",
        replies_since_id=parse.min_snowflake(datetime(2026, 11, 1, tzinfo=UTC)),
    )
    context = context_for(
        TwitterConnector,
        settings=XSettings(X_BEARER_TOKEN=BEARER),  # type: ignore[call-arg]
        policy=Policy(),
        as_of=AS_OF,
        deadline=Deadline(60),
        sleep=_no_sleep,
    )
    with recorder.use_cassette("followers_multipage.yaml"):
        TwitterConnector(context).pull(division_account(), cursor)

    timeline = asked[f"/2/users/{PHRD_ID}/tweets"]
    assert timeline["since_id"] == [first.cursor["since_id"]] and "start_time" not in timeline
    assert asked[f"/2/users/{PHRD_ID}/mentions"]["since_id"] == [first.cursor["mentions_since_id"]]
    search = asked["/2/tweets/search/recent"]
    # Conversations of earlier posts that someone replied to are still searched for new replies (only
    # they can hold a reply that does not name the account), the others not ...
    answered = first.cursor["answered_conversations"].split()
    assert answered and all(f"conversation_id:{c}" in search["query"][0] for c in answered)
    assert all(f"conversation_id:{p.id}" not in search["query"][0] for p in first.posts if p.id not in answered)
    # ... but a since_id older than recent search's 7 days would be refused by X, so it is dropped.
    assert "since_id" not in search


def test_full_run_ignores_the_cursor() -> None:
    newer = {"since_id": parse.min_snowflake(AS_OF - timedelta(days=1)), "mentions_since_id": "1"}

    # full=True: the cassette holds the start_time requests; a since_id request would find no recording.
    snapshot = pull("followers_multipage.yaml", division_account(), cursor=newer)

    assert snapshot.failed_collections() == {}
    assert len(snapshot.posts) == 2 and snapshot.cursor["since_id"] == snapshot.posts[0].id


def test_conversation_queries_stay_within_xs_query_limit() -> None:
    ids = [str(10**18 + n) for n in range(40)]

    queries = conversation_queries(ids)

    assert all(len(q) <= 512 for q in queries) and len(queries) > 1
    assert sum(q.count("conversation_id:") for q in queries) == 40


# --- the demo division ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["hhs-news-x", "hhs-robotics-x"])
def test_demo_x_accounts_audit_completely(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_HHS_ROBOTICS_X_X_USER_TOKEN", "demo-placeholder-token")
    division = load_division(REPO / "auditor" / "demo")
    account = next(a for a in division.accounts if a.key == key)
    context = context_for(
        TwitterConnector,
        settings=XSettings(X_BEARER_TOKEN="demo-placeholder-token"),  # type: ignore[call-arg]
        policy=division.policy,
        as_of=AS_OF,
        deadline=Deadline(60),
        full=True,
        sleep=_no_sleep,
    )
    with make_vcr(REPO / "cassettes" / "demo").use_cassette(f"{key}.yaml"):
        snapshot = TwitterConnector(context).pull(account, {})

    assert account.platform == "twitter"  # `platform: x` in the registry is the same connector
    assert snapshot.failed_collections() == {}
    assert not any("audience mismatch" in note for note in snapshot.notes)
    if key == "hhs-robotics-x":
        assert snapshot.profile is not None and snapshot.profile.closed is True
        assert "gearhead_dan88" in {p.handle for p in snapshot.participants}  # not in the directory
        pairs = {(i.kind, i.actor.handle, i.target.handle if i.target else None) for i in snapshot.interactions}
        assert ("reply", "coach_bergeron", "ava_k_07") in pairs  # staff to student, not a club sponsor
        assert ("reply", "mr_okafor", "ethan_t_robotics") in pairs  # the club's sponsor


# --- the real recordings -------------------------------------------------------------------------

REAL_X = real_traffic("x")
needs_real_traffic = pytest.mark.skipif(
    not REAL_X.is_dir(), reason=f"real X recordings not found at {REAL_X} (developer reference set absent)"
)

Call = Callable[[Any, "re.Match[str]"], Any]
# Each v2 endpoint in the recordings: how tweepy calls it, and whether its `data` is users or posts.
ENDPOINTS: list[tuple[str, str, Call]] = [
    (r"/2/users/by/username/(\w+)", "users", lambda c, m: c.get_user(username=m[1])),
    (r"/2/users/by", "users", lambda c, m: c.get_users(usernames=["Twitter", "TwitterDev"])),
    (r"/2/users/me", "users", lambda c, m: c.get_me()),
    (r"/2/users/(\d+)/followers", "users", lambda c, m: c.get_users_followers(m[1])),
    (r"/2/users/(\d+)/following", "users", lambda c, m: c.get_users_following(m[1])),
    (r"/2/users/(\d+)/tweets", "tweets", lambda c, m: c.get_users_tweets(m[1])),
    (r"/2/users/(\d+)/mentions", "tweets", lambda c, m: c.get_users_mentions(m[1])),
    (r"/2/tweets", "tweets", lambda c, m: c.get_tweets(ids=["1293593516040269825", "1293595870563381249"])),
    (r"/2/tweets/search/recent", "tweets", lambda c, m: c.search_recent_tweets("Tweepy")),
    (r"/2/tweets/(\d+)/liking_users", "users", lambda c, m: c.get_liking_users(m[1])),
    (r"/2/lists/(\d+)/members", "users", lambda c, m: c.get_list_members(m[1])),
]
# Bodies stored without a request: the endpoint each one answers.
BODY_PATHS = {
    "pytw_user_with_public_metrics.json": "/2/users/by/username/TwitterDev",
    "pytw_users_lookup.json": "/2/users/by",
    "pytw_followers_with_expansion.json": "/2/users/2244994945/followers",
    "pytw_user_tweets_with_metrics.json": "/2/users/2244994945/tweets",
    "pytw_mentions_with_metrics.json": "/2/users/2244994945/mentions",
    "pytw_tweets_with_author_expansion.json": "/2/tweets",
    "pytw_usage_tweets.json": None,  # /2/usage/tweets: project usage, no users or posts (tweepy has no method)
    "pytw_error_invalid_request.json": "/2/tweets/search/recent",  # an HTTP 400 problem body
}


def _real_v2_cassettes() -> list[Path]:
    if not REAL_X.is_dir():
        return []
    return sorted(p for p in REAL_X.glob("tweepy_*.yaml") if "_v1_" not in p.name and "ORIGINAL_GZIP" not in p.name)


def _endpoint(path: str) -> tuple[str, Call, re.Match[str]]:
    for pattern, kind, call in ENDPOINTS:
        match = re.fullmatch(pattern, path)
        if match:
            return kind, call, match
    raise AssertionError(f"no tweepy call known for {path}: add it to ENDPOINTS")


def _replay(cassette_dir: Path, name: str, path: str) -> dict[str, Any]:
    _, call, match = _endpoint(path)
    client = build_client(
        bearer_token=BEARER, consumer_key="ck", consumer_secret="cs", access_token="at", access_token_secret="ats"
    )
    with make_vcr(cassette_dir, match_on=("method", "path")).use_cassette(name):
        body = call(client, match)
    assert isinstance(body, dict)
    return body


def _assert_parsed(body: dict[str, Any], recorded: dict[str, Any], kind: str) -> None:
    data = recorded.get("data")
    items = data if isinstance(data, list) else [data] if data else []
    users = parse.users_in(body)
    tweets = parse.tweets_in(body)
    assert (len(users), len(tweets)) == ((len(items), 0) if kind == "users" else (0, len(items)))
    assert all(u.id and u.handle for u in users)
    index = parse.UserIndex()
    index.add_body(body)
    includes = recorded.get("includes", {})
    assert len(index.by_id) == len(includes.get("users", []))
    for tweet in tweets:  # every post normalises to a Post and its interactions without error
        author = index.user(tweet.get("author_id")) or Identity(platform="twitter", id="0")
        assert parse.post_of(tweet, author).url
        parse.interactions_of(tweet, index, account_id="783214")


@needs_real_traffic
@pytest.mark.parametrize("cassette", _real_v2_cassettes(), ids=lambda p: p.name)
def test_real_v2_recordings_parse_to_the_recorded_counts(cassette: Path) -> None:
    recording = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    (exchange,) = recording["interactions"]
    path = urlsplit(exchange["request"]["uri"]).path
    kind, _, _ = _endpoint(path)

    body = _replay(cassette.parent, cassette.name, path)

    _assert_parsed(body, json.loads(exchange["response"]["body"]["string"]), kind)


@needs_real_traffic
@pytest.mark.parametrize("name", sorted(BODY_PATHS))
def test_real_v2_bodies_parse_to_the_recorded_counts(name: str, tmp_path: Path) -> None:
    text = (REAL_X / name).read_text(encoding="utf-8")
    recorded = json.loads(text)
    path = BODY_PATHS[name]
    if path is None:
        assert parse.users_in(recorded) == [] and parse.tweets_in(recorded) == []
        return
    error = "errors" in recorded and "data" not in recorded
    status = {"code": 400, "message": "Bad Request"} if error else {"code": 200, "message": "OK"}
    content_type = "application/problem+json" if error else "application/json; charset=utf-8"
    cassette = {
        "version": 1,
        "interactions": [
            {
                "request": {"body": None, "headers": {}, "method": "GET", "uri": f"https://api.twitter.com{path}"},
                "response": {"body": {"string": text}, "headers": {"content-type": [content_type]}, "status": status},
            }
        ],
    }
    (tmp_path / "body.yaml").write_text(yaml.safe_dump(cassette), encoding="utf-8")

    if error:
        with pytest.raises(tweepy.BadRequest) as raised:
            _replay(tmp_path, "body.yaml", path)
        classified = classify(raised.value)
        assert classified.kind == ErrorKind.BAD_REQUEST and "Invalid Request" in classified.detail
        return
    kind, _, _ = _endpoint(path)
    _assert_parsed(_replay(tmp_path, "body.yaml", path), recorded, kind)


def test_every_real_recording_is_covered() -> None:
    if not REAL_X.is_dir():
        pytest.skip(f"real X recordings not found at {REAL_X}")
    bodies = {p.name for p in REAL_X.glob("pytw_*.json")}
    assert bodies == set(BODY_PATHS), "a new body in the reference set needs an endpoint in BODY_PATHS"
    assert len(_real_v2_cassettes()) >= 11
