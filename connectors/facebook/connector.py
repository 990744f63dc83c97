"""The Facebook Pages connector (facebook-business SDK, Graph API v26.0).

Why not `facebook-sdk`: its last release (3.1.0, 2018) refuses Graph versions above 3.1, all long
retired. The official `facebook-business` SDK is used instead, one API instance per Page (no global
default, so two Pages never share a token), without its crash reporter (`crash_log` would POST
tracebacks to Meta) and with an explicit timeout.

What Graph shows for a Page, and what it does not:
- profile: the Page node (id, name, link, follower and fan counts, published state);
- admins, observed: `/roles` (people outside a Business; classic role `Admin` or the MANAGE task),
  `/assigned_users` (people a Business assigned, with their tasks; needs the Business id) and
  `/agencies` (partner businesses);
- posts in the look-back window (`/posts`), their comments and replies (`filter=stream`), posts
  that tag the Page (`/tagged`) and visitor posts (`/visitor_posts`);
- no API lists a Page's followers (only counts), and the Groups API is gone since 22 April 2024:
  participants here are the people who comment, reply, tag or post.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from facebook_business.adobjects.assigneduser import AssignedUser
from facebook_business.adobjects.business import Business
from facebook_business.adobjects.comment import Comment
from facebook_business.adobjects.page import Page
from facebook_business.adobjects.pagepost import PagePost
from facebook_business.adobjects.user import User
from facebook_business.api import FacebookAdsApi

from connectors.base import Connector, CredentialCheck, Estimate, SnapshotBuilder
from connectors.facebook.errors import PASSWORD_CHANGED, classify_graph_error
from connectors.facebook.paging import GraphCursor
from connectors.facebook.remediation import REMEDIATION
from connectors.facebook.session import graph_api
from connectors.facebook.settings import (
    CREDENTIAL_VARIABLES,
    PAGE_TOKEN,
    FacebookSettings,
)
from connectors.resilience import PlatformError
from models.snapshot import (
    AccountSnapshot,
    AdminRole,
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

T = TypeVar("T")

PAGE_SIZE = 100  # Graph's usual cap per edge page
MAX_PAGES = 50  # per edge and run: beyond this the collection is reported partial
TEXT_LIMIT = 500  # students are minors: keep an excerpt, enough for hashtags and keywords
CURSOR_POSTS_SINCE = "posts_since"  # when the posts were last read: the next pull reads what is newer

BUSINESS_ID = "FACEBOOK_BUSINESS_ID"
PAGE_FIELDS = ["id", "name", "username", "link", "followers_count", "fan_count", "is_published"]
POST_FIELDS = ["id", "message", "created_time", "permalink_url", "from{id,name}"]
COMMENT_FIELDS = ["id", "message", "created_time", "from{id,name}", "parent", "permalink_url"]
# Comments nested in the posts request (field expansion): one request per page of posts instead of one
# per post. A comment's replies come nested in it; a post (or comment) with more than one page of them
# says so by a `paging.next`, and only that post's comments are then read by their own edge.
_REPLY_FIELDS = ",".join(COMMENT_FIELDS)
_TOP_FIELDS = ",".join(f for f in COMMENT_FIELDS if f != "parent")
# `summary(true)`: Graph then always sends `comments` (empty: total_count 0); a post without it was not
# told about, and its edge is read. (A comment without replies has no nested `comments`: Graph leaves
# empty edges out of an expansion.)
NESTED_COMMENTS = (
    f"comments.limit({PAGE_SIZE}).summary(true){{{_TOP_FIELDS},comments.limit({PAGE_SIZE}){{{_REPLY_FIELDS}}}}}"
)
THREAD_FIELDS = [*POST_FIELDS, NESTED_COMMENTS]  # posts and visitor posts, with their comments
ASSIGNED_USER_FIELDS = ["id", "name", "user_type", "tasks", "permitted_tasks"]
FULL_CONTROL_TASK = "MANAGE"
COMMENTS_EDGE = "GET /{post-id}/comments"
HASHTAG = re.compile(r"#\w+")

PARTICIPANTS_LIMITATION = (
    "No Facebook API lists a Page's followers or likers (only their counts); participants are the people "
    "who commented, replied, tagged the Page or posted on it. Facebook groups cannot be read since the "
    "Groups API was removed on 22 April 2024: audit closed groups with the `manual` connector (an ITS export)."
)


class FacebookConnector(Connector):
    name = "facebook"
    remediation: ClassVar[dict[str, str]] = REMEDIATION
    aliases = ("fb", "facebook-page")
    incremental = True  # posts (and their comments) are asked for since the previous snapshot's clock
    capabilities = frozenset({Capability.PROFILE, Capability.ADMINS, Capability.POSTS, Capability.INTERACTIONS})
    limitations = {Capability.PARTICIPANTS: PARTICIPANTS_LIMITATION}
    # Graph lists a Page's and a group's admins by numeric id; a display name is never an exact match.
    its_admin_form = (r"\d+", "a numeric Facebook id (as Graph lists admins), not a display name or @handle")
    # No `lookup_accounts` / `search_accounts`: reading a Page the Division does not manage (by name or by
    # search, `/pages/search`) needs Meta's Page Public Content Access feature, granted only after App
    # Review to apps with a public-content use case; a Division's Page tokens do not carry it.
    discovery_notes = (
        "no lookup or search: Page search and reading Pages the Division does not manage need Page Public "
        "Content Access (Meta App Review), which the Division's app does not have; Facebook candidates are "
        "scored on their handle and the posts that name them"
    )

    settings_model = FacebookSettings
    approved_by_default = True  # AP 80-06 names it
    profile_hosts = ("facebook.com", "fb.com")
    profile_url = "https://www.facebook.com/{handle}"
    participants_from_interactions = True  # no API lists a Page's followers: its commenters take part
    credential_variables = CREDENTIAL_VARIABLES

    @property
    def settings(self) -> FacebookSettings:
        return self.context.settings_as(FacebookSettings)

    # --- entry points ---------------------------------------------------------------------

    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        builder = self.new_builder(account)
        self._pages_done: Counter[Capability] = Counter()
        # post id -> its comments as the posts request nested them (None: read its comments edge)
        self._nested: dict[str, list[dict[str, Any]] | None] = {}
        self._token_variable = self.settings.account_variable(account.key, PAGE_TOKEN)
        api = self._api_for(account)
        if api is None:
            missing = PlatformError(ErrorKind.AUTH, "no Facebook token configured", fix=self._token_fix())
            self._fail_all(builder, missing)
            return builder.snapshot
        page_id = account.platform_id or (account.handle or "").lstrip("@")
        with builder.collect(Capability.PROFILE):
            self._read_profile(builder, api, page_id)
        profile = builder.snapshot.profile
        if profile is None or not builder.snapshot.usable(Capability.PROFILE):
            self._fail_rest(builder)
            return builder.snapshot
        page = Page(profile.id or page_id, api=api)
        page_identity = Identity(
            platform=self.name, id=profile.id, handle=profile.handle, display_name=profile.name, url=profile.url
        )
        with builder.collect(Capability.ADMINS):
            self._read_admins(builder, account, page)
        since = self._since(cursor)
        with builder.collect(Capability.POSTS):
            self._read_posts(builder, page, page_identity, since)
        if builder.snapshot.usable(Capability.POSTS):
            with builder.collect(Capability.INTERACTIONS):
                self._read_interactions(builder, page, page_identity, since)
        else:
            builder.snapshot.collections[Capability.INTERACTIONS.value] = _copy(
                builder.snapshot.collections[Capability.POSTS.value], "comments are read per post: "
            )
        builder.snapshot.participants = _participants(builder.snapshot.interactions, page_identity)
        read_all = all(
            builder.snapshot.collections[c.value].state == CollectionState.COMPLETE
            for c in (Capability.POSTS, Capability.INTERACTIONS)
        )
        # Move the cursor only past a window read completely; otherwise the next run reads it again.
        builder.snapshot.cursor = {CURSOR_POSTS_SINCE: self.context.as_of.isoformat()} if read_all else dict(cursor)
        builder.snapshot.notes.append(
            "participants = people who commented, replied, tagged the Page or posted on it "
            "(no API lists Page followers; Facebook groups are audited through the manual connector)"
        )
        return builder.snapshot

    def estimate(
        self, account: RegisteredAccount, cursor: dict[str, str], previous: AccountSnapshot | None
    ) -> Estimate:
        """One request for the Page, each admin edge, each feed page and each post whose comments did not
        fit the posts answer (100 comments, 100 replies each). A full run (or one whose previous pull did
        not finish the window) reads the window again: as many feed pages and comment edges as last time;
        a nightly run reads only what is new since: one page of each feed, comments nested in it."""
        requests = {"GET /{page-id}": 1, "GET /{page-id}/roles": 1, "GET /{page-id}/agencies": 1}
        if self.settings.account_secret(account.key, BUSINESS_ID) is not None:
            requests["GET /{page-id}/assigned_users"] = 1
        window = self.context.full or _parse_time(cursor.get(CURSOR_POSTS_SINCE)) is None
        feeds = ("GET /{page-id}/posts", "GET /{page-id}/visitor_posts", "GET /{page-id}/tagged")
        before = previous.requests if previous is not None and window else {}
        for feed in feeds:
            requests[feed] = max(1, before.get(feed, 0))
        if before.get(COMMENTS_EDGE):
            requests[COMMENTS_EDGE] = before[COMMENTS_EDGE]
        basis = "the window again, as the previous pull read it" if before else "one page of each feed"
        return Estimate(requests, 0, {}, f"{basis}; comments nested in the feed pages")

    def classify_error(self, error: BaseException) -> PlatformError:
        return classify_graph_error(error, getattr(self, "_token_variable", f"ACCOUNT_<KEY>_{PAGE_TOKEN}"))

    def check_credentials(self, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
        """`auditor doctor`: see connectors/facebook/doctor.py."""
        from connectors.facebook.doctor import check_facebook

        return check_facebook(self, accounts)

    # --- session --------------------------------------------------------------------------

    def _api_for(self, account: RegisteredAccount) -> FacebookAdsApi | None:
        return graph_api(self.settings, account.key, PAGE_TOKEN)

    def _token_fix(self) -> str:
        return f"set {self._token_variable} (the Page's token) or FACEBOOK_ACCESS_TOKEN (a system-user token)"

    # --- profile --------------------------------------------------------------------------

    def _read_profile(self, builder: SnapshotBuilder, api: FacebookAdsApi, page_id: str) -> None:
        if not page_id:
            raise PlatformError(ErrorKind.BAD_REQUEST, "the registry gives neither platform_id nor handle")
        node = self._graph(builder, "GET /{page-id}", Page(page_id, api=api).api_get, fields=PAGE_FIELDS)
        data = node.export_all_data()
        counts = {
            name: int(data[key])
            for key, name in (("followers_count", "followers"), ("fan_count", "fans"))
            if isinstance(data.get(key), int)
        }
        builder.snapshot.profile = Profile(
            id=str(data.get("id") or page_id),
            handle=data.get("username"),
            name=data.get("name"),
            url=data.get("link"),
            closed=False,  # Pages are public; unpublished Pages are shown by `published`
            published=data.get("is_published"),
            counts=counts,
        )

    def _graph(self, builder: SnapshotBuilder, endpoint: str, fn: Callable[..., T], **kwargs: Any) -> T:
        """`self.call`, noting a token that died of a password change whichever call saw it."""
        try:
            return self.call(builder, endpoint, fn, **kwargs)
        except PlatformError as error:
            self._note_dead_token(builder, error)
            raise

    def _note_dead_token(self, builder: SnapshotBuilder, error: PlatformError) -> None:
        """Graph 190/460: somebody changed the password of the account the token belongs to."""
        seen = builder.snapshot.password_changed_at is not None
        if not seen and error.kind == ErrorKind.AUTH and (error.code or "").endswith(f"/{PASSWORD_CHANGED}"):
            builder.snapshot.password_changed_at = self.context.as_of
            builder.snapshot.notes.append(
                f"password changed: Graph invalidated the Page token because its user changed their "
                f"password (190/460), observed no later than {self.context.as_of:%Y-%m-%d %H:%M} UTC"
            )

    # --- admins ---------------------------------------------------------------------------

    def _read_admins(self, builder: SnapshotBuilder, account: RegisteredAccount, page: Page) -> None:
        admins = builder.snapshot.admins  # filled as pages arrive: a throttle midway keeps what was read
        for raw in self._items(builder, "GET /{page-id}/roles", GraphCursor(page, User, endpoint="roles")):
            admins.append(self._role(raw))
        business = self.settings.account_secret(account.key, BUSINESS_ID)
        if business is not None:
            cursor = GraphCursor(
                page,
                AssignedUser,
                fields=ASSIGNED_USER_FIELDS,
                params={"business": business.get_secret_value()},
                endpoint="assigned_users",
            )
            admins += [self._assigned(raw) for raw in self._items(builder, "GET /{page-id}/assigned_users", cursor)]
        for raw in self._items(builder, "GET /{page-id}/agencies", GraphCursor(page, Business, endpoint="agencies")):
            admins.append(self._agency(raw))
        builder.snapshot.admins = _dedupe_admins(admins)  # one person seen in /roles and /assigned_users
        if business is None:
            self._note_no_business(builder, account)

    def _note_no_business(self, builder: SnapshotBuilder, account: RegisteredAccount) -> None:
        variable = self.settings.account_variable(account.key, BUSINESS_ID)
        people = [a for a in builder.snapshot.admins if a.role != "agency"]
        if people:
            builder.snapshot.notes.append(
                f"admins from /roles only: people assigned through a Business portfolio are read when {variable} is set"
            )
            return
        # Every Page has somebody with access: an empty /roles means they sit in a Business.
        builder.mark_partial(
            Capability.ADMINS,
            f"/roles lists nobody, so the Page's people are assigned through a Business portfolio: "
            f"set {variable} to read /assigned_users",
        )

    def _role(self, raw: dict[str, Any]) -> AdminRole:
        tasks = [str(t) for t in raw.get("tasks") or []]
        role = str(raw.get("role") or ("MANAGE" if FULL_CONTROL_TASK in tasks else "task access"))
        is_admin = FULL_CONTROL_TASK in tasks or role.lower() == "admin"
        return AdminRole(identity=self._identity(raw), role=role, tasks=tasks, is_admin=is_admin)

    def _assigned(self, raw: dict[str, Any]) -> AdminRole:
        tasks = [str(t) for t in raw.get("tasks") or raw.get("permitted_tasks") or []]
        kind = str(raw.get("user_type") or "business user").lower().replace("_", " ")
        return AdminRole(identity=self._identity(raw), role=kind, tasks=tasks, is_admin=FULL_CONTROL_TASK in tasks)

    def _agency(self, raw: dict[str, Any]) -> AdminRole:
        tasks = [str(t) for t in raw.get("permitted_tasks") or raw.get("tasks") or []]
        return AdminRole(identity=self._identity(raw), role="agency", tasks=tasks, is_admin=FULL_CONTROL_TASK in tasks)

    # --- posts ----------------------------------------------------------------------------

    def _since(self, cursor: dict[str, str]) -> datetime:
        """Start of the look-back window; later when the previous run already read up to a moment."""
        window = self.context.window_start
        previous = None if self.context.full else _parse_time(cursor.get(CURSOR_POSTS_SINCE))
        return max(window, previous) if previous and previous < self.context.as_of else window

    def _feed(self, page: Page, edge: str, since: datetime, fields: list[str] = POST_FIELDS) -> GraphCursor:
        params = {"limit": PAGE_SIZE, "since": int(since.timestamp())}
        return GraphCursor(page, PagePost, fields=fields, params=params, endpoint=edge)

    def _read_posts(self, builder: SnapshotBuilder, page: Page, page_identity: Identity, since: datetime) -> None:
        seen: set[str] = set()
        self._nested = {}
        feed = self._feed(page, "posts", since, THREAD_FIELDS)
        for raw in self._items(builder, "GET /{page-id}/posts", feed, since=since):
            if str(raw["id"]) in seen:
                continue  # time paging can repeat a post at a page boundary
            seen.add(str(raw["id"]))
            self._nested[str(raw["id"])] = _nested_comments(raw)
            builder.snapshot.posts.append(
                Post(
                    id=str(raw["id"]),
                    created_at=_parse_time(raw.get("created_time")),
                    text=_excerpt(raw.get("message")),
                    url=raw.get("permalink_url"),
                    author=self._identity(raw["from"]) if isinstance(raw.get("from"), dict) else page_identity,
                    hashtags=_hashtags(raw.get("message")),
                )
            )

    # --- interactions ---------------------------------------------------------------------

    def _read_interactions(
        self, builder: SnapshotBuilder, page: Page, page_identity: Identity, since: datetime
    ) -> None:
        interactions = builder.snapshot.interactions
        threads: list[tuple[str, Identity | None]] = [(p.id, None) for p in builder.snapshot.posts]
        visitor = self._feed(page, "visitor_posts", since, THREAD_FIELDS)
        for raw in self._items(builder, "GET /{page-id}/visitor_posts", visitor, since=since):
            author = self._author(raw)
            if author is not None and author.key != page_identity.key:
                interactions.append(self._post_interaction("visitor_post", raw, author))
            threads.append((str(raw["id"]), author))
            self._nested.setdefault(str(raw["id"]), _nested_comments(raw))
        tagged = self._feed(page, "tagged", since)
        for raw in self._items(builder, "GET /{page-id}/tagged", tagged, since=since):
            author = self._author(raw)
            if author is not None and author.key != page_identity.key:
                interactions.append(self._post_interaction("tag", raw, author))
        anonymous = 0
        for post_id, post_author in threads:
            anonymous += self._read_comments(builder, page, post_id, post_author, page_identity)
        if anonymous:
            builder.mark_partial(
                Capability.INTERACTIONS,
                f"{anonymous} comments came without their author: the token is not this Page's own token or "
                f"lacks pages_read_user_content",
            )

    def _read_comments(
        self,
        builder: SnapshotBuilder,
        page: Page,
        post_id: str,
        post_author: Identity | None,
        page_identity: Identity,
    ) -> int:
        """Comments and replies of one post: those nested in the post's own answer when it held them all,
        else its comments edge (flattened by filter=stream). Returns comments without author."""
        comments = self._nested.get(post_id)
        if comments is None:
            params = {"filter": "stream", "order": "chronological", "limit": PAGE_SIZE}
            post = PagePost(post_id, api=page.get_api())
            cursor = GraphCursor(post, Comment, fields=COMMENT_FIELDS, params=params, endpoint="comments")
            comments = _unique(self._items(builder, COMMENTS_EDGE, cursor))
        authors = {str(c.get("id")): self._author(c) for c in comments if c.get("id")}
        anonymous = 0
        for raw in comments:
            actor = self._author(raw)
            if actor is None:
                anonymous += 1
                continue
            if actor.key == page_identity.key:
                continue  # the Page answering: no person to attribute it to
            parent = raw.get("parent") if isinstance(raw.get("parent"), dict) else None
            if parent:
                target = authors.get(str(parent.get("id"))) or self._author(parent)
                kind = "reply"
            else:
                target, kind = post_author, "comment"
            if target is not None and target.key == page_identity.key:
                target = None  # None = the account itself
            builder.snapshot.interactions.append(
                Interaction(
                    kind=kind,
                    actor=actor,
                    target=target,
                    post_id=str(raw.get("id") or post_id),
                    thread_id=post_id,
                    created_at=_parse_time(raw.get("created_time")),
                    text=_excerpt(raw.get("message")),
                    url=raw.get("permalink_url"),
                    hashtags=_hashtags(raw.get("message")),
                )
            )
        return anonymous

    def _post_interaction(self, kind: str, raw: dict[str, Any], author: Identity) -> Interaction:
        return Interaction(
            kind=kind,
            actor=author,
            target=None,
            post_id=str(raw["id"]),
            thread_id=str(raw["id"]),
            created_at=_parse_time(raw.get("created_time")),
            text=_excerpt(raw.get("message")),
            url=raw.get("permalink_url"),
            hashtags=_hashtags(raw.get("message")),
        )

    # --- paging ---------------------------------------------------------------------------

    def _items(
        self, builder: SnapshotBuilder, endpoint: str, cursor: GraphCursor, since: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of an edge, one counted and retried request per page (the SDK cursor pages)."""
        collection = _collection_of(endpoint)
        while not cursor.finished:
            if cursor.pages_read >= MAX_PAGES:
                builder.mark_partial(collection, f"stopped after {MAX_PAGES} pages of {endpoint}")
                return
            try:
                self._graph(builder, endpoint, cursor.load_next_page)
            except PlatformError:
                if self._pages_done[collection]:
                    # Some of this collection was read: a throttle now leaves it partial, not failed.
                    builder.mark_partial(collection, f"interrupted at {endpoint}")
                raise
            self._pages_done[collection] += 1
            if since is None:
                yield from cursor.page
                continue
            yield from (item for item in cursor.page if not _older_than([item], since))
            if _older_than(cursor.page, since):
                return  # feeds are newest first: the window is read

    # --- identities -----------------------------------------------------------------------

    def _identity(self, raw: dict[str, Any]) -> Identity:
        return Identity(
            platform=self.name, id=str(raw["id"]) if raw.get("id") else None, display_name=raw.get("name") or None
        )

    def _author(self, raw: dict[str, Any]) -> Identity | None:
        person = raw.get("from")
        if not isinstance(person, dict) or not (person.get("id") or person.get("name")):
            return None
        return self._identity(person)

    # --- failure propagation --------------------------------------------------------------

    def _fail_all(self, builder: SnapshotBuilder, error: PlatformError) -> None:
        for capability in sorted(self.capabilities):
            builder.record_error(capability.value, error)

    def _fail_rest(self, builder: SnapshotBuilder) -> None:
        status = builder.snapshot.collections[Capability.PROFILE.value]
        for capability in (Capability.ADMINS, Capability.POSTS, Capability.INTERACTIONS):
            builder.snapshot.collections[capability.value] = _copy(status, "the Page could not be read: ")


def _copy(status: CollectionStatus, prefix: str) -> CollectionStatus:
    return CollectionStatus(
        state=status.state if status.state != CollectionState.COMPLETE else CollectionState.FAILED,
        reason=prefix + (status.reason or ""),
        error=status.error,
        retry_after=status.retry_after,
    )


def _collection_of(endpoint: str) -> Capability:
    if any(edge in endpoint for edge in ("roles", "assigned_users", "agencies")):
        return Capability.ADMINS
    if endpoint.endswith("/posts"):
        return Capability.POSTS
    return Capability.INTERACTIONS


def _nested_comments(post: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A post's comments and their replies as its answer nested them, flattened as filter=stream lists
    them (a reply with its `parent`); None when Graph had more than it nested (a `paging.next`) or sent
    no `comments` at all: the post's comments edge is then read."""
    nested = post.get("comments")
    if not isinstance(nested, dict) or (nested.get("paging") or {}).get("next"):
        return None
    flat: list[dict[str, Any]] = []
    for comment in nested.get("data") or []:
        if not isinstance(comment, dict):
            continue
        replies = comment.get("comments")
        if isinstance(replies, dict) and (replies.get("paging") or {}).get("next"):
            return None
        flat.append({k: v for k, v in comment.items() if k != "comments"})
        for reply in (replies or {}).get("data") or [] if isinstance(replies, dict) else []:
            if isinstance(reply, dict):
                parent = {"id": comment.get("id"), **({"from": comment["from"]} if "from" in comment else {})}
                flat.append({"parent": parent, **reply})
    return _unique(iter(flat))


def _unique(items: Iterator[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items in order, each id once (items without an id are kept: they cannot repeat knowingly)."""
    seen: set[str] = set()
    unique = []
    for item in items:
        key = str(item.get("id") or "")
        if key and key in seen:
            continue
        seen.add(key)
        unique.append(item)
    return unique


def _participants(interactions: list[Interaction], page_identity: Identity) -> list[Identity]:
    seen: dict[str, Identity] = {}
    for interaction in interactions:
        if interaction.actor.key != page_identity.key:
            seen.setdefault(interaction.actor.key, interaction.actor)
    return list(seen.values())


def _dedupe_admins(admins: list[AdminRole]) -> list[AdminRole]:
    """A person in /roles and /assigned_users is one admin; the fuller record wins."""
    by_key: dict[str, AdminRole] = {}
    for admin in admins:
        known = by_key.get(admin.identity.key)
        if known is None or (admin.is_admin and not known.is_admin) or len(admin.tasks) > len(known.tasks):
            by_key[admin.identity.key] = admin
    return list(by_key.values())


def _parse_time(value: object) -> datetime | None:
    """Graph times look like 2026-11-02T15:04:05+0000; cursors store ISO 8601."""
    if not isinstance(value, str) or not value:
        return None
    for parse in (lambda v: datetime.strptime(v, "%Y-%m-%dT%H:%M:%S%z"), datetime.fromisoformat):
        try:
            parsed = parse(value)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _older_than(items: list[dict[str, Any]], since: datetime) -> bool:
    times = [t for t in (_parse_time(i.get("created_time")) for i in items) if t is not None]
    return bool(times) and min(times) < since


def _excerpt(message: object) -> str:
    return str(message)[:TEXT_LIMIT] if message else ""


def _hashtags(message: object) -> list[str]:
    return sorted(set(HASHTAG.findall(str(message)))) if message else []
