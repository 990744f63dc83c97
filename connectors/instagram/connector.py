"""The Instagram professional accounts connector (facebook-business SDK, Graph API v26.0, Facebook Login).

Instagram's Graph API is the Facebook connector's family: the same host, SDK, error envelope, Business
Use Case throttling (`X-Business-Use-Case-Usage`) and paging. So this connector reuses the Facebook
connector's Graph version, error classification and SDK cursor, one API instance per account (no
global default, no crash reporter), and reads (platform-apis.md §5):

- profile: the IG User node (id, username, name, `followers_count`, `media_count`);
- posts: `/media` in the look-back window (caption, timestamp, permalink, `comments_count`), cursor paged;
- interactions: each media's `/comments` with their nested `replies` (author `from{id,username}`), the
  replies edge of a comment with more than one page of them, and `/tags` (media that tag the account);
- admins: no Instagram endpoint lists people. The token's Pages (`/me/accounts`) name the Facebook Page
  linked to the account; its `/roles` (and `/assigned_users` with the Business id) are the people who
  control it. When the token sees no linked Page, admins are the registry's (`declared`).

Not available: no API lists followers (only a count), so participants are the people who comment and tag;
@mentions have no list endpoint (only a webhook, which a nightly audit does not receive).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from facebook_business.adobjects.assigneduser import AssignedUser
from facebook_business.adobjects.igcomment import IGComment
from facebook_business.adobjects.igmedia import IGMedia
from facebook_business.adobjects.iguser import IGUser
from facebook_business.adobjects.page import Page
from facebook_business.adobjects.user import User
from facebook_business.api import FacebookAdsApi

from connectors.base import Connector, CredentialCheck, Estimate, SnapshotBuilder
from connectors.facebook.connector import _dedupe_admins, _parse_time
from connectors.facebook.paging import GraphCursor
from connectors.facebook.session import graph_api
from connectors.instagram.errors import classify_instagram_error
from connectors.instagram.settings import ACCOUNT_TOKEN, CREDENTIAL_VARIABLES, InstagramOptions, InstagramSettings
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

PAGE_SIZE = 100
TEXT_LIMIT = 500  # students are minors: an excerpt, enough for hashtags and keywords
HASHTAG = re.compile(r"#\w+")

BUSINESS_ID = "FACEBOOK_BUSINESS_ID"  # ACCOUNT_<KEY>_FACEBOOK_BUSINESS_ID, as the Facebook connector reads it
PROFILE_FIELDS = ["id", "username", "name", "followers_count", "follows_count", "media_count"]
MEDIA_FIELDS = ["id", "caption", "timestamp", "permalink", "comments_count", "media_product_type"]
TAG_FIELDS = ["id", "caption", "timestamp", "permalink", "username"]
_AUTHOR = "from{id,username}"
REPLY_FIELDS = ["id", "text", "timestamp", "username", _AUTHOR, "parent_id"]
COMMENT_FIELDS = [*REPLY_FIELDS[:-1], f"replies.limit({PAGE_SIZE}){{{','.join(REPLY_FIELDS)}}}"]
LINKED_PAGE_FIELDS = ["id", "name", "instagram_business_account{id}"]
ROLE_FIELDS = ["id", "name", "tasks", "role"]
ASSIGNED_USER_FIELDS = ["id", "name", "user_type", "tasks", "permitted_tasks"]
FULL_CONTROL_TASK = "MANAGE"

PROFILE_EDGE = "GET /{ig-user-id}"
MEDIA_EDGE = "GET /{ig-user-id}/media"
TAGS_EDGE = "GET /{ig-user-id}/tags"
COMMENTS_EDGE = "GET /{ig-media-id}/comments"
REPLIES_EDGE = "GET /{ig-comment-id}/replies"
PAGES_EDGE = "GET /me/accounts"
ROLES_EDGE = "GET /{page-id}/roles"
ASSIGNED_EDGE = "GET /{page-id}/assigned_users"

PARTICIPANTS_LIMITATION = (
    "No Instagram API lists an account's followers (only followers_count); participants are the people who "
    "commented, replied or tagged the account, and the registry's declared people."
)
NO_LINKED_PAGE = (
    "no Instagram endpoint lists who controls an account, and the token sees no Facebook Page linked to "
    "this one (GET /me/accounts): the registry's declared admins are used. Give the token a task on the "
    "linked Page (pages_show_list, pages_manage_metadata) to observe them"
)


class InstagramConnector(Connector):
    name = "instagram"
    aliases = ("ig",)
    incremental = False  # every pull reads the whole look-back window: media are few, comments change
    capabilities = frozenset({Capability.PROFILE, Capability.ADMINS, Capability.POSTS, Capability.INTERACTIONS})
    limitations = {Capability.PARTICIPANTS: PARTICIPANTS_LIMITATION}
    # Admins are read from the linked Facebook Page, which lists people by numeric Facebook id.
    its_admin_form = (r"\d+", "a numeric Facebook id (the linked Page's people, as Graph lists them)")
    discovery_notes = (
        "no lookup or search: business discovery reads one named professional account at a time from the "
        "Division's own account; Instagram candidates are scored on their handle and the posts that name them"
    )

    settings_model = InstagramSettings
    options_model = InstagramOptions
    # AP 80-06 names Twitter and Facebook only: an Instagram account is an "other site added by request".
    approved_by_default = False
    profile_hosts = ("instagram.com", "www.instagram.com")
    profile_url = "https://www.instagram.com/{handle}"
    # No API lists an account's followers: the people who comment, reply and tag take part. The core
    # reads them from the interactions, so the snapshot lists no participants of its own.
    participants_from_interactions = True
    credential_variables = CREDENTIAL_VARIABLES
    # The SDK logs nothing of its own without its crash reporter (never enabled here).
    noisy_loggers: ClassVar[tuple[str, ...]] = ()
    # Handles compare as the base class compares them (`@Name` and `name` are one account): Instagram
    # usernames are case-insensitive letters, digits, `.` and `_`.

    @property
    def settings(self) -> InstagramSettings:
        return self.context.settings_as(InstagramSettings)

    @property
    def options(self) -> InstagramOptions:
        return self.context.options_as(InstagramOptions)

    # --- entry points ---------------------------------------------------------------------

    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        builder = self.new_builder(account)
        self._pages_done: Counter[Capability] = Counter()
        self._token_variable = self.settings.account_variable(account.key, ACCOUNT_TOKEN)
        api = self._api_for(account)
        self._api = api
        if api is None:
            missing = PlatformError(ErrorKind.AUTH, "no Instagram token configured", fix=self._token_fix())
            for capability in sorted(self.capabilities):
                builder.record_error(capability.value, missing)
            return builder.snapshot
        with builder.collect(Capability.PROFILE):
            self._read_profile(builder, api, account.platform_id or "")
        profile = builder.snapshot.profile
        if profile is None or not builder.snapshot.usable(Capability.PROFILE):
            self._fail_rest(builder, "the Instagram account could not be read: ")
            return builder.snapshot
        user = IGUser(profile.id, api=api)
        own = Identity(platform=self.name, id=profile.id, handle=profile.handle, display_name=profile.name,
                       url=profile.url)  # fmt: skip
        with builder.collect(Capability.ADMINS):
            self._read_admins(builder, account, api, str(profile.id))
        since = self.context.window_start
        with builder.collect(Capability.POSTS):
            self._read_media(builder, user, own, since)
        if builder.snapshot.usable(Capability.POSTS):
            with builder.collect(Capability.INTERACTIONS):
                self._read_interactions(builder, user, own, since)
        else:
            status = builder.snapshot.collections[Capability.POSTS.value]
            builder.snapshot.collections[Capability.INTERACTIONS.value] = _copy(status, "comments are read per media: ")
        builder.snapshot.notes.append(
            "participants = people who commented, replied or tagged the account (no API lists Instagram "
            "followers); @mentions are not listed by any endpoint (webhook only)"
        )
        return builder.snapshot

    def estimate(
        self, account: RegisteredAccount, cursor: dict[str, str], previous: AccountSnapshot | None
    ) -> Estimate:
        """One request for the account, the token's Pages, the linked Page's people, each media page and
        each media with comments (their replies nested); the window is read whole every night, so a
        previous pull's counts are the best guess, else one of each listing."""
        before = previous.requests if previous is not None else {}
        requests = {PROFILE_EDGE: 1, PAGES_EDGE: 1, ROLES_EDGE: 1, MEDIA_EDGE: 1, TAGS_EDGE: 1}
        if self.settings.account_secret(account.key, BUSINESS_ID) is not None:
            requests[ASSIGNED_EDGE] = 1
        for edge in (*requests, COMMENTS_EDGE, REPLIES_EDGE):
            if before.get(edge):
                requests[edge] = max(requests.get(edge, 0), before[edge])
        basis = "as many pages as the previous pull read" if before else "one page of each listing"
        return Estimate(requests, 0, {}, f"{basis}; one comments request per media that has comments")

    def classify_error(self, error: BaseException) -> PlatformError:
        return classify_instagram_error(error, getattr(self, "_token_variable", f"ACCOUNT_<KEY>_{ACCOUNT_TOKEN}"))

    def check_credentials(self, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
        """`auditor doctor`: see connectors/instagram/doctor.py."""
        from connectors.instagram.doctor import check_instagram

        return check_instagram(self, accounts)

    # --- session --------------------------------------------------------------------------

    def _api_for(self, account: RegisteredAccount) -> FacebookAdsApi | None:
        return graph_api(self.settings, account.key, ACCOUNT_TOKEN)

    def _token_fix(self) -> str:
        return (
            f"set {self._token_variable} (a token of someone with a task on the linked Facebook Page) or "
            "FACEBOOK_ACCESS_TOKEN (the system-user token the Facebook connector uses)"
        )

    def _graph(self, builder: SnapshotBuilder, endpoint: str, fn: Callable[..., T], **kwargs: Any) -> T:
        return self.call(builder, endpoint, fn, **kwargs)

    # --- profile --------------------------------------------------------------------------

    def _read_profile(self, builder: SnapshotBuilder, api: FacebookAdsApi, user_id: str) -> None:
        if not user_id.isdigit():
            raise PlatformError(
                ErrorKind.BAD_REQUEST,
                "the registry must give platform_id: the Instagram account's numeric IG user id "
                "(GET /{page-id}?fields=instagram_business_account on its linked Page)",
            )
        node = self._graph(builder, PROFILE_EDGE, IGUser(user_id, api=api).api_get, fields=PROFILE_FIELDS)
        data = node.export_all_data()
        counts = {
            name: int(data[key])
            for key, name in (("followers_count", "followers"), ("follows_count", "follows"), ("media_count", "media"))
            if isinstance(data.get(key), int)
        }
        username = data.get("username")
        builder.snapshot.profile = Profile(
            id=str(data.get("id") or user_id),
            handle=username,
            name=data.get("name"),
            url=f"https://www.instagram.com/{username}/" if username else None,
            closed=False,  # professional accounts cannot be private
            counts=counts,
        )

    # --- admins: the linked Facebook Page's people ------------------------------------------

    def _read_admins(
        self, builder: SnapshotBuilder, account: RegisteredAccount, api: FacebookAdsApi, ig_id: str
    ) -> None:
        try:
            page_id = self._linked_page(builder, api, ig_id)
        except PlatformError as error:
            if error.kind != ErrorKind.PERMISSION:
                raise
            page_id = None
            builder.snapshot.notes.append(f"admins declared: /me/accounts was refused ({error.describe()})")
        if page_id is None:
            builder.mark(Capability.ADMINS, CollectionState.NOT_SUPPORTED, NO_LINKED_PAGE)
            return
        page = Page(page_id, api=api)
        admins = builder.snapshot.admins
        roles = GraphCursor(page, User, fields=ROLE_FIELDS, endpoint="roles")
        admins += [_role(raw) for raw in self._items(builder, ROLES_EDGE, roles)]
        business = self.settings.account_secret(account.key, BUSINESS_ID)
        if business is not None:
            params = {"business": business.get_secret_value()}
            assigned = GraphCursor(page, AssignedUser, fields=ASSIGNED_USER_FIELDS, params=params,
                                   endpoint="assigned_users")  # fmt: skip
            admins += [_assigned(raw) for raw in self._items(builder, ASSIGNED_EDGE, assigned)]
        builder.snapshot.admins = _dedupe_admins(admins)
        builder.snapshot.notes.append("admins = people with tasks on the Facebook Page linked to the account")
        if business is None and not builder.snapshot.admins:
            variable = self.settings.account_variable(account.key, BUSINESS_ID)
            builder.mark_partial(
                Capability.ADMINS,
                f"the linked Page's /roles lists nobody, so its people are assigned through a Business "
                f"portfolio: set {variable} to read /assigned_users",
            )

    def _linked_page(self, builder: SnapshotBuilder, api: FacebookAdsApi, ig_id: str) -> str | None:
        """The token's Page whose `instagram_business_account` is this account."""
        pages = GraphCursor(User("me", api=api), Page, fields=LINKED_PAGE_FIELDS, params={"limit": PAGE_SIZE},
                            endpoint="accounts")  # fmt: skip
        for raw in self._items(builder, PAGES_EDGE, pages):
            linked = raw.get("instagram_business_account")
            if isinstance(linked, dict) and str(linked.get("id")) == ig_id:
                return str(raw["id"])
        return None

    # --- media ----------------------------------------------------------------------------

    def _read_media(self, builder: SnapshotBuilder, user: IGUser, own: Identity, since: datetime) -> None:
        self._comment_counts: dict[str, int] = {}
        params = {"limit": PAGE_SIZE, "since": int(since.timestamp())}
        media = GraphCursor(user, IGMedia, fields=MEDIA_FIELDS, params=params, endpoint="media")
        seen: set[str] = set()
        for raw in self._items(builder, MEDIA_EDGE, media, since=since):
            media_id = str(raw["id"])
            if media_id in seen:
                continue
            seen.add(media_id)
            self._comment_counts[media_id] = int(raw.get("comments_count") or 0)
            builder.snapshot.posts.append(
                Post(
                    id=media_id,
                    created_at=_parse_time(raw.get("timestamp")),
                    text=_excerpt(raw.get("caption")),
                    url=raw.get("permalink"),
                    author=own,
                    hashtags=_hashtags(raw.get("caption")),
                )
            )

    # --- interactions ---------------------------------------------------------------------

    def _read_interactions(self, builder: SnapshotBuilder, user: IGUser, own: Identity, since: datetime) -> None:
        anonymous = 0
        for post in list(builder.snapshot.posts):
            if self._comment_counts.get(post.id, 0) == 0:
                continue  # Graph counts them: an empty edge costs a request for nothing
            anonymous += self._read_comments(builder, post, own)
        tags = GraphCursor(user, IGMedia, fields=TAG_FIELDS, params={"limit": PAGE_SIZE}, endpoint="tags")
        for raw in self._items(builder, TAGS_EDGE, tags, since=since):
            username = raw.get("username")
            if not username or str(username).lower() == (own.handle or "").lower():
                continue
            builder.snapshot.interactions.append(
                Interaction(
                    kind="tag",
                    actor=Identity(platform=self.name, handle=str(username)),
                    target=None,
                    post_id=str(raw["id"]),
                    thread_id=str(raw["id"]),
                    created_at=_parse_time(raw.get("timestamp")),
                    text=_excerpt(raw.get("caption")),
                    url=raw.get("permalink"),
                    hashtags=_hashtags(raw.get("caption")),
                )
            )
        if anonymous:
            builder.mark_partial(
                Capability.INTERACTIONS,
                f"{anonymous} comments came without their author: the token lacks instagram_manage_comments "
                "or a task on the linked Page",
            )

    def _read_comments(self, builder: SnapshotBuilder, post: Post, own: Identity) -> int:
        """One media's comments and their replies; returns how many came without an author."""
        media = IGMedia(post.id, api=self._api)
        cursor = GraphCursor(media, IGComment, fields=COMMENT_FIELDS, params={"limit": PAGE_SIZE}, endpoint="comments")
        anonymous = 0
        for comment in list(self._items(builder, COMMENTS_EDGE, cursor)):
            author = self._author(comment)
            anonymous += self._add(builder, comment, author, "comment", None, post, own)
            for reply in self._replies(builder, comment):
                anonymous += self._add(builder, reply, self._author(reply), "reply", author, post, own)
        return anonymous

    def _replies(self, builder: SnapshotBuilder, comment: dict[str, Any]) -> list[dict[str, Any]]:
        """A comment's replies as nested in its answer, or its replies edge when they did not all fit."""
        nested = comment.get("replies")
        if not isinstance(nested, dict):
            return []  # Graph leaves an empty edge out of a field expansion
        if not (nested.get("paging") or {}).get("next"):
            return [r for r in nested.get("data") or [] if isinstance(r, dict)]
        edge = IGComment(str(comment["id"]), api=self._api)
        cursor = GraphCursor(edge, IGComment, fields=REPLY_FIELDS, params={"limit": PAGE_SIZE}, endpoint="replies")
        return list(self._items(builder, REPLIES_EDGE, cursor))

    def _add(
        self,
        builder: SnapshotBuilder,
        raw: dict[str, Any],
        actor: Identity | None,
        kind: str,
        parent: Identity | None,
        post: Post,
        own: Identity,
    ) -> int:
        if actor is None:
            return 1
        if _same(actor, own):
            return 0  # the account answering: no person to attribute it to
        target = None if parent is None or _same(parent, own) else parent  # None = the account itself
        comment_id = str(raw.get("id") or post.id)
        builder.snapshot.interactions.append(
            Interaction(
                kind=kind,
                actor=actor,
                target=target,
                post_id=comment_id,
                thread_id=post.id,
                created_at=_parse_time(raw.get("timestamp")),
                text=_excerpt(raw.get("text")),
                url=f"{post.url}c/{comment_id}/" if post.url else None,
                hashtags=_hashtags(raw.get("text")),
            )
        )
        return 0

    def _author(self, raw: dict[str, Any]) -> Identity | None:
        found = raw.get("from")
        person: dict[str, Any] = found if isinstance(found, dict) else {}
        user_id = person.get("id")
        username = person.get("username") or raw.get("username")
        if not (user_id or username):
            return None
        return Identity(platform=self.name, id=str(user_id) if user_id else None, handle=username or None)

    # --- paging ---------------------------------------------------------------------------

    def _items(
        self, builder: SnapshotBuilder, endpoint: str, cursor: GraphCursor, since: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of an edge, one counted and retried request per page (the SDK's cursor paging)."""
        collection = _collection_of(endpoint)
        while not cursor.finished:
            cap = self.options.page_cap
            if cursor.pages_read >= cap:
                reason = f"stopped after {cap} pages of {endpoint} (policy connectors.instagram.page_cap)"
                builder.mark_partial(collection, reason)
                return
            try:
                self._graph(builder, endpoint, cursor.load_next_page)
            except PlatformError:
                if self._pages_done[collection]:
                    builder.mark_partial(collection, f"interrupted at {endpoint}")
                raise
            self._pages_done[collection] += 1
            if since is None:
                yield from cursor.page
                continue
            yield from (item for item in cursor.page if not _older([item], since))
            if _older(cursor.page, since):
                return  # newest first: the window is read

    def _fail_rest(self, builder: SnapshotBuilder, prefix: str) -> None:
        status = builder.snapshot.collections[Capability.PROFILE.value]
        for capability in (Capability.ADMINS, Capability.POSTS, Capability.INTERACTIONS):
            builder.snapshot.collections[capability.value] = _copy(status, prefix)


def _role(raw: dict[str, Any]) -> AdminRole:
    tasks = [str(t) for t in raw.get("tasks") or []]
    role = str(raw.get("role") or ("MANAGE" if FULL_CONTROL_TASK in tasks else "task access"))
    is_admin = FULL_CONTROL_TASK in tasks or role.lower() == "admin"
    return AdminRole(identity=_facebook_person(raw), role=role, tasks=tasks, is_admin=is_admin)


def _assigned(raw: dict[str, Any]) -> AdminRole:
    tasks = [str(t) for t in raw.get("tasks") or raw.get("permitted_tasks") or []]
    kind = str(raw.get("user_type") or "business user").lower().replace("_", " ")
    return AdminRole(identity=_facebook_person(raw), role=kind, tasks=tasks, is_admin=FULL_CONTROL_TASK in tasks)


def _facebook_person(raw: dict[str, Any]) -> Identity:
    """The linked Page's people are Facebook users: the directory declares them by Facebook id."""
    return Identity(platform="facebook", id=str(raw["id"]) if raw.get("id") else None, display_name=raw.get("name"))


def _same(one: Identity, other: Identity) -> bool:
    if one.id and other.id:
        return one.id == other.id
    return bool(one.handle and other.handle and one.handle.lower() == other.handle.lower())


def _copy(status: CollectionStatus, prefix: str) -> CollectionStatus:
    return CollectionStatus(
        state=status.state if status.state != CollectionState.COMPLETE else CollectionState.FAILED,
        reason=prefix + (status.reason or ""),
        error=status.error,
        retry_after=status.retry_after,
    )


def _collection_of(endpoint: str) -> Capability:
    if endpoint in (PAGES_EDGE, ROLES_EDGE, ASSIGNED_EDGE):
        return Capability.ADMINS
    if endpoint == MEDIA_EDGE:
        return Capability.POSTS
    return Capability.INTERACTIONS


def _older(items: list[dict[str, Any]], since: datetime) -> bool:
    times = [t for t in (_parse_time(i.get("timestamp")) for i in items) if t is not None]
    return bool(times) and min(times) < since


def _excerpt(text: object) -> str:
    return str(text)[:TEXT_LIMIT] if text else ""


def _hashtags(text: object) -> list[str]:
    return sorted(set(HASHTAG.findall(str(text)))) if text else []
