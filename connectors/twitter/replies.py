"""Which conversations a run searches for replies, and the replies of many accounts' conversations
in one recent search (nightly runs).

X has no endpoint for the replies to a post: recent search for `conversation_id:<id>` finds them
(7 days back). X does not let a reply drop the author of the post it answers, so a reply to an
account's own post always names the account and arrives with its mentions. Only a reply under
someone else's reply can leave the account's name out, and that needs a conversation someone has
already replied to. So a nightly run whose mentions were read completely searches only those
conversations; a full or first run searches them all and so learns which have replies.

A query holds about 13 conversations (X's 512-character limit). Searched account by account, every
account with one such conversation costs a request; packed across accounts (nightly, for the
accounts whose mentions a shared search read), 13 conversations of any accounts share one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.twitter import parse
from connectors.twitter.mentions import CHECK_MARGIN, SharedPosts, included

JSON = Mapping[str, Any]

CURSOR_CONVERSATIONS = "conversations"  # "<conversation id>:<YYYY-MM-DD of the post>" ... still in the window
CURSOR_ANSWERED = "answered_conversations"  # those someone has replied to: "<id> <id> ..."
CURSOR_REPLIES_SINCE_ID = "replies_since_id"  # newest reply read by conversation search
# Replies were read completely up to this time (a quiet account's since_id stays old; without this
# each night would read its last 7 days again, and X bills every post it returns).
CURSOR_REPLIES_CHECKED = "replies_checked_at"
QUERY_LIMIT = 512  # characters X accepts in a recent-search query
BATCH_PAGES = 10  # per query: 1,000 replies per batch of conversations


def open_conversations(cursor: Mapping[str, str], window_start: datetime) -> dict[str, str]:
    """Conversations of earlier runs whose post is still inside the look-back window: id -> date."""
    cutoff = window_start.date().isoformat()
    found: dict[str, str] = {}
    for entry in cursor.get(CURSOR_CONVERSATIONS, "").split():
        conversation, _, day = entry.partition(":")
        if conversation.isdigit() and day >= cutoff:
            found[conversation] = day
    return found


def answered_before(cursor: Mapping[str, str], conversations: Iterable[str]) -> set[str] | None:
    """Those of `conversations` an earlier run saw replies in; None when it did not record them."""
    if CURSOR_ANSWERED not in cursor:
        return None
    return set(cursor[CURSOR_ANSWERED].split()) & set(conversations)


def replied_in(tweets: Iterable[JSON], conversations: Iterable[str], account_id: str) -> set[str]:
    """Those of `conversations` these posts reply in (the account's own replies aside)."""
    own = set(conversations)
    return {
        str(t.get("conversation_id"))
        for t in tweets
        if _is_reply(t) and str(t.get("conversation_id")) in own and str(t.get("author_id")) != account_id
    }


def answering_new_posts(tweets: Iterable[JSON], account_id: str) -> set[str]:
    """Conversations of the account's posts that these posts answer directly (the posts themselves may
    be too new for any cursor: a reply's conversation id is then the id of the post it answers)."""
    return {
        str(t.get("conversation_id"))
        for t in tweets
        if str(t.get("in_reply_to_user_id")) == account_id
        and str(t.get("author_id")) != account_id
        and any(
            isinstance(r, dict) and r.get("type") == "replied_to" and str(r.get("id")) == str(t.get("conversation_id"))
            for r in t.get("referenced_tweets") or []
        )
    }


def answering_account(tweets: Iterable[JSON], account_id: str, window_start: datetime) -> set[str]:
    """Conversations in which these posts (the account's mentions) answer a post of the account made in
    the window. Read before the account's timeline, they are the conversations of the window someone
    has replied to: the first reply in any of them answered the account, and X made it name the account."""
    found: set[str] = set()
    for tweet in tweets:
        if str(tweet.get("in_reply_to_user_id")) != account_id or str(tweet.get("author_id")) == account_id:
            continue
        answered = [
            str(r.get("id"))
            for r in tweet.get("referenced_tweets") or []
            if isinstance(r, dict) and r.get("type") == "replied_to"
        ]
        conversation = str(tweet.get("conversation_id") or "")
        if conversation.isdigit() and any(a.isdigit() and parse.snowflake_time(a) >= window_start for a in answered):
            found.add(conversation)
    return found


def _is_reply(tweet: JSON) -> bool:
    return any(isinstance(r, dict) and r.get("type") == "replied_to" for r in tweet.get("referenced_tweets") or [])


def queries(conversation_ids: list[str]) -> list[str]:
    """`conversation_id:1 OR conversation_id:2 ...`, each query within X's length limit."""
    return [batch.query for batch in batches([Watched("", c, None, datetime.min) for c in conversation_ids])]


@dataclass
class Watched:
    """A conversation of an account, and until where its replies were read (id and time)."""

    key: str
    conversation: str
    since_id: str | None
    since: datetime


@dataclass
class Batch:
    conversations: list[Watched] = field(default_factory=list)

    @property
    def query(self) -> str:
        return " OR ".join(f"conversation_id:{w.conversation}" for w in self.conversations)

    @property
    def start_time(self) -> datetime:
        return min(w.since for w in self.conversations) - CHECK_MARGIN


def batches(watched: Iterable[Watched]) -> list[Batch]:
    """Conversations packed into queries within X's length limit, those read up to about the same time
    together (so no query starts much earlier than its conversations need)."""
    found: list[Batch] = []
    current = Batch()
    length = 0
    for item in sorted(watched, key=lambda w: (w.since, w.key, w.conversation)):
        term = len("conversation_id:") + len(item.conversation) + (4 if current.conversations else 0)
        if current.conversations and length + term > QUERY_LIMIT:
            found.append(current)
            current, length, term = Batch(), 0, term - 4
        current.conversations.append(item)
        length += term
    if current.conversations:
        found.append(current)
    return found


def distribute(batch: Batch, bodies: Iterable[JSON]) -> dict[str, SharedPosts]:
    """Each account's share of a batch's pages: the replies in its conversations newer than it had read."""
    owner = {w.conversation: w for w in batch.conversations}
    shares = {w.key: SharedPosts(w.since) for w in batch.conversations}
    for body in bodies:
        users, tweets = included(body)
        for tweet in parse.tweets_in(body):
            watched = owner.get(str(tweet.get("conversation_id")))
            if watched is None:
                continue
            if watched.since_id and int(str(tweet["id"])) <= int(watched.since_id):
                continue  # read by an earlier run
            shares[watched.key].add(tweet, users, tweets)
    return shares
