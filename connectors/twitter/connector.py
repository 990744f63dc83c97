"""X / Twitter connector: tweepy.Client (API v2) -> AccountSnapshot.

One pull reads, for a registered account: the profile (protected flag, counts), the followers
(the participant list of a protected account), the account's posts in the look-back window, the
posts that mention it, and the replies in its conversations (recent search, 7 days). Every call
goes through `Connector.call` (retries, rate-limit waits within the deadline, request counting).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import tweepy

from connectors.base import Connector, CredentialCheck, SnapshotBuilder
from connectors.resilience import PlatformError
from connectors.twitter import parse
from connectors.twitter.auth import XCredentials, credentials_for, guard_library_logs, owner_token_hint
from connectors.twitter.errors import classify, partial_error
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
TIMELINE_PAGES = 32  # X serves only the newest 3,200 posts of a timeline (100 per page)
MENTION_PAGES = 8  # ... and the newest 800 mentions
SEARCH_PAGES = 10  # per query: 1,000 replies per batch of conversations
SEARCH_QUERY_LIMIT = 512  # characters X accepts in a recent-search query

# Cursor keys (what the next nightly run starts from).
CURSOR_SINCE_ID = "since_id"  # newest own post read
CURSOR_MENTIONS_SINCE_ID = "mentions_since_id"  # newest mention read
CURSOR_REPLIES_SINCE_ID = "replies_since_id"  # newest reply read by conversation search
CURSOR_CONVERSATIONS = "conversations"  # "<conversation id>:<YYYY-MM-DD of the post>" ... still in the window

EP_USER = "GET /2/users/:id"
EP_USER_BY_NAME = "GET /2/users/by/username/:username"
EP_FOLLOWERS = "GET /2/users/:id/followers"
EP_TWEETS = "GET /2/users/:id/tweets"
EP_MENTIONS = "GET /2/users/:id/mentions"
EP_SEARCH = "GET /2/tweets/search/recent"


class TwitterConnector(Connector):
    name = "twitter"
    aliases = ("x",)
    incremental = True  # posts, mentions and replies are asked for since the previous snapshot's ids
    capabilities = frozenset({Capability.PROFILE, Capability.PARTICIPANTS, Capability.POSTS, Capability.INTERACTIONS})
    limitations: ClassVar[dict[Capability, str]] = {
        Capability.ADMINS: (
            "X has no API for who manages an account (delegates, logins, password changes): the admin and "
            "password rules use the registry's declared admins and reset dates (evidence: declared)"
        ),
    }

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        guard_library_logs()

    def classify_error(self, error: BaseException) -> PlatformError:
        return classify(error)

    def check_credentials(self, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
        """`auditor doctor`: see connectors/twitter/doctor.py."""
        from connectors.twitter.doctor import check_x

        return check_x(self, accounts)

    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        builder = self.new_builder(account)
        credentials = credentials_for(self.context.settings, account.key)
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
        self.window_start = self.as_of - timedelta(days=context.policy.lookback_days)
        self.page_cap = context.policy.x_page_cap
        self.protected_fix = owner_token_hint(context.settings, account.key)
        self.users = parse.UserIndex()
        self.me: Identity | None = None
        self.conversations: dict[str, str] = self._open_conversations()
        self.next_cursor: dict[str, str] = {}

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
            return self.connector.call(self.builder, endpoint, self._request, method, *args, **kwargs)

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
        if self.account.platform_id:
            body = self.api(EP_USER, self.client.get_user)(id=self.account.platform_id, user_fields=PROFILE_FIELDS)
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
                f"read {count} of {total} followers: the policy's x_page_cap allows {self.page_cap} pages of "
                f"{FOLLOWERS_PAGE} per run (raise x_page_cap to read more; each follower read is billed)",
            )
        else:
            self._complete(Capability.PARTICIPANTS)

    def read_posts(self, user_id: str) -> None:
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
                created = parse.parse_time(tweet.get("created_at")) or parse.snowflake_time(str(tweet["id"]))
                conversation = str(tweet.get("conversation_id") or tweet["id"])
                self.conversations.setdefault(conversation, created.date().isoformat())
        if pages.capped:
            self.builder.mark_partial(
                Capability.POSTS, f"X serves only the newest {TIMELINE_PAGES * 100} posts of a timeline"
            )
            return
        self._advance(CURSOR_SINCE_ID, newest)
        self._complete(Capability.POSTS)

    def read_interactions(self, user_id: str) -> None:
        tweets: dict[str, JSON] = {}
        mention_ids: list[str] = []
        window = self._window(CURSOR_MENTIONS_SINCE_ID)
        pages = self.tweet_pages(EP_MENTIONS, self.client.get_users_mentions, user_id, MENTION_PAGES, window)
        for body in pages:
            for tweet in parse.tweets_in(body):
                mention_ids.append(str(tweet["id"]))
                if parse.within(tweet, self.window_start):
                    tweets[str(tweet["id"])] = tweet
        mentions_capped = pages.capped
        self._add_interactions(tweets.values())
        self.builder.mark_partial(Capability.INTERACTIONS, f"read {len(tweets)} mentions; replies not read yet")

        reply_ids, replies_capped = self.read_replies(tweets)
        self._add_interactions(t for t in tweets.values() if str(t["id"]) in reply_ids)
        if mentions_capped or replies_capped:
            limits = [f"X serves only the newest {MENTION_PAGES * 100} mentions of an account"] * mentions_capped
            limits += [f"a batch of conversations had more than {SEARCH_PAGES * 100} replies"] * replies_capped
            self.builder.mark_partial(Capability.INTERACTIONS, "; ".join(limits))
            return
        self._advance(CURSOR_MENTIONS_SINCE_ID, mention_ids)
        self._advance(CURSOR_REPLIES_SINCE_ID, reply_ids)
        self._complete(Capability.INTERACTIONS)

    def read_replies(self, tweets: dict[str, JSON]) -> tuple[list[str], bool]:
        """Replies in the account's conversations (recent search: the last 7 days only), and if any were left."""
        search_start = parse.recent_window_start(self.as_of)
        self.snapshot.notes.append(
            f"replies: X recent search reaches back 7 days (to {search_start:%Y-%m-%d %H:%M} UTC); replies "
            f"older than that to the {len(self.conversations)} conversation(s) in the "
            f"{(self.as_of - self.window_start).days}-day window are not visible"
        )
        window: dict[str, Any] = {}
        since = self.cursor.get(CURSOR_REPLIES_SINCE_ID)
        if since and parse.snowflake_time(since) > search_start:
            window["since_id"] = since  # X refuses a since_id older than the 7-day window
        found: list[str] = []
        capped = False
        for query in conversation_queries(sorted(self.conversations)):
            pages = self.tweet_pages(EP_SEARCH, self.client.search_recent_tweets, query, SEARCH_PAGES, window)
            for body in pages:
                for tweet in parse.tweets_in(body):
                    tweet_id = str(tweet["id"])
                    found.append(tweet_id)
                    if tweet_id not in tweets:
                        tweets[tweet_id] = tweet
            capped = capped or pages.capped
        return found, capped

    def _add_interactions(self, tweets: Iterable[JSON]) -> None:
        assert self.me is not None and self.me.id is not None
        seen = {(i.post_id, i.kind, i.target.key if i.target else None) for i in self.snapshot.interactions}
        for tweet in tweets:
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

    def _open_conversations(self) -> dict[str, str]:
        """Conversations of earlier runs whose post is still inside the look-back window."""
        cutoff = self.window_start.date().isoformat()
        found: dict[str, str] = {}
        for entry in self.cursor.get(CURSOR_CONVERSATIONS, "").split():
            conversation, _, day = entry.partition(":")
            if conversation.isdigit() and day >= cutoff:
                found[conversation] = day
        return found

    def _save_cursor(self) -> None:
        cursor = {k: v for k, v in self.cursor.items() if k != CURSOR_CONVERSATIONS}
        cursor.update(self.next_cursor)
        if self.conversations:
            cursor[CURSOR_CONVERSATIONS] = " ".join(f"{c}:{d}" for c, d in sorted(self.conversations.items()))
        self.snapshot.cursor = cursor


class Pages:
    """tweepy.Paginator's pages, remembering whether it stopped at its limit with pages left."""

    def __init__(self, paginator: tweepy.Paginator) -> None:
        self.paginator = paginator
        self.capped = False

    def __iter__(self) -> Iterator[JSON]:
        iterator = iter(self.paginator)
        yield from iterator
        self.capped = iterator.next_token is not None


def conversation_queries(conversation_ids: list[str]) -> list[str]:
    """`conversation_id:1 OR conversation_id:2 ...`, each query within X's length limit."""
    queries: list[str] = []
    current = ""
    for conversation in conversation_ids:
        term = f"conversation_id:{conversation}"
        candidate = f"{current} OR {term}" if current else term
        if len(candidate) > SEARCH_QUERY_LIMIT and current:
            queries.append(current)
            candidate = term
        current = candidate
    if current:
        queries.append(current)
    return queries
