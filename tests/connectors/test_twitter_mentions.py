"""X mentions of many accounts in one recent search (nightly runs): batching, sharing out, fallbacks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from auditor import collect
from auditor.inputs import Division
from auditor.policy import Policy
from auditor.run import execute_run
from auditor.settings import Settings
from auditor.spend import estimate_run
from auditor.store import latest_content, latest_cursor
from bench.collection_bench import registry
from bench.fake_x import FakeX, FakeXServer
from connectors.registry import ConnectorRegistry
from connectors.twitter import mentions, parse, replies
from connectors.twitter.connector import EP_MENTIONS, EP_SEARCH, TwitterConnector
from connectors.twitter.prefetch import XPrefetch
from models.db import init_db, make_engine, session
from models.snapshot import Identity
from tests.fakeplatform import serving_fake_x

AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
NIGHT = AS_OF + timedelta(days=1)


def searchable(index: int, since: datetime = AS_OF, name: str | None = None) -> mentions.Searchable:
    return mentions.Searchable(f"acct-{index}", name or f"sch{index:04d}_news", str(1000 + index), since)


# --- batching and sharing out ------------------------------------------------------------------


def test_batches_fit_xs_query_limit_and_hold_every_account_once() -> None:
    accounts = [searchable(i, AS_OF - timedelta(minutes=i)) for i in range(300)]

    found = mentions.batches(accounts)

    assert all(len(batch.query) <= mentions.QUERY_LIMIT for batch in found)
    assert sorted(a.key for b in found for a in b.accounts) == sorted(a.key for a in accounts)
    assert len(found) == 10  # " OR @sch0000_news" is 17 characters: 30 handles a query, not 300 requests
    assert found[0].query.startswith("@sch0299_news OR @sch0298_news")  # those read up to earliest first


def test_a_batch_starts_at_its_earliest_account_less_the_index_margin() -> None:
    batch = mentions.Batch([searchable(1, AS_OF), searchable(2, AS_OF - timedelta(hours=3))])

    assert batch.start_time == AS_OF - timedelta(hours=3) - mentions.CHECK_MARGIN


def tweet(tweet_id: int, author: str, named: list[tuple[str, str]], **extra: object) -> dict[str, object]:
    """A post as recent search returns it (X API v2 field names)."""
    return {
        "id": str(tweet_id),
        "text": " ".join(f"@{name}" for name, _ in named) + " see you at the game",
        "author_id": author,
        "created_at": parse.snowflake_time(str(tweet_id)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conversation_id": str(tweet_id),
        "entities": {
            "mentions": [{"start": 0, "end": len(name) + 1, "username": name, "id": user_id} for name, user_id in named]
        },
        **extra,
    }


def test_each_account_gets_the_posts_that_name_it_and_only_their_users() -> None:
    hills, valley = searchable(1, name="HillsHigh"), searchable(2, name="ValleyElem")
    new = int(parse.min_snowflake(AS_OF + timedelta(hours=2)))
    old = int(parse.min_snowflake(AS_OF - timedelta(hours=2)))
    body = {
        "data": [
            tweet(new + 3, "501", [("hillshigh", "1001")]),  # handle case differs: X usernames are case-blind
            tweet(new + 2, "502", [("ValleyElem", "1002"), ("HillsHigh", "1001")]),
            tweet(old, "503", [("ValleyElem", "1002")]),  # before what valley had read (less the margin)
        ],
        "includes": {
            "users": [
                {"id": "501", "name": "Sam Smith", "username": "sam_s"},
                {"id": "502", "name": "Ava Chen", "username": "ava_c"},
                {"id": "503", "name": "Omar Patel", "username": "omar_p"},
            ]
        },
        "meta": {"result_count": 3, "newest_id": str(new + 3), "oldest_id": str(old)},
    }

    shares = mentions.distribute(mentions.Batch([hills, valley]), [body])

    assert [t["id"] for t in shares["acct-1"].data] == [str(new + 3), str(new + 2)]
    assert [t["id"] for t in shares["acct-2"].data] == [str(new + 2)]
    assert set(shares["acct-1"].users) == {"501", "502"}
    assert set(shares["acct-2"].users) == {"502"}  # Omar's post was not shared out, nor is Omar


def test_search_posts_whose_mentions_lack_ids_or_entities_still_reach_their_account() -> None:
    """Real search bodies: a mention in `entities` may carry only its username, and a body answered
    without the `entities` field (tweepy's recording of a search) names people in its text only."""
    hills = searchable(1, name="HillsHigh")
    new = int(parse.min_snowflake(AS_OF + timedelta(hours=2)))
    username_only = tweet(new + 2, "501", [("ValleyElem", "1002")])
    username_only["entities"] = {"mentions": [{"start": 0, "end": 10, "username": "HillsHigh"}]}
    text_only = {"id": str(new + 1), "text": "@hillshigh @ava_c great game", "author_id": "502"}
    body = {
        "data": [username_only, text_only],
        "includes": {
            "users": [
                {"id": "501", "name": "Sam Smith", "username": "sam_s"},
                {"id": "502", "name": "Omar Patel", "username": "omar_p"},
                {"id": "503", "name": "Ava Chen", "username": "ava_c"},
                {"id": "504", "name": "Not named", "username": "someone_else"},
            ]
        },
    }

    (share,) = mentions.distribute(mentions.Batch([hills]), [body]).values()

    assert [t["id"] for t in share.data] == [str(new + 2), str(new + 1)]
    assert set(share.users) == {"501", "502", "503"}  # Ava by her handle: her id came in `includes` only
    index = parse.UserIndex()
    index.add_body(share.body())
    index.add(Identity(platform="twitter", id=hills.user_id, handle=hills.username))  # as a pull knows itself
    found = parse.interactions_of(text_only, index, account_id=hills.user_id)
    assert [(i.kind, i.target and i.target.id) for i in found] == [("mention", None), ("mention", "503")]


def test_a_shared_search_serves_only_accounts_read_within_its_seven_days() -> None:
    window_start = AS_OF - timedelta(days=30)
    yesterday = parse.min_snowflake(AS_OF - timedelta(days=1))
    eight_days = parse.min_snowflake(AS_OF - timedelta(days=8))

    assert mentions.search_since(yesterday, None, AS_OF, window_start) == parse.snowflake_time(yesterday)
    assert mentions.search_since(eight_days, None, AS_OF, window_start) is None  # its own timeline instead
    checked = (AS_OF - timedelta(hours=20)).isoformat()  # nobody mentioned it for 8 days, but it was read
    assert mentions.search_since(eight_days, checked, AS_OF, window_start) == AS_OF - timedelta(hours=20)
    assert mentions.search_since(None, None, AS_OF, window_start) is None


# --- end to end: the real pipeline against the fake X on loopback ---------------------------------


@pytest.fixture
def fake_x(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeX, FakeXServer]]:
    world = FakeX(seed=5)
    for index in range(4):
        account = world.add_account(index, 30)
        world.post(account, AS_OF - timedelta(days=2), replies=1)
        world.mention(account, AS_OF - timedelta(days=3))
    with serving_fake_x(world, tmp_path, monkeypatch) as server:
        yield world, server


def mentioned_posts(key: str) -> set[str]:
    with session(make_engine(Settings().database_url)) as db:
        content = latest_content(db, key)
    assert content is not None
    return {i.post_id or "" for i in content.interactions}  # mentions, and replies (which name the account)


def after_a_full_run(world: FakeX) -> tuple[Division, Engine]:
    """The world's accounts as a division, and a store holding their first (full) run."""
    division = Division(Path("."), registry(world), [], [], [], Policy(approved_platforms=["twitter"]))
    engine = make_engine(Settings().database_url)
    init_db(engine)
    execute_run(division, Settings(), full=True, as_of=AS_OF, engine=engine)
    return division, engine


def test_a_nightly_run_reads_every_accounts_mentions_in_one_search(fake_x: tuple[FakeX, FakeXServer]) -> None:
    world, server = fake_x
    first, second, third, fourth = world.accounts.values()
    division, engine = after_a_full_run(world)
    assert server.requests[EP_MENTIONS] == 4  # a full run reads each account's 30-day window itself

    tonight = [world.mention(first, NIGHT - timedelta(hours=3)), world.mention(third, NIGHT - timedelta(hours=2))]
    server.reset()
    predicted = estimate_run(
        division.accounts, ConnectorRegistry.installed(), Settings(), division.policy, NIGHT, False, engine
    ).by_platform["twitter"]
    execute_run(division, Settings(), full=False, as_of=NIGHT, engine=engine)

    assert server.requests[EP_MENTIONS] == 0
    # One search for the four accounts' mentions, one for the replies in their four conversations.
    assert server.requests[EP_SEARCH] == 2
    assert predicted.requests.get(EP_MENTIONS, 0) == 0 and predicted.requests[EP_SEARCH] == 2
    assert str(tonight[0].id) in mentioned_posts("acct-0000")
    assert str(tonight[1].id) in mentioned_posts("acct-0002")
    assert str(tonight[0].id) not in mentioned_posts("acct-0002")
    assert {str(t.id) for t in second.mentions + fourth.mentions} <= mentioned_posts("acct-0001") | mentioned_posts(
        "acct-0003"
    )  # earlier mentions are carried forward, not lost
    with session(engine) as db:
        cursor = latest_cursor(db, "acct-0001")
    assert cursor[mentions.CURSOR_MENTIONS_CHECKED] == (NIGHT - mentions.CHECK_MARGIN).isoformat()


def test_prefetched_hints_that_travel_as_json_serve_the_pulls_alike(
    fake_x: tuple[FakeX, FakeXServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers prefetch in the run's first job and hand each account's part to its job as JSON.
    world, server = fake_x
    first, _second, third, _fourth = world.accounts.values()
    division, engine = after_a_full_run(world)
    prefetch, travelled = collect.prefetch, []

    def through_json(ctx, outcomes):  # type: ignore[no-untyped-def]
        hints = prefetch(ctx, outcomes)
        travelled.extend(h for h in hints.values() if isinstance(h, XPrefetch) and h.mentions is not None)
        data = {key: json.dumps(TwitterConnector.prefetched_to_data(hint)) for key, hint in hints.items()}
        return {key: TwitterConnector.prefetched_from_data(json.loads(text)) for key, text in data.items()}

    monkeypatch.setattr(collect, "prefetch", through_json)
    tonight = [world.mention(first, NIGHT - timedelta(hours=3)), world.mention(third, NIGHT - timedelta(hours=2))]
    server.reset()
    execute_run(division, Settings(), full=False, as_of=NIGHT, engine=engine)

    assert len(travelled) == 4  # every account's profile and mentions went through JSON
    assert server.requests[EP_MENTIONS] == 0 and server.requests[EP_SEARCH] == 2  # as without the trip
    assert str(tonight[0].id) in mentioned_posts("acct-0000")
    assert str(tonight[1].id) in mentioned_posts("acct-0002")


def test_accounts_a_search_cannot_serve_read_their_own_timelines(
    fake_x: tuple[FakeX, FakeXServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, server = fake_x
    first = next(iter(world.accounts.values()))
    division, engine = after_a_full_run(world)

    # A busy night: more mentions than the batch's pages hold. The search is dropped, nothing is lost.
    monkeypatch.setattr(mentions, "BATCH_PAGES", 1)
    busy = [world.mention(first, NIGHT - timedelta(minutes=m + 1)) for m in reversed(range(120))]
    server.reset()
    execute_run(division, Settings(), full=False, as_of=NIGHT, engine=engine)

    assert server.requests[EP_MENTIONS] == 5  # every account of the capped batch read its own (the busy one: 2 pages)
    assert {str(t.id) for t in busy} <= mentioned_posts("acct-0000")

    # A week later nobody's mentions were read within the search's reach: each reads its own timeline.
    server.reset()
    execute_run(division, Settings(), full=False, as_of=NIGHT + timedelta(days=8), engine=engine)
    assert server.requests[EP_MENTIONS] == 4


def test_only_conversations_someone_replied_to_are_searched_and_no_reply_is_missed(
    fake_x: tuple[FakeX, FakeXServer],
) -> None:
    world, server = fake_x
    account = next(iter(world.accounts.values()))
    answered = account.posts[0]  # the fixture's post, with one reply
    quiet = world.post(account, AS_OF - timedelta(days=1))
    division, engine = after_a_full_run(world)

    # Tonight: under the earlier reply, a reply that drops the account's name; on the quiet post, a first
    # reply (which names the account) and under it another that drops it.
    earlier_reply = world.replies[answered.id][0]
    hidden = world.reply_to_reply(earlier_reply, NIGHT - timedelta(hours=4), tag=[])
    first = world.reply(account, quiet, NIGHT - timedelta(hours=3))
    hidden_too = world.reply_to_reply(first, NIGHT - timedelta(hours=2), tag=[])
    untouched = world.post(account, AS_OF - timedelta(hours=20))  # nobody replies to it
    account.posts.sort(key=lambda t: -t.id)
    server.reset()
    execute_run(division, Settings(), full=False, as_of=NIGHT, engine=engine)

    own = [q for q in server.searches if "conversation_id:" in q]
    assert len(own) == 1  # the four accounts' conversations with replies share one query
    searched = set(re.findall(r"conversation_id:(\d+)", " ".join(own)))
    assert {str(answered.id), str(quiet.id)} <= searched and str(untouched.id) not in searched
    assert {str(hidden.id), str(first.id), str(hidden_too.id)} <= mentioned_posts("acct-0000")


def test_accounts_of_a_capped_reply_search_search_their_own_conversations(
    fake_x: tuple[FakeX, FakeXServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, server = fake_x
    account = next(iter(world.accounts.values()))
    busy = account.posts[0]
    division, engine = after_a_full_run(world)

    # More replies tonight than the shared search's pages hold: its accounts search on their own.
    monkeypatch.setattr(replies, "BATCH_PAGES", 1)
    earlier = world.replies[busy.id][0]
    hidden = [world.reply_to_reply(earlier, NIGHT - timedelta(minutes=m + 1), tag=[]) for m in reversed(range(120))]
    server.reset()
    execute_run(division, Settings(), full=False, as_of=NIGHT, engine=engine)

    own = [q for q in server.searches if "conversation_id:" in q]
    assert len(own) == 1 + 4 + 1  # the capped shared search, then each account its own (the busy one 2 pages)
    assert {str(t.id) for t in hidden} <= mentioned_posts("acct-0000")
