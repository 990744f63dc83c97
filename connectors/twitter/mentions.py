"""Mentions of many accounts in one recent search, for nightly runs.

X's mentions timeline (`GET /2/users/:id/mentions`) answers for one account per request, so a
nightly run would ask once per account whether anyone mentioned it. A recent search for
`@a OR @b OR ...` answers for as many accounts as fit X's 512-character query (about 25 school
handles). Recent search reaches back only 7 days, so it serves the accounts whose mentions were
read completely within that reach (nightly runs); a full run, an account last read longer ago, a
protected account (its owner's token may see more than the app's) and an account whose batch X
had more to tell than the pages allowed each read their own mentions timeline instead.

On X a reply carries the replied-to handle among its mentions, so a search for `@handle` finds the
replies to an account's posts as well as the posts that name it, as the mentions timeline does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.twitter import parse

JSON = Mapping[str, Any]

# Mentions were read completely up to this time (a cursor key, next to `mentions_since_id`: an
# account nobody mentioned keeps an old since_id, but its mentions were still read up to the run).
CURSOR_MENTIONS_CHECKED = "mentions_checked_at"
# X's search index lags posting by seconds: each night re-reads a little of the previous one
# (an interaction read twice is kept once).
CHECK_MARGIN = timedelta(minutes=10)
BATCH_PAGES = 20  # per batch of accounts, 100 posts a page; a batch with more reads its own timelines
QUERY_LIMIT = 512  # characters X accepts in a recent-search query (pay-per-use, Basic)


@dataclass
class Searchable:
    """An account whose mentions a shared search can read: read completely up to `since`."""

    key: str
    username: str
    user_id: str
    since: datetime


@dataclass
class Batch:
    accounts: list[Searchable]

    @property
    def query(self) -> str:
        return " OR ".join(f"@{a.username}" for a in self.accounts)

    @property
    def start_time(self) -> datetime:
        return min(a.since for a in self.accounts) - CHECK_MARGIN


@dataclass
class SharedPosts:
    """One account's share of a batch's pages, shaped as one X answer (`data` and `includes`)."""

    since: datetime
    data: list[JSON] = field(default_factory=list)
    users: dict[str, JSON] = field(default_factory=dict)
    tweets: dict[str, JSON] = field(default_factory=dict)

    def add(self, tweet: JSON, users: Mapping[str, JSON], tweets: Mapping[str, JSON]) -> None:
        """A post of a page, with the users and posts the page included for it (only those: the page
        also holds other accounts' posts and the people in them)."""
        self.data.append(tweet)
        quoted = {r: tweets[r] for r in _referenced_posts(tweet) if r in tweets}
        self.tweets.update(quoted)
        people = _people_in(tweet) | {str(t.get("author_id")) for t in quoted.values()}
        names = {str(name).lower() for _, name in parse.mentioned(tweet) if name}  # a mention may lack its id
        self.users.update(
            {u: user for u, user in users.items() if u in people or str(user.get("username") or "").lower() in names}
        )

    def merge(self, other: SharedPosts) -> SharedPosts:
        """This share and `other` (of another batch of the same account) as one."""
        merged = SharedPosts(min(self.since, other.since), self.data + other.data)
        merged.users = {**self.users, **other.users}
        merged.tweets = {**self.tweets, **other.tweets}
        return merged

    def body(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "includes": {"users": list(self.users.values()), "tweets": list(self.tweets.values())},
        }


def read_up_to(since_id: str | None, checked_at: str | None) -> datetime | None:
    """Until when an account's mentions were read completely, from its cursor's two keys."""
    times = [parse.snowflake_time(since_id)] if since_id and since_id.isdigit() else []
    checked = parse.parse_time(checked_at)
    if checked is not None:
        times.append(checked)
    return max(times) if times else None


def search_since(
    since_id: str | None, checked_at: str | None, as_of: datetime, window_start: datetime
) -> datetime | None:
    """Where a shared search would start for this account, or None when it cannot serve it."""
    up_to = read_up_to(since_id, checked_at)
    reach = max(parse.recent_window_start(as_of) + CHECK_MARGIN, window_start)
    return up_to if up_to is not None and up_to >= reach else None


def batches(accounts: Iterable[Searchable]) -> list[Batch]:
    """Accounts grouped into queries within X's length limit; those read up to about the same time
    share a query, so no batch starts much earlier than its accounts need."""
    found: list[Batch] = []
    current: list[Searchable] = []
    length = 0
    for account in sorted(accounts, key=lambda a: (a.since, a.username.lower())):
        term = len(account.username) + 1 + (4 if current else 0)  # "@name", " OR " between terms
        if current and length + term > QUERY_LIMIT:
            found.append(Batch(current))
            current, length, term = [], 0, len(account.username) + 1
        current.append(account)
        length += term
    if current:
        found.append(Batch(current))
    return found


def distribute(batch: Batch, bodies: Iterable[JSON]) -> dict[str, SharedPosts]:
    """Each account's mentions among a batch's pages: the posts naming it (by id or handle) that are
    newer than what it had read, with the users and posts X included for them."""
    by_name = {a.username.lower(): a for a in batch.accounts}
    by_id = {a.user_id: a for a in batch.accounts}
    shares = {a.key: SharedPosts(a.since) for a in batch.accounts}
    for body in bodies:
        users, tweets = included(body)
        for tweet in parse.tweets_in(body):
            when = parse.posted_at(tweet)
            for account in _named_in(tweet, by_name, by_id):
                if when >= account.since - CHECK_MARGIN:
                    shares[account.key].add(tweet, users, tweets)
    return shares


def included(body: JSON) -> tuple[dict[str, JSON], dict[str, JSON]]:
    """The users and posts an answer includes, by id."""
    includes = body.get("includes") or {}
    users: dict[str, JSON] = {str(u["id"]): u for u in includes.get("users") or [] if isinstance(u, dict) and "id" in u}
    tweets: dict[str, JSON] = {
        str(t["id"]): t for t in includes.get("tweets") or [] if isinstance(t, dict) and "id" in t
    }
    return users, tweets


def _referenced_posts(tweet: JSON) -> set[str]:
    return {str(r.get("id")) for r in tweet.get("referenced_tweets") or [] if isinstance(r, dict)}


def _people_in(tweet: JSON) -> set[str]:
    """The users a post names: its author, who it replies to, whom it mentions (only they are kept:
    the page also holds users of other accounts' mentions)."""
    people = {str(tweet.get("author_id")), str(tweet.get("in_reply_to_user_id"))}
    people |= {str(user_id) for user_id, _ in parse.mentioned(tweet)}
    return people


def _named_in(tweet: JSON, by_name: dict[str, Searchable], by_id: dict[str, Searchable]) -> list[Searchable]:
    named: dict[str, Searchable] = {}
    for user_id, username in parse.mentioned(tweet):  # a search body's mention may lack its id
        account = by_id.get(str(user_id)) or by_name.get(str(username or "").lower())
        if account is not None:
            named[account.key] = account
    return list(named.values())
