"""A fake X API v2 on 127.0.0.1 serving generated traffic, for benchmarks of the real X connector.

The connector runs unchanged: tweepy.Client builds every URL from `https://api.twitter.com`
(hard-coded in `BaseClient.request`), so the benchmark mounts a requests transport adapter for that
prefix on each client's session (`route_x_to`), which rewrites the URL to the local server before
sending. Nothing else is patched: pagination, retries, classification and counting are the real ones.

The server answers the endpoints the connector uses, in X's shapes (`data` / `includes` / `meta` with
`next_token`, newest first): batched user lookup, user by id, followers, user timeline, mentions,
recent search by `conversation_id` and by `@username` (mentions). It counts requests per
endpoint, refuses (HTTP 429 usage-capped) past `max_requests`, and never rate-limits otherwise
(X's 15 follower requests per 15 minutes would make a full benchmark take hours; the resilience
layer's waits are tested elsewhere).
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter

from connectors.twitter import auth, parse

X_HOST = "https://api.twitter.com"
CONVERSATION_TERM = re.compile(r"conversation_id:(\d+)")
MENTION_TERM = re.compile(r"(?<![\w:])@(\w{1,15})")

JSON = dict[str, Any]


# --- the generated platform ---------------------------------------------------------------------


@dataclass
class Tweet:
    id: int
    author_id: str
    text: str
    conversation_id: int
    created_at: datetime
    in_reply_to_user_id: str | None = None
    mentions: list[str] = field(default_factory=list)  # user ids
    replied_to: int | None = None  # the post it answers (default: the conversation's first post)

    def json(self, users: dict[str, tuple[str, str]]) -> JSON:
        body: JSON = {
            "id": str(self.id),
            "text": self.text,
            "author_id": self.author_id,
            "conversation_id": str(self.conversation_id),
            "created_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "edit_history_tweet_ids": [str(self.id)],
        }
        if self.in_reply_to_user_id:
            body["in_reply_to_user_id"] = self.in_reply_to_user_id
            body["referenced_tweets"] = [{"type": "replied_to", "id": str(self.replied_to or self.conversation_id)}]
        if self.mentions:
            body["entities"] = {
                "mentions": [
                    {"start": 0, "end": 1 + len(users[m][0]), "username": users[m][0], "id": m} for m in self.mentions
                ]
            }
        return body


@dataclass
class FakeAccount:
    id: str
    username: str
    followers: list[str]  # user ids, newest follower first (the order X lists them in)
    posts: list[Tweet] = field(default_factory=list)  # newest first
    mentions: list[Tweet] = field(default_factory=list)  # newest first
    protected: bool = False  # followers approved one by one (the owner's token reads it)


class FakeX:
    """Accounts, their followers, posts, mentions and replies; mutated between runs (churn)."""

    def __init__(self, seed: int = 8) -> None:
        self.rng = random.Random(seed)
        self.users: dict[str, tuple[str, str]] = {}  # id -> (username, name)
        self.accounts: dict[str, FakeAccount] = {}
        self.replies: dict[int, list[Tweet]] = {}  # conversation id -> replies, newest first
        self._user_serial = itertools.count(1_400_000_000_000_000_000)
        self._tweet_serial = itertools.count(1)

    # --- generation -----------------------------------------------------------------------------

    def new_user(self) -> str:
        serial = next(self._user_serial)
        user_id = str(serial)
        first = self.rng.choice(["Sam", "Alex", "Priya", "Jordan", "Mei", "Omar", "Lucía", "Noah", "Ava", "Kwame"])
        last = self.rng.choice(["Smith", "Chen", "Okafor", "Tremblay", "García", "Nguyen", "Kowalski", "Patel"])
        self.users[user_id] = (f"user{serial % 10**9}", f"{first} {last}")
        return user_id

    def tweet_id(self, at: datetime) -> int:
        return int(parse.min_snowflake(at)) + next(self._tweet_serial)

    def add_account(self, index: int, followers: int) -> FakeAccount:
        account = FakeAccount(
            id=str(1_800_000_000_000_000_000 + index),
            username=f"sch{index:04d}_news",  # X allows 15 characters
            followers=[self.new_user() for _ in range(followers)],
        )
        self.users[account.id] = (account.username, f"School account {index}")
        self.accounts[account.id] = account
        return account

    def post(self, account: FakeAccount, at: datetime, replies: int = 0) -> Tweet:
        tweet_id = self.tweet_id(at)
        tweet = Tweet(tweet_id, account.id, f"School update {tweet_id % 1000}", tweet_id, at)
        account.posts.insert(0, tweet)
        for n in range(replies):
            self.reply(account, tweet, at + timedelta(minutes=5 * (n + 1)))
        return tweet

    def reply(self, account: FakeAccount, post: Tweet, at: datetime) -> Tweet:
        """A reply to the account's post. As on X, it names the author it replies to (X does not let a
        reply drop the author of the post it answers), so the account's mentions hold it too."""
        author = self.rng.choice(account.followers) if account.followers else self.new_user()
        text = f"@{account.username} Great news!"
        reply = Tweet(self.tweet_id(at), author, text, post.conversation_id, at, account.id, mentions=[account.id])
        _newest_first(self.replies.setdefault(post.conversation_id, []), reply)
        _newest_first(account.mentions, reply)
        return reply

    def reply_to_reply(self, parent: Tweet, at: datetime, *, tag: list[str]) -> Tweet:
        """A reply under someone's reply: it names the parent's author, and whom else the replier kept
        (`tag`: X lets a replier drop the others, e.g. the account that started the conversation)."""
        author = self.new_user()
        names = [parent.author_id, *tag]
        text = " ".join(f"@{self.users[u][0]}" for u in names) + " agreed"
        reply = Tweet(
            self.tweet_id(at), author, text, parent.conversation_id, at, parent.author_id, names, replied_to=parent.id
        )
        _newest_first(self.replies.setdefault(parent.conversation_id, []), reply)
        for account in (self.accounts[u] for u in names if u in self.accounts):
            _newest_first(account.mentions, reply)
        return reply

    def mention(self, account: FakeAccount, at: datetime) -> Tweet:
        author = self.rng.choice(account.followers) if account.followers else self.new_user()
        tweet_id = self.tweet_id(at)
        tweet = Tweet(tweet_id, author, f"@{account.username} see you there", tweet_id, at, mentions=[account.id])
        _newest_first(account.mentions, tweet)
        return tweet

    def churn(self, share: float) -> Counter[str]:
        """`share` of each account's followers leave and as many new ones follow (newest first)."""
        changes: Counter[str] = Counter()
        for account in self.accounts.values():
            size = len(account.followers)
            leaving = sum(self.rng.random() < share for _ in range(size))
            joining = sum(self.rng.random() < share for _ in range(size))
            for _ in range(leaving):
                account.followers.pop(self.rng.randrange(len(account.followers)))
            account.followers[:0] = [self.new_user() for _ in range(joining)]
            changes["left"] += leaving
            changes["joined"] += joining
            changes["accounts with new followers"] += joining > 0
            changes["accounts whose count moved"] += joining != leaving
            changes["new followers behind an unchanged count"] += joining if joining == leaving else 0
        return changes

    # --- answers --------------------------------------------------------------------------------

    def user_json(self, user_id: str) -> JSON:
        username, name = self.users[user_id]
        body: JSON = {"id": user_id, "username": username, "name": name}
        account = self.accounts.get(user_id)
        if account is not None:
            body.update(
                protected=account.protected,
                created_at="2015-08-31T15:00:00.000Z",
                description="School news",
                public_metrics={
                    "followers_count": len(account.followers),
                    "following_count": 12,
                    "tweet_count": len(account.posts),
                    "listed_count": 1,
                    "like_count": 0,
                },
            )
        return body

    def tweets_body(self, tweets: list[Tweet], query: dict[str, str], page_size: int) -> JSON:
        since_id = int(query["since_id"]) if "since_id" in query else None
        start = _time(query.get("start_time"))
        selected = [
            t for t in tweets if (since_id is None or t.id > since_id) and (start is None or t.created_at >= start)
        ]
        offset = int(query.get("pagination_token") or query.get("next_token") or "0")  # search: next_token
        page = selected[offset : offset + page_size]
        meta: JSON = {"result_count": len(page)}
        if not page:
            return {"meta": meta}
        meta.update(newest_id=str(page[0].id), oldest_id=str(page[-1].id))
        if offset + page_size < len(selected):
            meta["next_token"] = str(offset + page_size)
        authors = list(dict.fromkeys(u for t in page for u in (t.author_id, t.in_reply_to_user_id, *t.mentions) if u))
        return {
            "data": [t.json(self.users) for t in page],
            "includes": {"users": [self.user_json(u) for u in authors]},
            "meta": meta,
        }


def _newest_first(tweets: list[Tweet], tweet: Tweet) -> None:
    bisect.insort(tweets, tweet, key=lambda t: -t.id)


def _time(value: str | None) -> datetime | None:
    return parse.parse_time(value) if value else None


# --- the HTTP server ----------------------------------------------------------------------------

ROUTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"/2/users"), "GET /2/users"),
    (re.compile(r"/2/users/by"), "GET /2/users/by"),
    (re.compile(r"/2/users/(\d+)"), "GET /2/users/:id"),
    (re.compile(r"/2/users/(\d+)/followers"), "GET /2/users/:id/followers"),
    (re.compile(r"/2/users/(\d+)/tweets"), "GET /2/users/:id/tweets"),
    (re.compile(r"/2/users/(\d+)/mentions"), "GET /2/users/:id/mentions"),
    (re.compile(r"/2/tweets/search/recent"), "GET /2/tweets/search/recent"),
]


class FakeXServer:
    """FakeX served over HTTP on 127.0.0.1 in a daemon thread; counts every request per endpoint."""

    def __init__(self, world: FakeX, max_requests: int = 100_000) -> None:
        self.world = world
        self.max_requests = max_requests
        self.requests: Counter[str] = Counter()
        self.searches: list[str] = []  # the recent-search queries asked, in order
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-x", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeXServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def total(self) -> int:
        return sum(self.requests.values())

    def reset(self) -> None:
        self.requests.clear()
        self.searches.clear()

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, JSON]:
        for pattern, endpoint in ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            with self._lock:
                if self.total() >= self.max_requests:
                    return 429, {
                        "title": "UsageCapExceeded",
                        "detail": "Usage cap exceeded",
                        "type": _problem("usage-capped"),
                    }
                self.requests[endpoint] += 1
            return 200, self._route(endpoint, match, query)
        return 404, {"title": "Not Found Error", "detail": f"no route {path}", "type": _problem("resource-not-found")}

    def _route(self, endpoint: str, match: re.Match[str], query: dict[str, str]) -> JSON:
        world = self.world
        if endpoint == "GET /2/users":
            return {"data": [world.user_json(i) for i in query["ids"].split(",") if i in world.users]}
        if endpoint == "GET /2/users/by":
            by_name = {a.username.lower(): a.id for a in world.accounts.values()}
            names = query["usernames"].split(",")
            return {"data": [world.user_json(by_name[n.lower()]) for n in names if n.lower() in by_name]}
        if endpoint == "GET /2/users/:id":
            return {"data": world.user_json(match[1])}
        account = world.accounts[match[1]] if endpoint != "GET /2/tweets/search/recent" else None
        size = int(query.get("max_results", "100"))
        if endpoint == "GET /2/users/:id/followers":
            assert account is not None
            offset = int(query.get("pagination_token", "0"))
            page = account.followers[offset : offset + size]
            meta: JSON = {"result_count": len(page)}
            if offset + size < len(account.followers):
                meta["next_token"] = str(offset + size)
            return {"data": [world.user_json(u) for u in page], "meta": meta} if page else {"meta": meta}
        if endpoint == "GET /2/users/:id/tweets":
            assert account is not None
            return world.tweets_body(account.posts, query, size)
        if endpoint == "GET /2/users/:id/mentions":
            assert account is not None
            return world.tweets_body(account.mentions, query, size)
        words = query.get("query", "")
        self.searches.append(words)
        conversations = [int(c) for c in CONVERSATION_TERM.findall(words)]
        found = {r.id: r for c in conversations for r in world.replies.get(c, [])}
        by_name = {a.username.lower(): a for a in world.accounts.values()}
        named = [by_name[n.lower()] for n in MENTION_TERM.findall(words) if n.lower() in by_name]
        found.update({t.id: t for a in named for t in a.mentions})
        return world.tweets_body(sorted(found.values(), key=lambda t: -t.id), query, size)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                status, body = server.answer(url.path, query)
                payload = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(payload)))
                self.send_header("x-rate-limit-limit", "15")
                self.send_header("x-rate-limit-remaining", "14")
                self.send_header("x-rate-limit-reset", "4102444800")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        return Handler


def _problem(kind: str) -> str:
    return f"https://api.twitter.com/2/problems/{kind}"


# --- pointing tweepy at the server --------------------------------------------------------------


class LoopbackAdapter(HTTPAdapter):
    """Sends requests for https://api.twitter.com to the fake server instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__(pool_maxsize=32)
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        assert request.url is not None
        request.url = self.base_url + request.url.removeprefix(X_HOST)
        return super().send(request, *args, **kwargs)


def route_x_to(base_url: str) -> Callable[[], None]:
    """Every tweepy client the X connector builds from now on talks to `base_url`. Returns the undo."""
    original = auth.build_client

    def build_client(**tokens: str) -> tweepy.Client:
        client = original(**tokens)
        client.session.mount(X_HOST, LoopbackAdapter(base_url))
        return client

    auth.build_client = build_client  # credentials_for() and the connector's app client look it up here

    def undo() -> None:
        auth.build_client = original

    return undo


def iter_accounts(world: FakeX) -> Iterator[FakeAccount]:
    yield from world.accounts.values()
