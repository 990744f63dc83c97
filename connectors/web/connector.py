"""The `web` connector: school websites and blogs (AP 80-06: "Blogger, RSS feeds, wikis ... are all
subject to the social media procedures").

A registration names the site in `handle:` (its URL) and says how to read it in `platform_id:`:
- `wordpress` (the default): the WordPress REST API, `/wp-json/wp/v2/posts` newest first until the
  look-back window is passed, and `/wp-json/wp/v2/comments?post=ID` for each post read; pages follow
  `X-WP-TotalPages` (else the `Link: rel="next"` header);
- `feed`: an RSS 2.0 or Atom document, parsed by feedparser. A feed carries posts only.

Neither lists who administers the site, so admins are the registry's declared ones. Commenters are
known by the name they typed: the directory can match them by name only (`likely`).
Every request goes through `self.call` (the shared resilience layer): 429 and 5xx are retried there.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import feedparser
import requests

from connectors.base import Connector, ConnectorContext, SnapshotBuilder
from connectors.resilience import PlatformError
from connectors.web.errors import WebHTTPError, classify
from models.snapshot import (
    AccountSnapshot,
    Capability,
    CollectionState,
    CollectionStatus,
    ErrorKind,
    Identity,
    Interaction,
    Post,
    Profile,
)
from models.tables import RegisteredAccount

JSON = dict[str, Any]
WORDPRESS, FEED = "wordpress", "feed"
PER_PAGE = 100  # the REST API's maximum `per_page`
MAX_PAGES = 50  # per listing: past this the collection is partial, never silently cut
TIMEOUT = (10, 30)  # connect, read (seconds)
MAX_ERROR_BODY = 64 * 1024  # an error page is read for its envelope only
# Only what the rules need (WordPress's `_fields`): no avatars, e-mail hashes or embedded author records.
POST_FIELDS = "id,date,date_gmt,link,title,content,excerpt,author"
COMMENT_FIELDS = "id,post,parent,author_name,date,date_gmt,content,link"
USER_AGENT = "school-social-auditor (AP 80-06 audit; read-only)"
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Page:
    """One page of a WordPress listing."""

    items: list[JSON]
    total_pages: int | None  # X-WP-TotalPages
    total: int | None  # X-WP-Total
    has_next: bool  # a `Link: <...>; rel="next"` header


def plain_text(rendered: str) -> str:
    """Rendered HTML (a post's content, a comment) as the words a reader sees."""
    return " ".join(html.unescape(_TAG.sub(" ", rendered)).split())


def parse_wp_date(value: str | None) -> datetime | None:
    """`date_gmt` is UTC without an offset ("2026-11-09T15:20:11")."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def site_of(account: RegisteredAccount) -> tuple[str, str]:
    """(how to read it, its URL) from the registration; PlatformError BAD_REQUEST when unusable."""
    kind = (account.platform_id or WORDPRESS).strip().lower()
    if kind not in (WORDPRESS, FEED):
        raise PlatformError(
            ErrorKind.BAD_REQUEST,
            f"platform_id {account.platform_id!r} is not a way to read a website",
            fix="set platform_id: wordpress (the site's REST API) or platform_id: feed (an RSS or Atom feed)",
        )
    url = (account.handle or "").strip()
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise PlatformError(
            ErrorKind.BAD_REQUEST,
            "the registry's handle is not the site's http(s) URL",
            fix="set handle: to the site's address (wordpress) or the feed's address (feed)",
        )
    return kind, url


def commenter(comment: JSON) -> Identity:
    """A commenter is the name they typed: no stable id (guests have `author: 0`), no handle."""
    return Identity(platform=WebConnector.name, display_name=str(comment["author_name"]).strip())


class WebConnector(Connector):
    name = "web"
    aliases = ("blog",)
    capabilities = frozenset({Capability.PROFILE, Capability.PARTICIPANTS, Capability.POSTS, Capability.INTERACTIONS})
    per_page: ClassVar[int] = PER_PAGE
    limitations = {
        Capability.ADMINS: (
            "a website publishes no list of who administers it (WordPress lists its users to logged-in "
            "editors only, a feed never): the admin and password rules use the registry's declared admins"
        ),
    }

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT

    def classify_error(self, error: BaseException) -> PlatformError:
        # Retry-After counts from when the site answered: the real clock, not the audit's as-of.
        return classify(error, now=datetime.now(UTC))

    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        builder = self.new_builder(account)
        builder.snapshot.cursor = dict(cursor)  # every pull reads the whole window: nothing to carry
        try:
            kind, url = site_of(account)
        except PlatformError as error:
            for capability in self.capabilities:
                builder.record_error(capability.value, error)
            return builder.snapshot
        if kind == FEED:
            self._pull_feed(builder, url)
        else:
            self._pull_wordpress(builder, url)
        return builder.snapshot

    @property
    def window_start(self) -> datetime:
        return self.context.window_start

    # --- HTTP ---------------------------------------------------------------------------------

    def _get(self, url: str, params: dict[str, str | int] | None = None) -> requests.Response:
        """One GET; an error status raises WebHTTPError (classified by `classify_error`)."""
        response = self._session.get(url, params=params, timeout=TIMEOUT)
        if response.status_code >= 400:
            raise WebHTTPError(response.status_code, response.content[:MAX_ERROR_BODY], dict(response.headers))
        return response

    def _get_page(self, url: str, params: dict[str, str | int]) -> Page:
        response = self._get(url, params)
        data = response.json()  # a ValueError here is classified `malformed`
        if not isinstance(data, list):
            raise TypeError(f"expected a JSON list of items, got {type(data).__name__}")
        return Page(
            items=data,
            total_pages=_int_header(response, "X-WP-TotalPages"),
            total=_int_header(response, "X-WP-Total"),
            has_next="next" in response.links,
        )

    def _pages(
        self, builder: SnapshotBuilder, collection: Capability, endpoint: str, url: str, params: dict[str, str | int]
    ) -> Iterator[JSON]:
        """Every item of a listing, page after page, to the last page (or MAX_PAGES: then partial)."""
        page_number = 1
        while True:
            page = self.call(builder, endpoint, self._get_page, url, {**params, "page": page_number})
            yield from page.items
            more = page_number < page.total_pages if page.total_pages is not None else page.has_next
            if not more or not page.items:
                return
            if page_number >= MAX_PAGES:
                left = f" of {page.total}" if page.total is not None else ""
                builder.mark_partial(
                    collection, f"stopped after {MAX_PAGES} pages{left} of {endpoint}: the rest was not read"
                )
                return
            page_number += 1

    # --- WordPress ----------------------------------------------------------------------------

    def _pull_wordpress(self, builder: SnapshotBuilder, site: str) -> None:
        api = site.rstrip("/") + "/wp-json"
        with builder.collect(Capability.PROFILE):
            index = self.call(builder, "GET /wp-json", self._get, api + "/", {"_fields": "name,description,url,home"})
            data = index.json()
            builder.snapshot.profile = Profile(
                handle=site,
                name=plain_text(str(data.get("name") or "")) or None,
                url=str(data.get("home") or data.get("url") or site),
                description=plain_text(str(data.get("description") or "")) or None,
            )
        posts: list[JSON] = []
        with builder.collect(Capability.POSTS):
            posts = self._wordpress_posts(builder, api, site)
        self._wordpress_comments(builder, api, posts)

    def _site_as_author(self, site: str, name: str | None) -> Identity:
        """Whoever writes a site's posts publishes them as the site: the post is the account's own (the rules
        read the account's own posts for confidential content). The writer's name, when the feed gives it,
        is kept as the display name."""
        return Identity(platform=self.name, handle=site, display_name=name or None)

    def _wordpress_posts(self, builder: SnapshotBuilder, api: str, site: str) -> list[JSON]:
        """Posts newest first until one is older than the look-back window (no date in the query, so a
        recording replays on any night)."""
        read: list[JSON] = []
        listing = self._pages(
            builder, Capability.POSTS, "GET /wp/v2/posts", api + "/wp/v2/posts",
            {"per_page": self.per_page, "orderby": "date", "order": "desc", "_fields": POST_FIELDS},
        )  # fmt: skip
        for item in listing:
            created = parse_wp_date(item.get("date_gmt") or item.get("date"))
            if created is not None and created < self.window_start:
                break
            title = plain_text(str(item["title"]["rendered"]))
            body = plain_text(str(item["content"]["rendered"]))
            builder.snapshot.posts.append(
                Post(
                    id=str(item["id"]),
                    created_at=created,
                    text=f"{title}\n\n{body}".strip(),
                    url=item.get("link"),
                    author=self._site_as_author(site, None),
                )
            )
            read.append(item)
        return read

    def _wordpress_comments(self, builder: SnapshotBuilder, api: str, posts: list[JSON]) -> None:
        posts_status = builder.snapshot.collections[Capability.POSTS.value]
        if posts_status.state == CollectionState.FAILED:
            # Which posts to read comments of is unknown: nothing about comments can be said.
            for capability in (Capability.INTERACTIONS, Capability.PARTICIPANTS):
                builder.snapshot.collections[capability.value] = posts_status.model_copy()
            return
        ids = [int(post["id"]) for post in posts]
        with builder.collect(Capability.INTERACTIONS):
            # `post` takes a list: one listing per page-full of posts, not one per post.
            for start in range(0, len(ids), self.per_page):
                self._comments_of(builder, api, ids[start : start + self.per_page])
        status = builder.snapshot.collections[Capability.INTERACTIONS.value]
        if status.state == CollectionState.COMPLETE and posts_status.state != CollectionState.COMPLETE:
            reason = f"only the comments of the posts read ({posts_status.reason})"
            builder.mark_partial(Capability.INTERACTIONS, reason)
        self._participants_from_comments(builder)

    def _comments_of(self, builder: SnapshotBuilder, api: str, post_ids: list[int]) -> None:
        listing = self._pages(
            builder, Capability.INTERACTIONS, "GET /wp/v2/comments", api + "/wp/v2/comments",
            {"post": ",".join(str(i) for i in post_ids), "per_page": self.per_page, "_fields": COMMENT_FIELDS},
        )  # fmt: skip
        comments = list(listing)
        authors = {int(c["id"]): commenter(c) for c in comments}
        for comment in comments:
            parent = int(comment.get("parent") or 0)
            builder.snapshot.interactions.append(
                Interaction(
                    kind="reply" if parent else "comment",
                    actor=commenter(comment),
                    target=authors.get(parent) if parent else None,  # a top-level comment addresses the post
                    post_id=str(comment["post"]),
                    thread_id=str(comment["post"]),
                    created_at=parse_wp_date(comment.get("date_gmt") or comment.get("date")),
                    text=plain_text(str(comment["content"]["rendered"])),
                    url=comment.get("link"),
                )
            )

    def _participants_from_comments(self, builder: SnapshotBuilder) -> None:
        """A site's participants are its commenters: their status is that of the comments read."""
        seen: dict[str, Identity] = {}
        for interaction in builder.snapshot.interactions:
            seen.setdefault(interaction.actor.key, interaction.actor)
        builder.snapshot.participants = list(seen.values())
        comments = builder.snapshot.collections[Capability.INTERACTIONS.value]
        builder.snapshot.collections[Capability.PARTICIPANTS.value] = CollectionStatus(
            state=comments.state,
            reason=comments.reason or "the site's commenters, by the name each typed",
            error=comments.error,
            retry_after=comments.retry_after,
        )

    # --- RSS / Atom -----------------------------------------------------------------------------

    def _pull_feed(self, builder: SnapshotBuilder, url: str) -> None:
        parsed: Any = None
        with builder.collect(Capability.PROFILE):
            response = self.call(builder, "GET feed", self._get, url)
            # feedparser looks headers up in lower case (the charset in Content-Type decides the decoding).
            headers = {name.lower(): value for name, value in response.headers.items()}
            parsed = feedparser.parse(response.content, response_headers=headers)
            if parsed.bozo and not parsed.entries and not parsed.get("version"):
                problem = type(parsed.get("bozo_exception")).__name__
                raise PlatformError(ErrorKind.MALFORMED, f"not an RSS or Atom feed ({problem})")
            feed = parsed.feed
            builder.snapshot.profile = Profile(
                handle=url,
                name=feed.get("title") or None,
                url=feed.get("link") or url,
                description=plain_text(feed.get("subtitle") or "") or None,
            )
        if parsed is None or builder.snapshot.profile is None:
            failure = builder.snapshot.collections[Capability.PROFILE.value]
            builder.snapshot.collections[Capability.POSTS.value] = failure.model_copy()
        else:
            with builder.collect(Capability.POSTS):
                self._feed_posts(builder, parsed, url)
            if parsed.bozo:
                # feedparser read what it could of a document that is not well-formed: later entries may be lost.
                problem = type(parsed.get("bozo_exception")).__name__
                builder.mark_partial(
                    Capability.POSTS,
                    f"the feed is not well-formed XML ({problem}): {len(parsed.entries)} entries could be read, "
                    "later ones may be missing",
                )
        reason = (
            "a feed carries posts only, not comments or commenters: register the site with platform_id: "
            "wordpress (its REST API) to audit comments"
        )
        for capability in (Capability.INTERACTIONS, Capability.PARTICIPANTS):
            builder.mark(capability, CollectionState.NOT_SUPPORTED, reason)

    def _feed_posts(self, builder: SnapshotBuilder, parsed: Any, url: str) -> None:
        for entry in parsed.entries:
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            created = datetime(*tuple(stamp)[:6]).replace(tzinfo=UTC) if stamp else None  # struct_time in UTC
            if created is not None and created < self.window_start:
                continue  # feeds are not always newest first: look at every entry
            title = entry.get("title") or ""
            summary = plain_text(entry.get("summary") or "")
            # `author_detail.name`: `author` appends the author's e-mail ("Name (x@y)"), which no rule needs.
            author = (entry.get("author_detail") or {}).get("name") or entry.get("author")
            builder.snapshot.posts.append(
                Post(
                    id=str(entry.get("id") or entry.get("link") or title),
                    created_at=created,
                    text=f"{title}\n\n{summary}".strip(),
                    url=entry.get("link"),
                    author=self._site_as_author(url, author),
                )
            )


def _int_header(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
