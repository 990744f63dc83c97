"""The run's batched X reads before the pulls: every profile (100 per lookup), mentions and replies
by recent searches shared between accounts. What they find goes to each account's pull as `XPrefetch`;
what they could not read, each pull reads on its own."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import tweepy

from connectors.base import Connector, SnapshotBuilder
from connectors.resilience import PlatformError
from connectors.twitter import mentions, parse, replies
from connectors.twitter.endpoints import (
    EP_MENTIONS,
    EP_SEARCH,
    EP_USERS,
    EP_USERS_BY_NAME,
    JSON,
    LOOKUP_BATCH,
    MENTION_PAGES,
    PROFILE_FIELDS,
    TWEET_EXPANSIONS,
    TWEET_FIELDS,
    chunks,
    users_of,
)
from connectors.twitter.mentions import SharedPosts
from connectors.twitter.paging import checked, paginate
from connectors.twitter.plan import MentionsRead, XKnobs, reads_window_mentions, searchable
from connectors.twitter.replies import (
    CURSOR_REPLIES_CHECKED,
    CURSOR_REPLIES_SINCE_ID,
    answered_before,
    answering_new_posts,
    open_conversations,
    replied_in,
)
from models.tables import RegisteredAccount

T = TypeVar("T")
log = logging.getLogger("auditor.connectors.twitter")


@dataclass
class XPrefetch:
    """What the run's batched requests found for one account before its pull."""

    user: JSON  # its profile, from the lookup of every account (100 per request)
    mentions: SharedPosts | None = None  # its mentions, from a search shared with other accounts
    replies: SharedPosts | None = None  # replies in its conversations, from shared searches ...
    replies_searched: frozenset[str] = frozenset()  # ... of these conversations

    def mentions_read(self, window_start: datetime) -> MentionsRead:
        if self.mentions is None:
            return MentionsRead.OWN
        return MentionsRead.BEFORE_PULLS if self.mentions.since <= window_start else MentionsRead.SHARED_SEARCH

    def to_data(self) -> JSON:
        """As JSON data (X's own objects, the shares' start times in ISO 8601), for another process."""
        return {
            "user": self.user,
            "mentions": _shared_to_data(self.mentions),
            "replies": _shared_to_data(self.replies),
            "replies_searched": sorted(self.replies_searched),
        }

    @classmethod
    def from_data(cls, data: JSON) -> XPrefetch:
        return cls(
            data["user"],
            _shared_from_data(data.get("mentions")),
            _shared_from_data(data.get("replies")),
            frozenset(data.get("replies_searched") or ()),
        )


def _shared_to_data(shared: SharedPosts | None) -> JSON | None:
    if shared is None:
        return None
    return {"since": shared.since.isoformat(), "data": shared.data, "users": shared.users, "tweets": shared.tweets}


def _shared_from_data(data: JSON | None) -> SharedPosts | None:
    if data is None:
        return None
    return SharedPosts(datetime.fromisoformat(data["since"]), data["data"], data["users"], data["tweets"])


class Prefetch:
    """One run's batched reads, with the app's bearer token."""

    def __init__(self, connector: Connector, knobs: XKnobs, client: tweepy.Client, builder: SnapshotBuilder) -> None:
        self.connector = connector
        self.knobs = knobs
        self.client = client
        self.builder = builder

    def run(self, accounts: list[RegisteredAccount], cursors: Mapping[str, Mapping[str, str]]) -> dict[str, XPrefetch]:
        found = {key: XPrefetch(user) for key, user in self.lookup_profiles(accounts).items()}
        if not self.knobs.full:
            self.search_mentions(found, cursors)
        self.read_window_mentions(found, cursors)
        self.search_replies(found, cursors)
        return found

    def lookup_profiles(self, accounts: list[RegisteredAccount]) -> dict[str, JSON]:
        by_id = {a.platform_id: a.key for a in accounts if a.platform_id}
        by_name = {(a.handle or "").lstrip("@").lower(): a.key for a in accounts if not a.platform_id and a.handle}
        found: dict[str, JSON] = {}
        call, client, builder = self.connector.call, self.client, self.builder
        try:
            for chunk in chunks(sorted(by_id), LOOKUP_BATCH):
                body = call(builder, EP_USERS, client.get_users, ids=chunk, user_fields=PROFILE_FIELDS)
                for user in users_of(body, builder):
                    if str(user.get("id")) in by_id:
                        found[by_id[str(user["id"])]] = user
            for chunk in chunks(sorted(by_name), LOOKUP_BATCH):
                body = call(builder, EP_USERS_BY_NAME, client.get_users, usernames=chunk, user_fields=PROFILE_FIELDS)
                for user in users_of(body, builder):
                    key = by_name.get(str(user.get("username", "")).lower())
                    if key:
                        found[key] = user
        except PlatformError as error:  # each pull then reads its own profile and reports the error
            log.warning("batched X profile lookup stopped: %s", error.describe())
        return found

    def read_window_mentions(self, found: dict[str, XPrefetch], cursors: Mapping[str, Mapping[str, str]]) -> None:
        """The window's mentions of each public account a full or first run reads (its timeline, one
        request per 100): the same requests its pull would make, made first so that the conversations
        they show replies in are searched 13 to a query across accounts. An account whose mentions X had
        more of than the pull would read, or after a refusal, reads its own."""
        window_start = self.knobs.window_start
        read = checked(self.connector, self.builder, EP_MENTIONS, self.client.get_users_mentions)

        for key, hint in sorted(found.items()):
            if hint.mentions is not None or not reads_window_mentions(self.knobs, hint.user, cursors.get(key) or {}):
                continue
            pages = paginate(
                read,
                str(hint.user["id"]),
                limit=MENTION_PAGES,
                max_results=100,
                start_time=window_start,
                tweet_fields=TWEET_FIELDS,
                expansions=TWEET_EXPANSIONS,
            )
            share = SharedPosts(window_start)
            try:
                for body in pages:
                    users, tweets = mentions.included(body)
                    for tweet in parse.tweets_in(body):
                        share.add(tweet, users, tweets)
            except PlatformError as error:
                log.warning("X mentions read before the pulls stopped: %s", error.describe())
                return
            if not pages.capped:
                hint.mentions = share

    def search_mentions(self, found: dict[str, XPrefetch], cursors: Mapping[str, Mapping[str, str]]) -> None:
        """Each batch's mentions go to its accounts' pulls."""
        accounts = [
            account
            for key, hint in found.items()
            if (account := searchable(self.knobs, key, hint.user, cursors.get(key) or {})) is not None
        ]
        batches = [(b, b.query, b.start_time) for b in mentions.batches(accounts)]
        for batch, bodies in self.shared_searches(batches, mentions.BATCH_PAGES, "mention"):
            for key, share in mentions.distribute(batch, bodies).items():
                found[key].mentions = share

    def search_replies(self, found: dict[str, XPrefetch], cursors: Mapping[str, Mapping[str, str]]) -> None:
        """Replies in the conversations someone replied to, of the accounts whose mentions a shared
        search read, 13 conversations of any accounts per query."""
        watched = [w for key, hint in found.items() for w in self.watched(key, hint, cursors.get(key) or {})]
        batches = [(b, b.query, b.start_time) for b in replies.batches(watched)]
        for batch, bodies in self.shared_searches(batches, replies.BATCH_PAGES, "reply"):
            for key, share in replies.distribute(batch, bodies).items():
                hint = found[key]
                searched = {w.conversation for w in batch.conversations if w.key == key}
                hint.replies = share if hint.replies is None else hint.replies.merge(share)
                hint.replies_searched = hint.replies_searched | searched

    def shared_searches(
        self, batches: list[tuple[T, str, datetime]], pages: int, what: str
    ) -> Iterator[tuple[T, list[JSON]]]:
        """Each batch with its pages. A batch X had more pages for is skipped, and a refusal stops the
        rest: their accounts' pulls then ask for their own."""
        for batch, query, start_time in batches:
            try:
                bodies = self.search_batch(query, start_time, pages)
            except PlatformError as error:
                log.warning("batched X %s search stopped: %s", what, error.describe())
                return
            if bodies is None:
                log.info("batched X %s search: more than %d pages, its accounts ask on their own", what, pages)
                continue
            yield batch, bodies

    def search_batch(self, query: str, start_time: datetime, limit: int) -> list[JSON] | None:
        """The batch's pages, or None when X had more than the pages allowed."""
        search = checked(self.connector, self.builder, EP_SEARCH, self.client.search_recent_tweets)
        pages = paginate(
            search,
            query,
            limit=limit,
            max_results=100,
            start_time=max(start_time, self.knobs.recent_start),
            tweet_fields=TWEET_FIELDS,
            expansions=TWEET_EXPANSIONS,
        )
        bodies = list(pages)
        return None if pages.capped else bodies

    def watched(self, key: str, hint: XPrefetch, cursor: Mapping[str, str]) -> list[replies.Watched]:
        """The conversations of this account a shared search should cover tonight (see replies.py)."""
        if hint.mentions is None:
            return []  # its own pull reads its mentions, and so knows best what to search
        window_start = self.knobs.window_start
        user_id = str(hint.user.get("id"))
        if hint.mentions.since <= window_start:  # the whole window's mentions: they show every answered one
            if any(parse.unattributed(t) or not t.get("conversation_id") for t in hint.mentions.data):
                return []  # its pull searches every conversation (see PostReads.conversations_to_search)
            reach = self.knobs.recent_start
            answering = replies.answering_account(hint.mentions.data, user_id, window_start)
            return [replies.Watched(key, c, None, reach) for c in sorted(answering)]
        conversations = open_conversations(cursor, window_start)
        answered = answered_before(cursor, conversations)
        if answered is None:
            return []
        tonight = hint.mentions.data
        new_posts = {
            c for c in answering_new_posts(tonight, user_id) if c.isdigit() and parse.snowflake_time(c) >= window_start
        }
        wanted = answered | replied_in(tonight, conversations, user_id) | new_posts
        since_id = cursor.get(CURSOR_REPLIES_SINCE_ID)
        reach = self.knobs.recent_start
        since = max(mentions.read_up_to(since_id, cursor.get(CURSOR_REPLIES_CHECKED)) or reach, reach)
        return [replies.Watched(key, c, since_id, since) for c in sorted(wanted)]
