"""X / Twitter connector: tweepy.Client (API v2) -> AccountSnapshot.

One pull reads, for a registered account: the profile (protected flag, counts), the followers
(the participant list of a protected account), the account's posts in the look-back window, the
posts that mention it, and the replies in its conversations (recent search, 7 days). Every call
goes through `Connector.call` (retries, rate-limit waits within the deadline, request counting).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

import tweepy

from connectors.base import (
    Connector,
    CredentialCheck,
    Estimate,
    Following,
    FoundAccount,
    KnownParticipants,
    SnapshotBuilder,
)
from connectors.resilience import PlatformError
from connectors.twitter import mentions, parse, replies
from connectors.twitter.auth import (
    XCredentials,
    build_client,
    credentials_for,
    guard_library_logs,
    owner_token_hint,
)
from connectors.twitter.errors import classify, partial_error, withheld
from connectors.twitter.mentions import CHECK_MARGIN, CURSOR_MENTIONS_CHECKED, SharedPosts
from connectors.twitter.remediation import REMEDIATION
from connectors.twitter.replies import (
    CURSOR_ANSWERED,
    CURSOR_CONVERSATIONS,
    CURSOR_REPLIES_CHECKED,
    CURSOR_REPLIES_SINCE_ID,
    answered_before,
    answering_new_posts,
    open_conversations,
    replied_in,
)
from connectors.twitter.replies import queries as conversation_queries
from connectors.twitter.settings import CREDENTIAL_VARIABLES, PRICES, XOptions, XSettings
from models.snapshot import (
    AccountSnapshot,
    Capability,
    CollectionState,
    CollectionStatus,
    ErrorKind,
    Identity,
    Profile,
)
from models.tables import RegisteredAccount

JSON = Mapping[str, Any]
T = TypeVar("T")
log = logging.getLogger("auditor.connectors.twitter")

PROFILE_FIELDS = ["created_at", "description", "protected", "public_metrics"]
TWEET_FIELDS = [
    "created_at",
    "author_id",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "entities",
]
TWEET_EXPANSIONS = [
    "referenced_tweets.id",
    "author_id",
    "in_reply_to_user_id",
    "entities.mentions.username",
    "referenced_tweets.id.author_id",
]

FOLLOWERS_PAGE = 1000
# An incremental listing starts with a small page (X bills every follower a page returns, also those
# past the first already-known one): twice the change of the follower count, at least this; each
# further page is twice as large.
NEW_FOLLOWERS_PAGE_MIN = 20
LOOKUP_BATCH = 100  # users per batched profile lookup (GET /2/users?ids=...)
TIMELINE_PAGES = 32  # X serves only the newest 3,200 posts of a timeline (100 per page)
MENTION_PAGES = 8  # ... and the newest 800 mentions
SEARCH_PAGES = replies.BATCH_PAGES  # per query: 1,000 replies per batch of conversations
# What X accepts as a username: one invalid name makes X refuse the whole batched lookup (400).
X_USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")

# Cursor keys (what the next nightly run starts from).
CURSOR_SINCE_ID = "since_id"  # newest own post read
CURSOR_MENTIONS_SINCE_ID = "mentions_since_id"  # newest mention read
CURSOR_FOLLOWERS = "followers_count"  # X's follower count when the stored follower list was last brought up to date
CURSOR_TWEETS = "tweet_count"  # X's post count when the timeline was last read completely
CURSOR_FULL = "full_reconciled_at"  # when every follower was last listed (the report's last_full_reconciliation)

EP_USER = "GET /2/users/:id"
EP_USER_BY_NAME = "GET /2/users/by/username/:username"
EP_USERS = "GET /2/users"  # batched lookup by ids
EP_USERS_BY_NAME = "GET /2/users/by"  # batched lookup by usernames
EP_FOLLOWERS = "GET /2/users/:id/followers"
EP_FOLLOWING = "GET /2/users/:id/following"  # only for staff-student-personal-connection (opt-in)
EP_TWEETS = "GET /2/users/:id/tweets"
EP_MENTIONS = "GET /2/users/:id/mentions"
EP_SEARCH = "GET /2/tweets/search/recent"

# Quote posts are read only when they name the account: X's quote endpoint (GET /2/tweets/:id/quote_tweets)
# answers for one post per request, 75 requests per 15 minutes, without since_id, so each run would ask
# again for every post in the window (7,417 posts in bench/collection_bench's division: about 25 hours of
# X's rate limit a night, against a 4-hour run). docs/connectors-twitter.md has the numbers.
QUOTES_UNSEEN = (
    "quote posts are read only when they @mention the account (they then come with its mentions); a "
    "quote that does not name the account is not seen (X's quote endpoint takes one request per post, 75 "
    "per 15 minutes: docs/connectors-twitter.md)"
)

PROTECTED_FOLLOWING = (
    "a protected personal account shows whom it follows only to its approved followers: ask the staff member, "
    "or leave it to the principal"
)

# What X bills for the primary `data` of each endpoint (the policy prices "twitter:<item>").
BILLED_AS = {EP_FOLLOWERS: "follower", EP_USER: "user", EP_USER_BY_NAME: "user", EP_USERS: "user"}
BILLED_AS[EP_FOLLOWING] = "user"  # X's "Following/Followers: Read", per returned user
BILLED_AS[EP_USERS_BY_NAME] = "user"


@dataclass
class XPrefetch:
    """What the run's batched requests found for one account before its pull."""

    user: JSON  # its profile, from the lookup of every account (100 per request)
    mentions: SharedPosts | None = None  # its mentions, from a search shared with other accounts
    replies: SharedPosts | None = None  # replies in its conversations, from shared searches ...
    replies_searched: frozenset[str] = frozenset()  # ... of these conversations


def bill_body(builder: SnapshotBuilder, endpoint: str, body: JSON) -> None:
    """X bills every resource a response returns: its `data` and the users and posts it includes."""
    data = body.get("data")
    count = len(data) if isinstance(data, list) else int(data is not None)
    builder.bill(BILLED_AS.get(endpoint, "post"), count)
    includes = body.get("includes") or {}
    builder.bill("user", len(includes.get("users") or []))
    builder.bill("post", len(includes.get("tweets") or []))


class TwitterConnector(Connector):
    name = "twitter"
    remediation: ClassVar[dict[str, str]] = REMEDIATION
    aliases = ("x",)
    incremental = True  # posts, mentions and replies are asked for since the previous snapshot's ids
    # Per app (bearer token), X API v2 (2025-26); the slowest endpoints a run uses.
    rate_limits: ClassVar[dict[str, tuple[int, int]]] = {
        EP_FOLLOWERS: (15, 900),
        EP_FOLLOWING: (15, 900),
        EP_MENTIONS: (450, 900),
        EP_TWEETS: (1500, 900),
        EP_SEARCH: (450, 900),
    }
    capabilities = frozenset({Capability.PROFILE, Capability.PARTICIPANTS, Capability.POSTS, Capability.INTERACTIONS})
    limitations: ClassVar[dict[Capability, str]] = {
        Capability.ADMINS: (
            "X has no API for who manages an account (delegates, logins, password changes): the admin and "
            "password rules use the registry's declared admins and reset dates (evidence: declared)"
        ),
    }

    settings_model = XSettings
    options_model = XOptions
    legacy_policy_keys: ClassVar[dict[str, str]] = {
        "x_page_cap": "page_cap",
        "x_public_follower_lists": "public_follower_lists",
    }
    prices: ClassVar[dict[str, float]] = PRICES
    approved_by_default = True  # AP 80-06 names it
    profile_hosts = ("x.com", "twitter.com")
    profile_url = "https://x.com/{handle}"
    noisy_loggers = ("tweepy", "requests_oauthlib")
    credential_variables = CREDENTIAL_VARIABLES

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        guard_library_logs()

    @property
    def settings(self) -> XSettings:
        return self.context.settings_as(XSettings)

    @property
    def options(self) -> XOptions:
        return self.context.options_as(XOptions)

    def classify_error(self, error: BaseException) -> PlatformError:
        return classify(error)

    def check_credentials(self, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
        """`auditor doctor`: see connectors/twitter/doctor.py."""
        from connectors.twitter.doctor import check_x

        return check_x(self, accounts)

    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        builder = self.new_builder(account)
        credentials = credentials_for(self.settings, account.key)
        if credentials is None:
            missing = PlatformError(
                ErrorKind.AUTH,
                "no X credentials configured",
                fix="set X_BEARER_TOKEN (app-only bearer token of the X developer app)",
            )
            for capability in sorted(self.capabilities):
                builder.record_error(str(capability), missing)
            return builder.snapshot
        AccountPull(self, builder, account, credentials, {} if self.context.full else dict(cursor)).run()
        return builder.snapshot

    # --- counts before lists: one lookup for every account ------------------------------------

    def prefetch(
        self,
        accounts: list[RegisteredAccount],
        builder: SnapshotBuilder,
        cursors: Mapping[str, Mapping[str, str]],
    ) -> dict[str, Any]:
        """Profiles (protected flag, follower and post counts) of all accounts in batches of 100, with
        the app's bearer token: each pull then compares counts instead of asking for its profile. On a
        nightly run, also the accounts' mentions, about 25 accounts per recent search."""
        token = self.settings.x_bearer_token
        if token is None:
            return {}
        client = build_client(bearer_token=token.get_secret_value())
        found = {key: XPrefetch(user) for key, user in self._lookup_profiles(client, accounts, builder).items()}
        if not self.context.full:
            self._search_mentions(client, found, cursors, builder)
        self._read_window_mentions(client, found, cursors, builder)
        self._search_replies(client, found, cursors, builder)
        return found

    def reads_window_mentions(self, user: JSON, cursor: Mapping[str, str]) -> bool:
        """Whether the prefetch reads this account's mentions of the whole window (a full or first run of a
        public account), so that its replies can be searched with other accounts' (replies.py)."""
        if user.get("protected") is not False or not user.get("id"):
            return False  # a protected account's owner token may see mentions the app's does not
        if self.context.full:
            return True
        if self._searchable(str(user.get("id")), user, cursor) is not None:
            return False  # the nightly shared search reads its new mentions
        since = cursor.get(CURSOR_MENTIONS_SINCE_ID)
        window_start = self.context.window_start
        return not since or not since.isdigit() or parse.snowflake_time(since) < window_start

    def _read_window_mentions(
        self,
        client: tweepy.Client,
        found: dict[str, XPrefetch],
        cursors: Mapping[str, Mapping[str, str]],
        builder: SnapshotBuilder,
    ) -> None:
        """The window's mentions of each public account a full or first run reads (its timeline, one
        request per 100): the same requests its pull would make, made first so that the conversations
        they show replies in are searched 13 to a query across accounts. An account whose mentions X had
        more of than the pull would read, or after a refusal, reads its own."""
        window_start = self.context.window_start

        read = self._checked(builder, EP_MENTIONS, client.get_users_mentions)

        for key, hint in sorted(found.items()):
            if hint.mentions is not None or not self.reads_window_mentions(hint.user, cursors.get(key) or {}):
                continue
            pages = Pages(
                tweepy.Paginator(
                    read,
                    str(hint.user["id"]),
                    limit=MENTION_PAGES,
                    max_results=100,
                    start_time=window_start,
                    tweet_fields=TWEET_FIELDS,
                    expansions=TWEET_EXPANSIONS,
                )
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

    def _lookup_profiles(
        self, client: tweepy.Client, accounts: list[RegisteredAccount], builder: SnapshotBuilder
    ) -> dict[str, JSON]:
        by_id = {a.platform_id: a.key for a in accounts if a.platform_id}
        by_name = {(a.handle or "").lstrip("@").lower(): a.key for a in accounts if not a.platform_id and a.handle}
        found: dict[str, Any] = {}
        try:
            for chunk in _chunks(sorted(by_id), LOOKUP_BATCH):
                body = self.call(builder, EP_USERS, client.get_users, ids=chunk, user_fields=PROFILE_FIELDS)
                for user in _users(body, builder):
                    if str(user.get("id")) in by_id:
                        found[by_id[str(user["id"])]] = user
            for chunk in _chunks(sorted(by_name), LOOKUP_BATCH):
                body = self.call(
                    builder, EP_USERS_BY_NAME, client.get_users, usernames=chunk, user_fields=PROFILE_FIELDS
                )
                for user in _users(body, builder):
                    key = by_name.get(str(user.get("username", "")).lower())
                    if key:
                        found[key] = user
        except PlatformError as error:  # each pull then reads its own profile and reports the error
            log.warning("batched X profile lookup stopped: %s", error.describe())
        return found

    def _search_mentions(
        self,
        client: tweepy.Client,
        found: dict[str, XPrefetch],
        cursors: Mapping[str, Mapping[str, str]],
        builder: SnapshotBuilder,
    ) -> None:
        """Each batch's mentions go to its accounts' pulls."""
        searchable = [
            account
            for key, hint in found.items()
            if (account := self._searchable(key, hint.user, cursors.get(key) or {})) is not None
        ]
        batches = [(b, b.query, b.start_time) for b in mentions.batches(searchable)]
        for batch, bodies in self._shared_searches(client, batches, mentions.BATCH_PAGES, "mention", builder):
            for key, share in mentions.distribute(batch, bodies).items():
                found[key].mentions = share

    def _search_replies(
        self,
        client: tweepy.Client,
        found: dict[str, XPrefetch],
        cursors: Mapping[str, Mapping[str, str]],
        builder: SnapshotBuilder,
    ) -> None:
        """Replies in the conversations someone replied to, of the accounts whose mentions a shared
        search read, 13 conversations of any accounts per query."""
        watched = [w for key, hint in found.items() for w in self._watched(key, hint, cursors.get(key) or {})]
        batches = [(b, b.query, b.start_time) for b in replies.batches(watched)]
        for batch, bodies in self._shared_searches(client, batches, replies.BATCH_PAGES, "reply", builder):
            for key, share in replies.distribute(batch, bodies).items():
                hint = found[key]
                searched = {w.conversation for w in batch.conversations if w.key == key}
                hint.replies = share if hint.replies is None else hint.replies.merge(share)
                hint.replies_searched = hint.replies_searched | searched

    def _shared_searches(
        self,
        client: tweepy.Client,
        batches: list[tuple[T, str, datetime]],
        pages: int,
        what: str,
        builder: SnapshotBuilder,
    ) -> Iterator[tuple[T, list[JSON]]]:
        """Each batch with its pages. A batch X had more pages for is skipped, and a refusal stops the
        rest: their accounts' pulls then ask for their own."""
        for batch, query, start_time in batches:
            try:
                bodies = self._search_batch(client, query, start_time, pages, builder)
            except PlatformError as error:
                log.warning("batched X %s search stopped: %s", what, error.describe())
                return
            if bodies is None:
                log.info("batched X %s search: more than %d pages, its accounts ask on their own", what, pages)
                continue
            yield batch, bodies

    def _watched(self, key: str, hint: XPrefetch, cursor: Mapping[str, str]) -> list[replies.Watched]:
        """The conversations of this account a shared search should cover tonight (see replies.py)."""
        if hint.mentions is None:
            return []  # its own pull reads its mentions, and so knows best what to search
        window_start = self.context.window_start
        user_id = str(hint.user.get("id"))
        if hint.mentions.since <= window_start:  # the whole window's mentions: they show every answered one
            if any(parse.unattributed(t) or not t.get("conversation_id") for t in hint.mentions.data):
                return []  # its pull searches every conversation (see AccountPull.conversations_to_search)
            reach = parse.recent_window_start(self.context.as_of)
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
        reach = parse.recent_window_start(self.context.as_of)
        since = max(mentions.read_up_to(since_id, cursor.get(CURSOR_REPLIES_CHECKED)) or reach, reach)
        return [replies.Watched(key, c, since_id, since) for c in sorted(wanted)]

    def _searchable(self, key: str, user: JSON, cursor: Mapping[str, str]) -> mentions.Searchable | None:
        username, user_id = str(user.get("username") or ""), str(user.get("id") or "")
        if user.get("protected") is not False or not X_USERNAME.fullmatch(username) or not user_id:
            return None  # a protected account's owner token may see mentions the app's does not
        since = self._mentions_since(cursor)
        return mentions.Searchable(key, username, user_id, since) if since is not None else None

    def _mentions_since(self, cursor: Mapping[str, str]) -> datetime | None:
        window_start = self.context.window_start
        return mentions.search_since(
            cursor.get(CURSOR_MENTIONS_SINCE_ID), cursor.get(CURSOR_MENTIONS_CHECKED), self.context.as_of, window_start
        )

    def _search_batch(
        self, client: tweepy.Client, query: str, start_time: datetime, limit: int, builder: SnapshotBuilder
    ) -> list[JSON] | None:
        """The batch's pages, or None when X had more than the pages allowed."""

        search = self._checked(builder, EP_SEARCH, client.search_recent_tweets)

        pages = Pages(
            tweepy.Paginator(
                search,
                query,
                limit=limit,
                max_results=100,
                start_time=max(start_time, parse.recent_window_start(self.context.as_of)),
                tweet_fields=TWEET_FIELDS,
                expansions=TWEET_EXPANSIONS,
            )
        )
        bodies = list(pages)
        return None if pages.capped else bodies

    # --- discovery: who are the accounts the registered ones mention? ---------------------------

    lookup_batch = LOOKUP_BATCH
    discovery_notes = (
        "user lookup of the handles found in content: one GET /2/users/by request per 100 handles, "
        "billed per user returned (policy prices twitter:user); X has no account search in API v2"
    )

    def estimate_discovery(self, schools: list[str]) -> Estimate:
        most = self.context.limits.discovery_max_lookups
        return Estimate(
            {EP_USERS_BY_NAME: math.ceil(most / LOOKUP_BATCH)} if most else {},
            0,
            {"user": most} if most else {},
            f"discovery: at most {most} profile lookups (policy discovery_max_lookups)",
        )

    def lookup_accounts(self, handles: list[str], builder: SnapshotBuilder) -> list[FoundAccount]:
        """Profiles of up to 100 usernames in one request (app bearer token). A suspended or unknown
        username comes back in the 200 answer's `errors` (resource-not-found): no profile, X's words."""
        token = self.settings.x_bearer_token
        if token is None:
            raise PlatformError(ErrorKind.AUTH, "no X credentials configured", fix="set X_BEARER_TOKEN")
        asked = {h.lstrip("@").lower(): h.lstrip("@") for h in handles if X_USERNAME.fullmatch(h.lstrip("@"))}
        if not asked:
            return []
        client = build_client(bearer_token=token.get_secret_value())
        body = self.call(
            builder, EP_USERS_BY_NAME, client.get_users, usernames=sorted(asked.values()), user_fields=PROFILE_FIELDS
        )
        if not isinstance(body, dict):
            raise PlatformError(ErrorKind.MALFORMED, "X sent a response that is not a JSON object")
        found = [FoundAccount(str(user["username"]), parse.profile_of(user)) for user in _users(body, builder)]
        for problem in body.get("errors") or []:
            name = str(problem.get("value") or problem.get("resource_id") or "") if isinstance(problem, dict) else ""
            if name.lower() in asked:
                words = str(problem.get("detail") or problem.get("title") or "not found")
                found.append(FoundAccount(asked[name.lower()], None, words))
        return found

    # --- staff-student-personal-connection (opt-in): whom a staff member's personal account follows ----

    shows_following = True

    def _checked(
        self, builder: SnapshotBuilder, endpoint: str, method: Callable[..., Any], protected_fix: str = ""
    ) -> Callable[..., JSON]:
        """`method` through the shared resilience layer, refusing a body that is not a JSON object or that
        X answered with errors instead of data, and billing what the body holds (batched reads that belong
        to no single account's pull: shared searches, mentions, following lists)."""

        @functools.wraps(method)
        def through_call(*args: Any, **kwargs: Any) -> JSON:
            body = self.call(builder, endpoint, method, *args, **kwargs)
            if not isinstance(body, dict):
                raise PlatformError(ErrorKind.MALFORMED, "X sent a response that is not a JSON object")
            problem = partial_error(body, protected_fix=protected_fix)
            if problem is not None:
                raise problem
            bill_body(builder, endpoint, body)
            return body

        return through_call

    def read_following(self, handle: str, builder: SnapshotBuilder) -> Following:
        """One username lookup, then GET /2/users/:id/following pages of 1,000 through tweepy's paginator,
        at most the policy's `personal_connections_page_cap` pages (each returned user is billed)."""
        token = self.settings.x_bearer_token
        if token is None:
            raise PlatformError(ErrorKind.AUTH, "no X credentials configured", fix="set X_BEARER_TOKEN")
        name = handle.lstrip("@")
        if not X_USERNAME.fullmatch(name):
            raise PlatformError(ErrorKind.BAD_REQUEST, f"not an X username: {handle!r}")
        client = build_client(bearer_token=token.get_secret_value())

        def api(endpoint: str, method: Callable[..., Any]) -> Callable[..., JSON]:
            return self._checked(builder, endpoint, method, protected_fix=PROTECTED_FOLLOWING)

        user = api(EP_USER_BY_NAME, client.get_user)(username=name)["data"]
        cap = self.context.limits.following_page_cap
        pages = Pages(
            tweepy.Paginator(
                api(EP_FOLLOWING, client.get_users_following), str(user["id"]), limit=cap, max_results=FOLLOWERS_PAGE
            )
        )
        followed = [identity for body in pages for identity in parse.users_in(body)]
        if pages.capped:
            reason = (
                f"read the first {len(followed)} accounts @{name} follows: personal_connections_page_cap allows "
                f"{cap} pages of {FOLLOWERS_PAGE}"
            )
            return Following(followed, complete=False, reason=reason)
        return Following(followed, complete=True)

    def estimate_following(self, accounts: int) -> Estimate:
        cap = self.context.limits.following_page_cap
        if not accounts:
            return Estimate()
        return Estimate(
            {EP_USER_BY_NAME: accounts, EP_FOLLOWING: accounts * cap},
            0,
            {"user": accounts * (1 + cap * FOLLOWERS_PAGE)},
            f"personal connections: {accounts} personal account(s), at most {cap} following page(s) of "
            f"{FOLLOWERS_PAGE} each (policy personal_connections_page_cap)",
        )

    def estimate_prefetch(
        self, accounts: list[RegisteredAccount], cursors: Mapping[str, Mapping[str, str]]
    ) -> Estimate:
        with_id = sum(1 for a in accounts if a.platform_id)
        requests = {EP_USERS: math.ceil(with_id / LOOKUP_BATCH)}
        requests[EP_USERS_BY_NAME] = math.ceil((len(accounts) - with_id) / LOOKUP_BATCH)
        basis = "one batched profile lookup"
        window = [
            w
            for account in accounts
            if self.reads_window_mentions(_registered_profile(account), cursors.get(account.key) or {})
            for w in self._answered_before(account.key, cursors.get(account.key) or {})
        ]
        if window:
            requests[EP_SEARCH] = len(replies.batches(window))
            basis += (
                f"; replies in {len(window)} conversations someone replied to by the last run, of the accounts "
                "whose mentions of the window are read before the pulls, by shared recent searches"
            )
        if not self.context.full:
            searchable = [
                searchable
                for account in accounts
                if (
                    searchable := self._searchable(
                        account.key, _registered_profile(account), cursors.get(account.key) or {}
                    )
                )
            ]
            watched = [w for a in searchable for w in self._watched_before(a.key, cursors.get(a.key) or {})]
            requests[EP_SEARCH] = (
                requests.get(EP_SEARCH, 0) + len(mentions.batches(searchable)) + len(replies.batches(watched))
            )
            basis += (
                f"; mentions of {len(searchable)} accounts and replies in {len(watched)} of their conversations by "
                "shared recent searches (at least one page each)"
            )
        return Estimate({k: v for k, v in requests.items() if v}, 0, {"user": len(accounts)}, basis)

    def _answered_before(self, key: str, cursor: Mapping[str, str]) -> list[replies.Watched]:
        """For an estimate of a full or first run: the conversations of the window the last run found
        replies in (all of them when it did not record which)."""
        window_start = self.context.window_start
        conversations = open_conversations(cursor, window_start)
        answered = answered_before(cursor, conversations)
        found = conversations.keys() if answered is None else answered
        return [replies.Watched(key, c, None, self.context.as_of) for c in sorted(found)]

    def _watched_before(self, key: str, cursor: Mapping[str, str]) -> list[replies.Watched]:
        """For an estimate: the conversations someone replied to by the previous run (tonight's first
        replies are not known before the run)."""
        window_start = self.context.window_start
        answered = answered_before(cursor, open_conversations(cursor, window_start))
        return [replies.Watched(key, c, None, self.context.as_of) for c in sorted(answered or ())]

    def estimate(
        self, account: RegisteredAccount, cursor: dict[str, str], previous: AccountSnapshot | None
    ) -> Estimate:
        """Requests and billed items of one pull, from the previous snapshot's counts and cursor."""
        return PullEstimate(self, account, dict(cursor), previous).estimate()


def _registered_profile(account: RegisteredAccount) -> JSON:
    """What an estimate knows of a profile before any request: the registration."""
    return {
        "id": account.platform_id or "?",
        "username": (account.handle or "").lstrip("@"),
        "protected": (account.audience or "").lower() == "closed",
    }


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _users(body: Any, builder: SnapshotBuilder) -> list[JSON]:
    data = body.get("data") if isinstance(body, dict) else None
    users: list[JSON] = [u for u in data or [] if isinstance(u, dict) and "id" in u]
    builder.bill("user", len(users))
    return users


class AccountPull:
    """The state of one account's pull (a connector may serve several accounts at once)."""

    def __init__(
        self,
        connector: TwitterConnector,
        builder: SnapshotBuilder,
        account: RegisteredAccount,
        credentials: XCredentials,
        cursor: dict[str, str],
    ) -> None:
        self.connector = connector
        self.builder = builder
        self.snapshot = builder.snapshot
        self.account = account
        self.credentials = credentials
        self.client = credentials.client
        self.cursor = cursor
        context = connector.context
        self.as_of: datetime = context.as_of
        self.window_start = context.window_start
        self.page_cap = context.options_as(XOptions).page_cap
        self.protected_fix = owner_token_hint(context.settings_as(XSettings), account.key)
        self.users = parse.UserIndex()
        self.me: Identity | None = None
        self.conversations: dict[str, str] = open_conversations(cursor, self.window_start)
        self.answered: set[str] | None = answered_before(cursor, self.conversations)
        self.next_cursor: dict[str, str] = {}
        self.full = context.full
        self.reconcile_days = context.limits.full_reconcile_days
        self.known_participants = context.known_participants
        self.prefetched = context.prefetched if isinstance(context.prefetched, XPrefetch) else None
        # Whether this run's mentions cover the whole look-back window (a full or first run): their
        # replies then show every conversation someone has replied to.
        self.mentions_whole_window = False
        self.unattributed: set[str] = set()  # mentions and replies X sent without `author_id`
        self.withheld: dict[str, int] = {}  # X's words -> resources it left out of answers that had data

    # --- orchestration ------------------------------------------------------------------------

    def run(self) -> None:
        with self.builder.collect(Capability.PROFILE):
            self.read_profile()
        try:
            self.read_the_rest()
        finally:
            self._save_cursor()  # also when skipped: the next run starts from where the last good one ended

    def read_the_rest(self) -> None:
        if self.me is None or self.me.id is None:
            self._skip_all(self._profile_error())
            return
        if self.snapshot.profile and self.snapshot.profile.closed and not self.credentials.owner_context:
            self._skip_all(
                PlatformError(
                    ErrorKind.PERMISSION,
                    f"@{self.me.handle} is a protected account: X shows its followers and posts only to the "
                    "owner and approved followers",
                    fix=self.protected_fix,
                )
            )
            return
        user_id = self.me.id
        with self.builder.collect(Capability.PARTICIPANTS):
            self.read_followers(user_id)
        with self.builder.collect(Capability.POSTS):
            self.read_posts(user_id)
        with self.builder.collect(Capability.INTERACTIONS):
            self.read_interactions(user_id)
        self._note_withheld()

    def _profile_error(self) -> PlatformError:
        status = self.snapshot.status_of(Capability.PROFILE)
        kind = status.error if status and status.error else ErrorKind.MALFORMED
        return PlatformError(kind, "not collected: the account's profile could not be read (see profile)")

    def _skip_all(self, error: PlatformError) -> None:
        for capability in (Capability.PARTICIPANTS, Capability.POSTS, Capability.INTERACTIONS):
            self.builder.record_error(str(capability), error)

    def _complete(self, collection: Capability) -> None:
        self.snapshot.collections[str(collection)] = CollectionStatus(state=CollectionState.COMPLETE)

    # --- calls ----------------------------------------------------------------------------------

    def api(self, endpoint: str, method: Callable[..., Any]) -> Callable[..., JSON]:
        """`method` routed through the connector's resilience layer; keeps its name for tweepy.Paginator."""

        @functools.wraps(method)
        def through_call(*args: Any, **kwargs: Any) -> JSON:
            body = self.connector.call(self.builder, endpoint, self._request, method, *args, **kwargs)
            bill_body(self.builder, endpoint, body)
            return body

        return through_call

    def _request(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> JSON:
        if self.credentials.user_auth:
            kwargs["user_auth"] = True
        try:
            body = method(*args, **kwargs)
        except Exception as exc:  # classified here: only this pull knows which variable holds the token
            raise classify(exc, self.credentials.variable) from None
        if not isinstance(body, dict):
            raise PlatformError(ErrorKind.MALFORMED, "X sent a response that is not a JSON object")
        problem = partial_error(body, protected_fix=self.protected_fix)
        if problem is not None:
            raise problem
        for words in withheld(body):
            self.withheld[words] = self.withheld.get(words, 0) + 1
        self.users.add_body(body)
        return body

    def pages(self, endpoint: str, method: Callable[..., Any], *args: Any, limit: int, **kwargs: Any) -> Pages:
        return Pages(tweepy.Paginator(self.api(endpoint, method), *args, limit=limit, **kwargs))

    def tweet_pages(
        self, endpoint: str, method: Callable[..., Any], target: str, limit: int, window: dict[str, Any]
    ) -> Pages:
        """Pages of posts with the fields and expansions interactions need."""
        return self.pages(
            endpoint,
            method,
            target,
            limit=limit,
            max_results=100,
            tweet_fields=TWEET_FIELDS,
            expansions=TWEET_EXPANSIONS,
            **window,
        )

    # --- collections ---------------------------------------------------------------------------

    def read_profile(self) -> None:
        if self.prefetched is not None:
            user: JSON = self.prefetched.user  # from the run's batched lookup: no request of its own
        elif self.account.platform_id:
            body = self.api(EP_USER, self.client.get_user)(id=self.account.platform_id, user_fields=PROFILE_FIELDS)
            user = body["data"]
        else:
            handle = (self.account.handle or "").lstrip("@")
            body = self.api(EP_USER_BY_NAME, self.client.get_user)(username=handle, user_fields=PROFILE_FIELDS)
            user = body["data"]
        self.me = parse.identity_of(user)
        self.users.add(self.me)
        metrics = user.get("public_metrics") or {}
        protected = user.get("protected")
        self.snapshot.profile = Profile(
            id=self.me.id,
            handle=self.me.handle,
            name=self.me.display_name,
            url=self.me.url,
            closed=protected,
            description=user.get("description"),
            counts={
                name.removesuffix("_count"): int(value) for name, value in metrics.items() if isinstance(value, int)
            },
        )
        self._check_audience(protected)
        registered = (self.account.handle or "").lstrip("@")
        if registered and self.me.handle and registered.lower() != self.me.handle.lower():
            self.snapshot.notes.append(f"handle changed: registered @{registered}, observed @{self.me.handle}")

    def _check_audience(self, protected: bool | None) -> None:
        declared = (self.account.audience or "").lower()
        if protected is None or declared not in ("public", "closed"):
            return
        observed = "closed" if protected else "public"
        if observed != declared:
            self.snapshot.notes.append(
                f"audience mismatch: registered {declared}, observed {observed} "
                f"(X reports protected={str(protected).lower()})"
            )

    def read_followers(self, user_id: str) -> None:
        """Every follower at a full reconciliation; otherwise only who is new since the last run."""
        reason = self._reconciliation_due()
        known = self.known_participants(self.account.key) if self.known_participants else None
        if reason is None and known is None:
            reason = "the previous follower list is not in the store"
        if reason is not None:
            self._read_all_followers(user_id, known, reason)
        elif not self._closed() and self.connector.options.public_follower_lists == "reconciliation":
            self._keep_public_followers()
        elif self._count("followers") == _int(self.cursor.get(CURSOR_FOLLOWERS)):
            self.snapshot.participants_delta = True  # nothing new: the run keeps the previous list
            self._note_incremental(0, "follower count unchanged, list not read")
            self._complete(Capability.PARTICIPANTS)
        else:
            assert known is not None
            self._read_new_followers(user_id, known)

    def _closed(self) -> bool:
        """Protected as X shows it; as registered when X does not say."""
        observed = self.snapshot.profile.closed if self.snapshot.profile else None
        return observed if observed is not None else (self.account.audience or "").lower() == "closed"

    def _keep_public_followers(self) -> None:
        """A public account's followers between its full listings: not read (policy
        connectors.twitter.public_follower_lists).
        Anyone may follow a public account, so its followers are no participant list the school controls:
        the rule reports only a count, which the full listing every `full_reconcile_days` keeps current."""
        self.snapshot.participants_delta = True  # the run keeps the previous list
        last = parse.parse_time(self.cursor.get(CURSOR_FULL))
        listed = f"{last:%Y-%m-%d}" if last else "an earlier run"
        due = f"{last + timedelta(days=self.reconcile_days):%Y-%m-%d}" if last else "the next run"
        self.snapshot.notes.append(
            f"followers: public account, list kept from its last full listing ({listed}: "
            f"{self.cursor.get(CURSOR_FOLLOWERS, '?')} followers; X now reports {self._count('followers')}); "
            f"listed again by {due} (every {self.reconcile_days} days, or `auditor run --full`; policy "
            "connectors.twitter.public_follower_lists: nightly reads new followers every run)"
        )
        self._complete(Capability.PARTICIPANTS)

    def _reconciliation_due(self) -> str | None:
        return reconciliation_due(self.account.key, self.cursor, self.as_of, self.reconcile_days, full=self.full)

    def _read_all_followers(self, user_id: str, known: KnownParticipants | None, reason: str) -> None:
        count = 0
        pages = self.pages(
            EP_FOLLOWERS,
            self.client.get_users_followers,
            user_id,
            limit=self.page_cap,
            max_results=FOLLOWERS_PAGE,
        )
        for body in pages:
            followers = parse.users_in(body)
            self.snapshot.participants.extend(followers)
            count += len(followers)
            self.builder.mark_partial(Capability.PARTICIPANTS, f"stopped after {count} followers")
        if pages.capped:
            total = (self.snapshot.profile.counts.get("followers") if self.snapshot.profile else None) or "?"
            self.builder.mark_partial(
                Capability.PARTICIPANTS,
                f"read {count} of {total} followers: the policy's connectors.twitter.page_cap allows "
                f"{self.page_cap} pages of {FOLLOWERS_PAGE} per run (raise it to read more; each follower read "
                "is billed)",
            )
            return
        self._complete(Capability.PARTICIPANTS)
        self.next_cursor[CURSOR_FULL] = self.as_of.isoformat()
        self.next_cursor[CURSOR_FOLLOWERS] = str(self._count("followers") or count)
        message = f"followers: full listing ({reason}): {count} followers"
        if known is not None:
            still_there = sum(1 for p in self.snapshot.participants if p in known)
            message += f", {count - still_there} new and {len(known) - still_there} left since the previous snapshot"
        self.snapshot.notes.append(message)

    def _read_new_followers(self, user_id: str, known: KnownParticipants) -> None:
        """X lists followers newest first: read pages until the first follower already known."""
        self.snapshot.participants_delta = True
        reached_known, capped = False, False
        for body, more in self._growing_follower_pages(user_id):
            for follower in parse.users_in(body):
                if follower in known:
                    reached_known = True
                    break
                self.snapshot.participants.append(follower)
            if reached_known:
                break  # no further page is requested
            capped = more
            self.builder.mark_partial(Capability.PARTICIPANTS, f"stopped after {len(self.snapshot.participants)} new")
        if not reached_known and capped:
            self.builder.mark_partial(
                Capability.PARTICIPANTS,
                f"{len(self.snapshot.participants)} new followers read without reaching a known one: the "
                f"policy's x_page_cap allows {self.page_cap} pages per run",
            )
            return
        if not reached_known:
            # Not one known follower is left: the whole list was read, which is a full listing.
            self.snapshot.participants_delta = False
            self.next_cursor[CURSOR_FULL] = self.as_of.isoformat()
            self.snapshot.notes.append(f"followers: all {len(known)} previously known followers left")
        self._complete(Capability.PARTICIPANTS)
        self.next_cursor[CURSOR_FOLLOWERS] = str(self._count("followers"))
        self._note_incremental(len(self.snapshot.participants), "newest first, stopped at the first known follower")

    def _growing_follower_pages(self, user_id: str) -> Iterator[tuple[JSON, bool]]:
        """Follower pages whose size doubles: the first one small, because X bills every follower a
        page returns, also those after the first known one; then larger, so an account that gained
        many followers (X allows 15 follower requests per 15 minutes) needs few requests.

        (tweepy's Paginator keeps one page size, hence this loop: X's pagination token does not
        depend on `max_results`.) Yields each page and whether X has more after it."""
        change = abs((self._count("followers") or 0) - (_int(self.cursor.get(CURSOR_FOLLOWERS)) or 0))
        size = min(FOLLOWERS_PAGE, max(NEW_FOLLOWERS_PAGE_MIN, 2 * change))
        token: str | None = None
        read_followers = self.api(EP_FOLLOWERS, self.client.get_users_followers)
        for _ in range(self.page_cap):
            page_args: dict[str, Any] = {"max_results": size}
            if token:
                page_args["pagination_token"] = token
            body = read_followers(user_id, **page_args)
            token = (body.get("meta") or {}).get("next_token")
            yield body, token is not None
            if token is None:
                return
            size = min(FOLLOWERS_PAGE, size * 2)

    def _note_incremental(self, new: int, how: str) -> None:
        last = parse.parse_time(self.cursor.get(CURSOR_FULL))
        due = f"{last + timedelta(days=self.reconcile_days):%Y-%m-%d}" if last else "the next run"
        self.snapshot.notes.append(
            f"followers: {new} new since the previous run ({how}); followers who left are found at the next "
            f"full listing ({due}, every {self.reconcile_days} days, or `auditor run --full`)"
        )

    def _count(self, name: str) -> int | None:
        return self.snapshot.profile.counts.get(name) if self.snapshot.profile else None

    def read_posts(self, user_id: str) -> None:
        posts_count = self._count("tweet")
        if (
            CURSOR_SINCE_ID in self.cursor
            and posts_count is not None
            and posts_count == _int(self.cursor.get(CURSOR_TWEETS))
        ):
            # The post count has not moved: nothing new on the timeline (the run keeps the window's posts).
            self._complete(Capability.POSTS)
            return
        window = self._window(CURSOR_SINCE_ID)
        newest: list[str] = []
        assert self.me is not None
        pages = self.tweet_pages(EP_TWEETS, self.client.get_users_tweets, user_id, TIMELINE_PAGES, window)
        for body in pages:
            for tweet in parse.tweets_in(body):
                newest.append(str(tweet["id"]))
                if not parse.within(tweet, self.window_start):
                    continue
                self.snapshot.posts.append(parse.post_of(tweet, self.me))
                created = parse.posted_at(tweet)
                conversation = str(tweet.get("conversation_id") or tweet["id"])
                self.conversations.setdefault(conversation, created.date().isoformat())
        if pages.capped:
            self.builder.mark_partial(
                Capability.POSTS, f"X serves only the newest {TIMELINE_PAGES * 100} posts of a timeline"
            )
            return
        self._advance(CURSOR_SINCE_ID, newest)
        if posts_count is not None:
            self.next_cursor[CURSOR_TWEETS] = str(posts_count)
        self._complete(Capability.POSTS)

    def read_interactions(self, user_id: str) -> None:
        tweets: dict[str, JSON] = {}
        mention_ids: list[str] = []
        batched = self.prefetched.mentions if self.prefetched is not None else None
        pages: Pages | None = None
        if batched is not None:
            bodies: Iterable[JSON] = [batched.body()]
            self.users.add_body(batched.body())
            self.mentions_whole_window = batched.since <= self.window_start
            self.snapshot.notes.append(
                f"mentions: the look-back window's ({self.window_start:%Y-%m-%d %H:%M} UTC on), read before the "
                "pulls so that replies could be searched with other registered accounts'"
                if self.mentions_whole_window
                else f"mentions: since {batched.since:%Y-%m-%d %H:%M} UTC, read by a recent search shared with "
                "other registered accounts"
            )
        else:
            window = self._window(CURSOR_MENTIONS_SINCE_ID)
            self.mentions_whole_window = "since_id" not in window
            pages = self.tweet_pages(EP_MENTIONS, self.client.get_users_mentions, user_id, MENTION_PAGES, window)
            bodies = pages
        for body in bodies:
            for tweet in parse.tweets_in(body):
                mention_ids.append(str(tweet["id"]))
                if parse.within(tweet, self.window_start):
                    tweets[str(tweet["id"])] = tweet
        mentions_capped = pages.capped if pages is not None else False
        self._add_interactions(tweets.values())
        self.builder.mark_partial(Capability.INTERACTIONS, f"read {len(tweets)} mentions; replies not read yet")

        reply_ids, replies_capped = self.read_replies(tweets, mentions_complete=not mentions_capped)
        self._add_interactions(t for t in tweets.values() if str(t["id"]) in reply_ids)
        self.snapshot.notes.append(f"interactions: {QUOTES_UNSEEN}")
        if mentions_capped or replies_capped or self.unattributed:
            limits = [f"X serves only the newest {MENTION_PAGES * 100} mentions of an account"] * mentions_capped
            limits += [f"a batch of conversations had more than {SEARCH_PAGES * 100} replies"] * replies_capped
            if self.unattributed:
                # Not advancing the cursor: the next run asks for these posts again.
                limits.append(
                    f"{len(self.unattributed)} mention(s) or reply(ies) came without `author_id` (X left the "
                    "field out): who wrote them is unknown, so they are not audited; the next run reads them again"
                )
            self.builder.mark_partial(Capability.INTERACTIONS, "; ".join(limits))
            return
        self._advance(CURSOR_MENTIONS_SINCE_ID, mention_ids)
        self.next_cursor[CURSOR_MENTIONS_CHECKED] = (self.as_of - CHECK_MARGIN).isoformat()
        self.next_cursor[CURSOR_REPLIES_CHECKED] = (self.as_of - CHECK_MARGIN).isoformat()
        self._advance(CURSOR_REPLIES_SINCE_ID, reply_ids)
        self.snapshot.collections[str(Capability.INTERACTIONS)] = CollectionStatus(
            state=CollectionState.COMPLETE, reason=QUOTES_UNSEEN
        )

    def _note_withheld(self) -> None:
        """X's `errors` beside `data`: resources an answer referred to but left out (a quoted post of a
        protected or suspended account); the posts themselves were read."""
        for words, count in sorted(self.withheld.items()):
            self.snapshot.notes.append(f"X left out {count} resource(s) its answers referred to: {words}")

    def read_replies(self, tweets: dict[str, JSON], *, mentions_complete: bool) -> tuple[list[str], bool]:
        """Replies in the account's conversations (recent search: the last 7 days only), and if any were left."""
        search_start = parse.recent_window_start(self.as_of)
        wanted = self.conversations_to_search(tweets.values(), mentions_complete=mentions_complete)
        shared = self.prefetched.replies if self.prefetched is not None else None
        already = self.prefetched.replies_searched if self.prefetched is not None else frozenset()
        searched = [c for c in wanted if c not in already]  # the rest were searched with other accounts'
        self.snapshot.notes.append(
            f"replies: X recent search reaches back 7 days (to {search_start:%Y-%m-%d %H:%M} UTC); replies "
            f"older than that to the {len(self.conversations)} conversation(s) in the "
            f"{(self.as_of - self.window_start).days}-day window are not visible"
        )
        if len(wanted) < len(self.conversations):
            self.snapshot.notes.append(
                f"replies: searched the {len(wanted)} of {len(self.conversations)} conversation(s) someone has "
                "replied to; a reply to the account's own post always names it and came with its mentions"
            )
        window: dict[str, Any] = {}
        since = self.cursor.get(CURSOR_REPLIES_SINCE_ID)
        checked = parse.parse_time(self.cursor.get(CURSOR_REPLIES_CHECKED))
        since_time = parse.snowflake_time(since) if since else None
        if checked is not None and checked - CHECK_MARGIN > max(search_start, since_time or search_start):
            window["start_time"] = checked - CHECK_MARGIN  # read up to the last run, replies or not
        elif since_time is not None and since_time > search_start:
            window["since_id"] = since  # X refuses a since_id older than the 7-day window
        found: list[str] = []
        if shared is not None:
            self.users.add_body(shared.body())
            for tweet in shared.data:
                found.append(str(tweet["id"]))
                tweets.setdefault(str(tweet["id"]), tweet)
        capped = False
        for query in conversation_queries(searched):
            pages = self.tweet_pages(EP_SEARCH, self.client.search_recent_tweets, query, SEARCH_PAGES, window)
            for body in pages:
                for tweet in parse.tweets_in(body):
                    tweet_id = str(tweet["id"])
                    found.append(tweet_id)
                    if tweet_id not in tweets:
                        tweets[tweet_id] = tweet
            capped = capped or pages.capped
        if self.answered is not None or not capped:
            self.answered = (self.answered or set()) | replied_in(tweets.values(), self.conversations, self._my_id())
        return found, capped

    def _my_id(self) -> str:
        assert self.me is not None and self.me.id is not None
        return self.me.id

    def conversations_to_search(self, mentions: Iterable[JSON], *, mentions_complete: bool) -> list[str]:
        """The conversations that may hold replies the mentions did not bring.

        X does not let a reply drop the author of the post it answers, so a reply to the account's own
        post always names the account and is among its mentions. Only a reply under someone else's reply
        can leave the account out, and such a reply needs a conversation someone has already replied to
        (by induction, the first reply in it answered the account and named it).
        So a run that read its mentions completely searches only the conversations with replies: a full
        or first run, whose mentions cover the whole window, those its mentions reply in; a nightly run
        also those an earlier run found. A run whose mentions were cut short, or a nightly run whose
        earlier run did not record them, searches every conversation.
        """
        mentions = list(mentions)
        if not mentions_complete or any(parse.unattributed(t) or not t.get("conversation_id") for t in mentions):
            return sorted(self.conversations)  # a mention X sent without author or conversation shows nothing
        if self.mentions_whole_window:
            earlier: set[str] = set()  # the mentions hold the window's every reply to the account
        elif self.full or self.answered is None:
            return sorted(self.conversations)
        else:
            earlier = self.answered
        return sorted((earlier | replied_in(mentions, self.conversations, self._my_id())) & self.conversations.keys())

    def _add_interactions(self, tweets: Iterable[JSON]) -> None:
        assert self.me is not None and self.me.id is not None
        seen = {(i.post_id, i.kind, i.target.key if i.target else None) for i in self.snapshot.interactions}
        for tweet in tweets:
            if parse.unattributed(tweet):
                self.unattributed.add(str(tweet["id"]))  # counted: never dropped without a word
                continue
            if str(tweet.get("author_id")) == self.me.id:
                continue  # the account's own posts are `posts`, not interactions with it
            for interaction in parse.interactions_of(tweet, self.users, self.me.id):
                key = (
                    interaction.post_id,
                    interaction.kind,
                    interaction.target.key if interaction.target else None,
                )
                if key not in seen:
                    seen.add(key)
                    self.snapshot.interactions.append(interaction)

    # --- cursor -------------------------------------------------------------------------------

    def _window(self, cursor_key: str) -> dict[str, Any]:
        """Ask only for what is new since the last run, else for the look-back window."""
        since = self.cursor.get(cursor_key)
        if since and parse.snowflake_time(since) >= self.window_start:
            return {"since_id": since}
        return {"start_time": self.window_start}

    def _advance(self, cursor_key: str, ids: list[str]) -> None:
        newest = parse.newest_id(ids, self.cursor.get(cursor_key))
        if newest:
            self.next_cursor[cursor_key] = newest

    def _save_cursor(self) -> None:
        cursor = {k: v for k, v in self.cursor.items() if k not in (CURSOR_CONVERSATIONS, CURSOR_ANSWERED)}
        cursor.update(self.next_cursor)
        if self.conversations:
            cursor[CURSOR_CONVERSATIONS] = " ".join(f"{c}:{d}" for c, d in sorted(self.conversations.items()))
        if self.answered is not None and self.snapshot.status_of(Capability.INTERACTIONS) is not None:
            status = self.snapshot.status_of(Capability.INTERACTIONS)
            if status is not None and status.state == CollectionState.COMPLETE:
                cursor[CURSOR_ANSWERED] = " ".join(sorted(self.answered & self.conversations.keys()))
        self.snapshot.cursor = cursor


def reconciliation_due(
    account_key: str, cursor: Mapping[str, str], as_of: datetime, days: int, *, full: bool
) -> str | None:
    """Why every follower must be listed this run, or None when new ones suffice.

    At least every `days` days (policy full_reconcile_days). To spread the listings over the cycle
    (X allows 15 follower requests per 15 minutes), each account also has a slot day in the cycle,
    from its key, on which it is listed: about 1/`days` of the accounts each night instead of all of
    them on one night. (In the first cycle after the first run each account is thus listed once more,
    on its slot day, sooner than `days`.)
    """
    if full:
        return "full run"
    last = parse.parse_time(cursor.get(CURSOR_FULL))
    if last is None or CURSOR_FOLLOWERS not in cursor:
        return "no earlier full listing"
    age = as_of - last
    if age >= timedelta(days=days):
        return f"last full listing {last:%Y-%m-%d}, policy full_reconcile_days {days}"
    slot = int(hashlib.sha256(account_key.encode("utf-8")).hexdigest(), 16) % days
    if as_of.date().toordinal() % days == slot and age >= timedelta(days=1):
        return f"last full listing {last:%Y-%m-%d}; this account's day in the {days}-day cycle"
    return None


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


class PullEstimate:
    """What `AccountPull` would ask for, predicted from the previous snapshot's counts and cursor (a full
    run ignores the cursor's ids but reads the same window, so its conversations still count)."""

    def __init__(
        self,
        connector: TwitterConnector,
        account: RegisteredAccount,
        cursor: dict[str, str],
        previous: AccountSnapshot | None,
    ) -> None:
        context = connector.context
        self.connector = connector
        self.context = context
        self.account = account
        self.cursor = cursor
        self.counts = previous.profile.counts if previous is not None and previous.profile else {}
        observed = previous.profile.closed if previous is not None and previous.profile else None
        self.closed = observed if observed is not None else (account.audience or "").lower() == "closed"
        self.previous_posts = len(previous.posts) if previous is not None else 0
        interactions = previous.interactions if previous is not None else []
        # Mentions and replies the previous run returned, and the users X included with them.
        self.previous_talk = len({i.post_id for i in interactions if i.post_id})
        self.previous_people = len(
            {i.actor.key for i in interactions} | {i.target.key for i in interactions if i.target}
        )
        self.estimate_ = Estimate()
        self.basis: list[str] = []

    def add(self, endpoint: str, requests: int, item: str | None = None, billed: int = 0) -> None:
        if requests:
            self.estimate_.requests[endpoint] = self.estimate_.requests.get(endpoint, 0) + requests
        if item and billed:
            self.estimate_.billable[item] = self.estimate_.billable.get(item, 0) + billed

    def estimate(self) -> Estimate:
        if self.context.prefetched is None:
            self.add(EP_USER if self.account.platform_id else EP_USER_BY_NAME, 1, "user", 1)
        self.followers()
        self.posts()
        window_start = self.context.window_start
        no_since = CURSOR_MENTIONS_SINCE_ID not in self.cursor
        whole_window = self.context.full or (no_since and not self.batched_mentions())
        if whole_window:
            self.add(EP_MENTIONS, 1, "post", self.previous_talk)  # the whole window again, as last time
            self.add(EP_MENTIONS, 0, "user", self.previous_people)
        elif self.batched_mentions():
            self.basis.append("mentions: by the shared recent search")
        else:
            self.add(EP_MENTIONS, 1)
        conversations = sorted(open_conversations(self.cursor, window_start))
        answered = answered_before(self.cursor, conversations)
        if whole_window:
            # The window's mentions show which conversations have replies: those the last run found
            # (tonight's first replies are not known yet); none of its own when the run reads its mentions
            # before the pulls and packs its searches with other accounts' (estimate_prefetch counts them).
            if self.window_mentions_batched():
                conversations = []
            elif answered is not None:
                conversations = sorted(answered)
        elif answered is not None:
            # Only the conversations someone replied to; none when the shared search covers them.
            conversations = [] if self.batched_mentions() else sorted(answered)
        self.add(EP_SEARCH, len(conversation_queries(conversations)))
        self.estimate_.basis = "; ".join(self.basis)
        return self.estimate_

    def window_mentions_batched(self) -> bool:
        """Whether the run reads this account's mentions before the pulls (`reads_window_mentions`)."""
        if self.context.prefetched is None:
            return False
        return self.connector.reads_window_mentions(_registered_profile(self.account), self.cursor)

    def batched_mentions(self) -> bool:
        """Whether the run's shared mention search serves this account: the same test as
        `estimate_prefetch`, on the registration, so that the two halves of an estimate agree."""
        if self.context.prefetched is None:
            return False
        profile = _registered_profile(self.account)
        return self.connector._searchable(self.account.key, profile, self.cursor) is not None

    def followers(self) -> None:
        cap = self.connector.options.page_cap
        followers = self.counts.get("followers") or _int(self.cursor.get(CURSOR_FOLLOWERS))
        limits = self.context.limits
        due = reconciliation_due(
            self.account.key, self.cursor, self.context.as_of, limits.full_reconcile_days, full=self.context.full
        )
        if due is None and not self.closed and self.connector.options.public_follower_lists == "reconciliation":
            self.basis.append("followers: public account, kept until its full listing")
        elif due is None:
            # Only new followers: one small page when the count moved (unknown before the run).
            self.add(EP_FOLLOWERS, 1, "follower", NEW_FOLLOWERS_PAGE_MIN)
            self.basis.append("followers: new ones only (one small page)")
        elif followers is None:
            self.add(EP_FOLLOWERS, 1, "follower", FOLLOWERS_PAGE)
            self.basis.append("followers: count unknown (first run), one page assumed")
        else:
            pages = min(cap, max(1, math.ceil(followers / FOLLOWERS_PAGE)))
            self.add(EP_FOLLOWERS, pages, "follower", min(followers, cap * FOLLOWERS_PAGE))
            self.basis.append(f"followers: full listing of {followers}")

    def posts(self) -> None:
        # Posts in the window: the previous snapshot's number for a full read, a page of new ones otherwise.
        incremental = not self.context.full and CURSOR_SINCE_ID in self.cursor
        self.add(EP_TWEETS, 1, "post", 0 if incremental else self.previous_posts)


class Pages:
    """tweepy.Paginator's pages, remembering whether it stopped at its limit with pages left."""

    def __init__(self, paginator: tweepy.Paginator) -> None:
        self.paginator = paginator
        self.capped = False

    def __iter__(self) -> Iterator[JSON]:
        iterator = iter(self.paginator)
        yield from iterator
        self.capped = iterator.next_token is not None
