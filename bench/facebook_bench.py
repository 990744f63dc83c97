"""Facebook Pages: the requests of a full run against the floor (`make bench`, one line of targets).

    python -m bench.facebook_bench [--pages 60] [--seed 8]

The real connector (`connectors.facebook`, the facebook-business SDK, the resilience layer) reads a
generated division of Pages; Graph is answered in-process: `requests.Session.send` is wrapped so
that every request the SDK sends to graph.facebook.com is answered from the generated Pages in
Graph's shapes (`data`, `paging`, `summary`, comments nested by field expansion when asked for, as
in ../shared/reference/real-traffic/facebook/) and counted per endpoint. Nothing of the connector is
replaced.

The division: each Page has 10-40 posts in the 30-day window, three in four with 1-30 comments
(a quarter of those with 1-3 replies each), one post in a hundred with 150-300 comments, 0-3
visitor posts and 0-3 tags.

The floor is what an oracle needs with the same edges: the Page node, /roles, /agencies, one page
of posts per 100 posts (comments nested in it), one of visitor posts and one of tags, and for a post
with more than 100 comments one more request per 100 (following the nested `paging.next`). Graph
meters calls, not units: its Page rate limit counts each of these requests.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from auditor.policy import Policy
from connectors.facebook import FacebookConnector
from connectors.facebook.settings import FacebookSettings
from connectors.resilience import Deadline
from models.tables import RegisteredAccount
from tests.contexts import context_for

AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
LOOKBACK_DAYS = 30
PAGE_SIZE = 100
TARGET_RATIO = 1.1
GRAPH = re.compile(r"^/v[\d.]+/(?P<node>[^/]+)/?(?P<edge>[a-z_]*)$")


@dataclass
class FakeComment:
    id: str
    author: str
    created: datetime
    replies: list[FakeComment] = field(default_factory=list)

    def json(self, parent: FakeComment | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "message": "Congratulations to everyone!",
            "created_time": self.created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "from": {"id": self.author, "name": f"Person {self.author[-5:]}"},
            "permalink_url": f"https://www.facebook.com/{self.id}",
        }
        if parent is not None:
            body["parent"] = {"id": parent.id, "from": {"id": parent.author, "name": "x"}}
        return body


@dataclass
class FakePost:
    id: str
    created: datetime
    comments: list[FakeComment] = field(default_factory=list)
    author: str | None = None  # a visitor post's author; None: the Page

    def stream(self) -> list[dict[str, Any]]:
        """filter=stream: every comment and reply, flattened, in time order."""
        flat = [(c.created, c.json()) for c in self.comments]
        flat += [(r.created, r.json(c)) for c in self.comments for r in c.replies]
        return [body for _, body in sorted(flat, key=lambda pair: pair[0])]


@dataclass
class FakePage:
    id: str
    posts: list[FakePost] = field(default_factory=list)
    visitor_posts: list[FakePost] = field(default_factory=list)
    tagged: list[FakePost] = field(default_factory=list)


class FakeGraph:
    """Generated Pages, answered in Graph's shapes; counts requests per endpoint."""

    def __init__(self, pages: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pages: dict[str, FakePage] = {}
        self.posts: dict[str, FakePost] = {}
        self.requests: Counter[str] = Counter()
        self._serial = 0
        for index in range(pages):
            page = FakePage(str(108_000_000_000_000 + index))
            for _ in range(self.rng.randint(10, 40)):
                page.posts.append(self._post(page, busy=self.rng.random() < 0.01))
            page.visitor_posts = [self._post(page, author=self._id()) for _ in range(self.rng.randint(0, 3))]
            page.tagged = [self._post(page, author=self._id(), comments=False) for _ in range(self.rng.randint(0, 3))]
            for feed in (page.posts, page.visitor_posts, page.tagged):
                feed.sort(key=lambda p: p.created, reverse=True)
            self.pages[page.id] = page

    def _id(self) -> str:
        self._serial += 1
        return str(122_000_000_000_000 + self._serial)

    def _post(
        self, page: FakePage, *, busy: bool = False, author: str | None = None, comments: bool = True
    ) -> FakePost:
        created = AS_OF - timedelta(hours=self.rng.uniform(1, 24 * LOOKBACK_DAYS - 2))
        post = FakePost(f"{page.id}_{self._id()}", created, author=author)
        count = self.rng.randint(150, 300) if busy else (self.rng.randint(1, 30) if self.rng.random() < 0.75 else 0)
        for n in range(count if comments else 0):
            comment = FakeComment(self._id(), self._id(), created + timedelta(minutes=n + 1))
            if self.rng.random() < 0.25:
                comment.replies = [
                    FakeComment(self._id(), self._id(), comment.created + timedelta(seconds=k + 1))
                    for k in range(self.rng.randint(1, 3))
                ]
            post.comments.append(comment)
        self.posts[post.id] = post
        return post

    # --- answers -----------------------------------------------------------------------------

    def answer(self, url: str) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        match = GRAPH.match(parts.path)
        if match is None:
            return 404, {"error": {"message": "Unknown path", "type": "GraphMethodException", "code": 100}}
        node, edge = match["node"], match["edge"]
        if node in self.posts and edge == "comments":
            self.requests["GET /{post-id}/comments"] += 1
            return 200, _cursor_page(self.posts[node].stream(), query, url)
        page = self.pages.get(node)
        if page is None:
            return 404, {"error": {"message": "Unsupported get request", "type": "GraphMethodException", "code": 100}}
        self.requests["GET /{page-id}" + (f"/{edge}" if edge else "")] += 1
        if not edge:
            return 200, {"id": page.id, "name": f"School Page {page.id[-3:]}", "followers_count": 1200}
        if edge in ("roles", "agencies", "assigned_users"):
            return 200, {"data": [{"id": "100000000000001", "name": "ITS", "tasks": ["MANAGE"]}] * (edge == "roles")}
        feed = {"posts": page.posts, "visitor_posts": page.visitor_posts, "tagged": page.tagged}[edge]
        since = datetime.fromtimestamp(int(query.get("since", "0")), UTC)
        posts = [p for p in feed if p.created >= since][:PAGE_SIZE]  # the division's feeds fit one page
        nested = "comments.limit(" in query.get("fields", "")
        return 200, {"data": [_post_json(p, page, nested) for p in posts]}


def _post_json(post: FakePost, page: FakePage, nested: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": post.id,
        "message": "School update",
        "created_time": post.created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "permalink_url": f"https://www.facebook.com/{post.id}",
        "from": {"id": post.author or page.id, "name": "Someone" if post.author else "School Page"},
    }
    if nested:  # comments.limit(100).summary(true){..., comments.limit(100){...}}
        tops = post.comments[:PAGE_SIZE]
        data = []
        for comment in tops:
            item = comment.json()
            if comment.replies:
                item["comments"] = {"data": [r.json(comment) for r in comment.replies[:PAGE_SIZE]]}
            data.append(item)
        comments: dict[str, Any] = {
            "data": data,
            "summary": {"order": "chronological", "total_count": len(post.comments), "can_comment": True},
        }
        if len(post.comments) > PAGE_SIZE:
            after = _cursor(PAGE_SIZE)
            comments["paging"] = {
                "cursors": {"before": _cursor(0), "after": after},
                "next": f"https://graph.facebook.com/v26.0/{post.id}/comments?limit=100&after={after}",
            }
        body["comments"] = comments
    return body


def _cursor(offset: int) -> str:
    return f"b2Zmc2V0{offset:08d}"


def _cursor_page(items: list[dict[str, Any]], query: dict[str, str], url: str) -> dict[str, Any]:
    start = int(query["after"][-8:]) if "after" in query else 0
    limit = int(query.get("limit", "25"))
    page: dict[str, Any] = {
        "data": items[start : start + limit],
        "paging": {"cursors": {"before": _cursor(start), "after": _cursor(start + limit)}},
    }
    if start + limit < len(items):
        page["paging"]["next"] = f"{url.split('?')[0]}?limit={limit}&after={_cursor(start + limit)}"
    return page


@contextmanager
def serving(graph: FakeGraph) -> Iterator[None]:
    """Every request to graph.facebook.com answered by `graph` (the SDK's own session sends it)."""
    original: Callable[..., requests.Response] = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if not str(request.url).startswith("https://graph.facebook.com/"):
            return original(self, request, **kwargs)
        status, body = graph.answer(str(request.url))
        response = requests.Response()
        response.status_code, response.url, response.request = status, str(request.url), request
        response._content = json.dumps(body).encode("utf-8")
        response.headers["Content-Type"] = "application/json; charset=UTF-8"
        return response

    requests.Session.send = send  # type: ignore[method-assign]
    try:
        yield
    finally:
        requests.Session.send = original  # type: ignore[method-assign]


def floor(graph: FakeGraph) -> Counter[str]:
    bound: Counter[str] = Counter()
    for page in graph.pages.values():
        bound["GET /{page-id}"] += 1
        bound["GET /{page-id}/roles"] += 1
        bound["GET /{page-id}/agencies"] += 1
        for edge in ("posts", "visitor_posts", "tagged"):
            bound[f"GET /{{page-id}}/{edge}"] += max(1, math.ceil(len(getattr(page, edge)) / PAGE_SIZE))
        for post in page.posts + page.visitor_posts:
            if len(post.comments) > PAGE_SIZE:  # the rest after the nested first 100, by the nested paging.next
                bound["GET /{post-id}/comments"] += math.ceil(len(post.stream()) / PAGE_SIZE) - 1
    return bound


def registry(graph: FakeGraph) -> list[RegisteredAccount]:
    return [
        RegisteredAccount(
            key=f"page-{index:03d}",
            platform="facebook",
            connector="facebook",
            platform_id=page_id,
            school=f"School {index}",
            purpose="School news",
            kind="joint",
            audience="public",
        )
        for index, page_id in enumerate(graph.pages)
    ]


def full_run(graph: FakeGraph) -> tuple[Counter[str], Counter[str]]:
    """Every Page pulled by the real connector; returns (requests the fake counted, the connector's estimate)."""
    settings = FacebookSettings(FACEBOOK_ACCESS_TOKEN="bench-placeholder-token")  # type: ignore[call-arg]
    policy = Policy(lookback_days=LOOKBACK_DAYS, approved_platforms=["facebook"])
    predicted: Counter[str] = Counter()
    for account in registry(graph):
        context = context_for(
            FacebookConnector, settings=settings, policy=policy, as_of=AS_OF, deadline=Deadline(600), full=True
        )
        connector = FacebookConnector(context)
        predicted.update(connector.estimate(account, {}, None).requests)
        snapshot = connector.pull(account, {})
        assert snapshot.collections["interactions"].state.value == "complete", snapshot.collections
    return Counter(graph.requests), predicted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    graph = FakeGraph(args.pages, args.seed)
    posts = sum(len(p.posts) + len(p.visitor_posts) for p in graph.pages.values())
    comments = sum(len(post.stream()) for post in graph.posts.values())
    print(f"generated {args.pages} Pages, {posts:,} posts and visitor posts, {comments:,} comments and replies")
    started = time.perf_counter()
    with serving(graph):
        made, predicted = full_run(graph)
    bound = floor(graph)
    print(f"\nfull run ({time.perf_counter() - started:.0f} s, the connector only)")
    print(f"  {'endpoint':<32} {'made':>8} {'floor':>8} {'dry run':>8}")
    for endpoint in sorted(set(made) | set(bound)):
        print(f"  {endpoint:<32} {made[endpoint]:>8,} {bound[endpoint]:>8,} {predicted[endpoint]:>8,}")
    total, least = sum(made.values()), sum(bound.values())
    print(f"  {'total':<32} {total:>8,} {least:>8,} {sum(predicted.values()):>8,}")
    print(f"  (before comments were nested: one more request per post, {posts:,} here)")
    ratio = total / least
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print("\ntargets")
    print(f"  facebook full run requests <= {TARGET_RATIO} x floor: {total:,} / {least:,} = {ratio:.3f}  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
