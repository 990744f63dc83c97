"""X replies: which conversations are searched, and conversations of many accounts in one search."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor.inputs import Division
from auditor.policy import Policy
from auditor.run import execute_run
from auditor.settings import Settings
from auditor.spend import estimate_run
from auditor.store import latest_content
from bench.collection_bench import registry
from bench.fake_x import FakeX, FakeXServer
from connectors.registry import ConnectorRegistry
from connectors.twitter import parse, replies
from connectors.twitter.connector import EP_MENTIONS
from connectors.twitter.mentions import CHECK_MARGIN
from models.db import init_db, make_engine, session
from tests.fakeplatform import serving_fake_x

AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
ACCOUNT = "1800000000000000000"
NIGHT = AS_OF + timedelta(days=1)


def post_id(hours_ago: float, serial: int = 0) -> str:
    return str(int(parse.min_snowflake(AS_OF - timedelta(hours=hours_ago))) + serial)


def reply(tweet_id: str, conversation: str, *, to_user: str, to_post: str, author: str = "501") -> dict[str, object]:
    """A reply as X API v2 returns it."""
    return {
        "id": tweet_id,
        "text": "@someone thanks",
        "author_id": author,
        "conversation_id": conversation,
        "in_reply_to_user_id": to_user,
        "referenced_tweets": [{"type": "replied_to", "id": to_post}],
    }


def test_queries_pack_conversations_of_many_accounts_within_xs_limit() -> None:
    watched = [
        replies.Watched(f"acct-{i % 40}", post_id(30, i), None, AS_OF - timedelta(hours=i % 5)) for i in range(300)
    ]

    found = replies.batches(watched)

    assert all(len(b.query) <= replies.QUERY_LIMIT for b in found)
    assert len(found) == 24  # ⌈300 / 13⌉: 13 conversations a query, whoever they belong to
    assert sorted(w.conversation for b in found for w in b.conversations) == sorted(w.conversation for w in watched)
    assert found[0].start_time == AS_OF - timedelta(hours=4) - CHECK_MARGIN  # those read up to earliest first


def test_replies_go_to_the_account_whose_conversation_they_are_in_and_only_new_ones() -> None:
    hills, valley = post_id(50, 1), post_id(50, 2)
    read_up_to = post_id(10)
    batch = replies.Batch(
        [
            replies.Watched("hills", hills, read_up_to, parse.snowflake_time(read_up_to)),
            replies.Watched("valley", valley, None, AS_OF - timedelta(days=7)),
        ]
    )
    new_in_hills = reply(post_id(2), hills, to_user=ACCOUNT, to_post=hills)
    old_in_hills = reply(post_id(20), hills, to_user=ACCOUNT, to_post=hills)  # read by an earlier run
    in_valley = reply(post_id(3), valley, to_user="777", to_post=post_id(4), author="502")
    body = {
        "data": [new_in_hills, in_valley, old_in_hills],
        "includes": {
            "users": [{"id": "501", "name": "Sam", "username": "sam"}, {"id": "502", "name": "Ava", "username": "ava"}]
        },
    }

    shares = replies.distribute(batch, [body])

    assert [t["id"] for t in shares["hills"].data] == [new_in_hills["id"]]
    assert [t["id"] for t in shares["valley"].data] == [in_valley["id"]]
    assert set(shares["hills"].users) == {"501"} and set(shares["valley"].users) == {"502"}


def test_a_direct_reply_reveals_a_conversation_of_a_post_too_new_for_the_cursor() -> None:
    new_post = post_id(5)
    direct = reply(post_id(4), new_post, to_user=ACCOUNT, to_post=new_post)
    nested = reply(post_id(3), new_post, to_user="501", to_post=direct["id"], author="502")  # type: ignore[arg-type]
    own_answer = reply(post_id(2), post_id(40), to_user="501", to_post=post_id(40), author=ACCOUNT)

    assert replies.answering_new_posts([direct, nested, own_answer], ACCOUNT) == {new_post}
    assert replies.replied_in([direct, nested, own_answer], [new_post, post_id(40)], ACCOUNT) == {new_post}


def test_the_cursor_says_which_conversations_someone_replied_to() -> None:
    cursor = {
        "conversations": f"{post_id(24 * 40)}:2026-10-06 {post_id(24 * 2)}:2026-11-13 {post_id(24)}:2026-11-14",
        "answered_conversations": f"{post_id(24 * 40)} {post_id(24)}",
    }
    open_now = replies.open_conversations(cursor, AS_OF - timedelta(days=30))

    assert sorted(open_now) == sorted([post_id(24 * 2), post_id(24)])  # the 40-day-old post left the window
    assert replies.answered_before(cursor, open_now) == {post_id(24)}
    assert replies.answered_before({"conversations": cursor["conversations"]}, open_now) is None  # not recorded


def test_the_mentions_of_the_window_show_the_conversations_someone_replied_to() -> None:
    """Read before the timeline, a direct reply to a post of the account made in the window is what shows
    a conversation has replies; replies to others, the account's own and those to older posts do not."""
    post, old_post, thread = post_id(48), post_id(24 * 40), post_id(30)
    own_reply = post_id(29)  # the account answering in its own thread
    tweets = [
        reply(post_id(47), post, to_user=ACCOUNT, to_post=post),
        reply(post_id(28), thread, to_user=ACCOUNT, to_post=own_reply),  # under the account's reply
        reply(post_id(27), post_id(26), to_user="777", to_post=post_id(26)),  # someone else's conversation
        reply(post_id(20), old_post, to_user=ACCOUNT, to_post=old_post),  # a post older than the window
        reply(post_id(19), post_id(45), to_user=ACCOUNT, to_post=post_id(45), author=ACCOUNT),
    ]
    window_start = AS_OF - timedelta(days=30)

    assert replies.answering_account(tweets, ACCOUNT, window_start) == {post, thread}


# --- end to end: a full run against the fake X on loopback -----------------------------------------


@pytest.fixture
def quiet_and_busy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeX, FakeXServer]]:
    """Four public accounts with three posts each in the window, one of them replied to."""
    world = FakeX(seed=7)
    for index in range(4):
        account = world.add_account(index, 30)
        world.post(account, AS_OF - timedelta(days=2), replies=1)
        world.post(account, AS_OF - timedelta(days=5))
        world.post(account, AS_OF - timedelta(days=9))
        account.posts.sort(key=lambda t: -t.id)
    with serving_fake_x(world, tmp_path, monkeypatch) as server:
        yield world, server


def test_a_full_run_searches_only_answered_conversations_packed_across_accounts(
    quiet_and_busy: tuple[FakeX, FakeXServer],
) -> None:
    world, server = quiet_and_busy
    first = next(iter(world.accounts.values()))
    answered = {str(p.id) for a in world.accounts.values() for p in a.posts if world.replies.get(p.id)}
    # Under the first account's reply, a reply that drops the account's name: only the search finds it.
    hidden = world.reply_to_reply(world.replies[int(min(answered))][0], AS_OF - timedelta(days=1), tag=[])
    division = Division(Path("."), registry(world), [], [], [], Policy(approved_platforms=["twitter"]))
    engine = make_engine(Settings().database_url)
    init_db(engine)
    execute_run(division, Settings(), full=True, as_of=AS_OF, engine=engine)

    conversation_searches = [q for q in server.searches if "conversation_id:" in q]
    searched = set(re.findall(r"conversation_id:(\d+)", " ".join(conversation_searches)))
    assert len(answered) == 4 and searched == answered  # the 8 conversations nobody replied to are not searched
    assert len(conversation_searches) == 1  # the four accounts' share one query (was: one per account)
    assert server.requests[EP_MENTIONS] == 4  # each account's window read once, before the pulls
    with session(engine) as db:
        content = latest_content(db, next(a.key for a in registry(world) if a.platform_id == first.id))
    assert content is not None and str(hidden.id) in {i.post_id for i in content.interactions}

    # The dry run of the next full run predicts the requests it makes.
    server.reset()
    predicted = estimate_run(
        division.accounts, ConnectorRegistry.installed(), Settings(), division.policy, NIGHT, True, engine
    ).by_platform["twitter"]
    execute_run(division, Settings(), full=True, as_of=NIGHT, engine=engine)
    assert predicted.requests == {k: v for k, v in server.requests.items() if v}


def test_mentions_x_sends_without_author_make_a_full_run_search_every_conversation(
    quiet_and_busy: tuple[FakeX, FakeXServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mention without `author_id` cannot show whether it replies: nothing is left unsearched."""
    world, server = quiet_and_busy
    first = next(iter(world.accounts.values()))
    unattributed = world.mention(first, AS_OF - timedelta(days=1))
    as_x_sends_it = unattributed.json

    def without_author(users: dict[str, tuple[str, str]]) -> dict[str, object]:
        body = dict(as_x_sends_it(users))
        body.pop("author_id")  # as in tweepy's real mentions recording (../shared/reference/real-traffic/x)
        return body

    monkeypatch.setattr(unattributed, "json", without_author)
    division = Division(Path("."), registry(world), [], [], [], Policy(approved_platforms=["twitter"]))
    engine = make_engine(Settings().database_url)
    init_db(engine)
    execute_run(division, Settings(), full=True, as_of=AS_OF, engine=engine)

    searched = set(re.findall(r"conversation_id:(\d+)", " ".join(server.searches)))
    assert {str(p.id) for p in first.posts} <= searched
