"""X replies: which conversations are searched, and conversations of many accounts in one search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.twitter import parse, replies
from connectors.twitter.mentions import CHECK_MARGIN

AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
ACCOUNT = "1800000000000000000"


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
