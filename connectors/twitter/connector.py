"""X / Twitter connector: tweepy.Client (API v2) -> AccountSnapshot.

One pull reads, for a registered account: the profile (protected flag, counts), the followers
(the participant list of a protected account), the account's posts in the look-back window, the
posts that mention it, and the replies in its conversations (recent search, 7 days). Every call
goes through `Connector.call` (retries, rate-limit waits within the deadline, request counting).

The work is split by job: `plan.py` decides what a pull fetches (the pull and the estimate follow the
same plan), `prefetch.py` holds the run's batched reads, `pull.py` with `followers.py` and `posts.py`
one account's reads, `estimate.py` the dry-run counts, `paging.py` the coupling to tweepy's paging.
This module wires them to the `Connector` interface and is the one place that reads the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import tweepy

from connectors.base import (
    Connector,
    CredentialCheck,
    Estimate,
    Following,
    FoundAccount,
    SnapshotBuilder,
)
from connectors.resilience import PlatformError
from connectors.twitter import auth, estimate, parse
from connectors.twitter.auth import credentials_for, guard_library_logs, owner_token_hint
from connectors.twitter.endpoints import (  # noqa: F401  (re-exported: the X connector's public names)
    CURSOR_FOLLOWERS,
    CURSOR_FULL,
    CURSOR_MENTIONS_SINCE_ID,
    CURSOR_SINCE_ID,
    CURSOR_TWEETS,
    EP_FOLLOWERS,
    EP_FOLLOWING,
    EP_MENTIONS,
    EP_SEARCH,
    EP_TWEETS,
    EP_USER,
    EP_USER_BY_NAME,
    EP_USERS,
    EP_USERS_BY_NAME,
    FOLLOWERS_PAGE,
    LOOKUP_BATCH,
    PROFILE_FIELDS,
    PROTECTED_FOLLOWING,
    QUOTES_UNSEEN,
    X_USERNAME,
    registered_profile,
    users_of,
)
from connectors.twitter.errors import classify_error
from connectors.twitter.paging import checked, paginate
from connectors.twitter.plan import (  # noqa: F401  (reconciliation_due re-exported)
    FetchPlan,
    MentionsRead,
    XKnobs,
    plan_for,
    predicted_mentions_read,
    reconciliation_due,
)
from connectors.twitter.prefetch import Prefetch, XPrefetch
from connectors.twitter.pull import AccountPull
from connectors.twitter.remediation import REMEDIATION
from connectors.twitter.replies import queries as conversation_queries  # noqa: F401  (re-exported)
from connectors.twitter.settings import CREDENTIAL_VARIABLES, PRICES, XOptions, XSettings
from models.snapshot import AccountSnapshot, Capability, ErrorKind
from models.tables import RegisteredAccount


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

    def classify_error(self, error: BaseException) -> PlatformError:
        return classify_error(error)

    def check_credentials(self, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
        """`auditor doctor`: see connectors/twitter/doctor.py."""
        from connectors.twitter.doctor import check_x

        return check_x(self, accounts)

    # --- what the run asks for: the settings and policy, read here only --------------------------

    @property
    def settings(self) -> XSettings:
        return self.context.settings_as(XSettings)

    @property
    def knobs(self) -> XKnobs:
        return XKnobs.from_context(self.context)

    def _app_client(self) -> tweepy.Client | None:
        """A client with the app's bearer token (batched reads), or None when none is configured."""
        token = self.settings.x_bearer_token
        return auth.build_client(bearer_token=token.get_secret_value()) if token is not None else None

    def plan(self, account: RegisteredAccount, cursor: Mapping[str, str], prefetched: Any = None) -> FetchPlan:
        """What this run's pull of `account` asks X for: the pull follows it, the estimate counts it.
        `prefetched` is what the run's batched reads found for the account (`XPrefetch`), or, for an
        estimate, whether they will run (True): whether they will serve the account is then predicted
        from its registration, as `estimate_prefetch` does."""
        knobs = self.knobs
        if isinstance(prefetched, XPrefetch):
            mentions_read = prefetched.mentions_read(knobs.window_start)
        elif prefetched:
            mentions_read = predicted_mentions_read(knobs, registered_profile(account), cursor)
        else:
            mentions_read = MentionsRead.OWN
        return plan_for(knobs, account, cursor, profile_prefetched=bool(prefetched), mentions_read=mentions_read)

    # --- one account ----------------------------------------------------------------------------

    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        builder = self.new_builder(account)
        settings = self.settings
        credentials = credentials_for(settings, account.key)
        if credentials is None:
            missing = PlatformError(
                ErrorKind.AUTH,
                "no X credentials configured",
                fix="set X_BEARER_TOKEN (app-only bearer token of the X developer app)",
            )
            for capability in sorted(self.capabilities):
                builder.record_error(str(capability), missing)
            return builder.snapshot
        prefetched = self.context.prefetched if isinstance(self.context.prefetched, XPrefetch) else None
        AccountPull(
            self,
            builder,
            account,
            credentials,
            self.plan(account, cursor, prefetched),
            protected_fix=owner_token_hint(settings, account.key),
            known_participants=self.context.known_participants,
            prefetched=prefetched,
        ).run()
        return builder.snapshot

    def estimate(
        self, account: RegisteredAccount, cursor: dict[str, str], previous: AccountSnapshot | None
    ) -> Estimate:
        """Requests and billed items of one pull, from the previous snapshot's counts and cursor."""
        plan = self.plan(account, cursor, self.context.prefetched is not None)
        return estimate.PullEstimate(plan, cursor, previous).estimate()

    # --- counts before lists: one lookup for every account ------------------------------------

    def prefetch(
        self,
        accounts: list[RegisteredAccount],
        builder: SnapshotBuilder,
        cursors: Mapping[str, Mapping[str, str]],
    ) -> dict[str, Any]:
        """Profiles (protected flag, follower and post counts) of all accounts in batches of 100, with
        the app's bearer token: each pull then compares counts instead of asking for its profile. On a
        nightly run, also the accounts' mentions, about 25 accounts per recent search (prefetch.py)."""
        client = self._app_client()
        if client is None:
            return {}
        return dict(Prefetch(self, self.knobs, client, builder).run(accounts, cursors))

    @classmethod
    def prefetched_to_data(cls, hint: Any) -> Any:
        return hint.to_data() if isinstance(hint, XPrefetch) else hint

    @classmethod
    def prefetched_from_data(cls, data: Any) -> Any:
        return XPrefetch.from_data(data)  # what `prefetch` hands out is only ever an XPrefetch

    def estimate_prefetch(
        self, accounts: list[RegisteredAccount], cursors: Mapping[str, Mapping[str, str]]
    ) -> Estimate:
        return estimate.estimate_prefetch(self.knobs, accounts, cursors)

    # --- discovery: who are the accounts the registered ones mention? ---------------------------

    lookup_batch = LOOKUP_BATCH
    discovery_notes = (
        "user lookup of the handles found in content: one GET /2/users/by request per 100 handles, "
        "billed per user returned (policy prices twitter:user); X has no account search in API v2"
    )

    def estimate_discovery(self, schools: list[str]) -> Estimate:
        return estimate.estimate_discovery(self.knobs)

    def lookup_accounts(self, handles: list[str], builder: SnapshotBuilder) -> list[FoundAccount]:
        """Profiles of up to 100 usernames in one request (app bearer token). A suspended or unknown
        username comes back in the 200 answer's `errors` (resource-not-found): no profile, X's words."""
        client = self._app_client()
        if client is None:
            raise PlatformError(ErrorKind.AUTH, "no X credentials configured", fix="set X_BEARER_TOKEN")
        asked = {h.lstrip("@").lower(): h.lstrip("@") for h in handles if X_USERNAME.fullmatch(h.lstrip("@"))}
        if not asked:
            return []
        body = self.call(
            builder, EP_USERS_BY_NAME, client.get_users, usernames=sorted(asked.values()), user_fields=PROFILE_FIELDS
        )
        if not isinstance(body, dict):
            raise PlatformError(ErrorKind.MALFORMED, "X sent a response that is not a JSON object")
        found = [FoundAccount(str(user["username"]), parse.profile_of(user)) for user in users_of(body, builder)]
        for problem in body.get("errors") or []:
            name = str(problem.get("value") or problem.get("resource_id") or "") if isinstance(problem, dict) else ""
            if name.lower() in asked:
                words = str(problem.get("detail") or problem.get("title") or "not found")
                found.append(FoundAccount(asked[name.lower()], None, words))
        return found

    # --- staff-student-personal-connection (opt-in): whom a staff member's personal account follows ----

    shows_following = True

    def read_following(self, handle: str, builder: SnapshotBuilder) -> Following:
        """One username lookup, then GET /2/users/:id/following pages of 1,000 through tweepy's paginator,
        at most the policy's `personal_connections_page_cap` pages (each returned user is billed)."""
        name = handle.lstrip("@")
        client = self._app_client()
        if client is None:
            raise PlatformError(ErrorKind.AUTH, "no X credentials configured", fix="set X_BEARER_TOKEN")
        if not X_USERNAME.fullmatch(name):
            raise PlatformError(ErrorKind.BAD_REQUEST, f"not an X username: {handle!r}")
        user = checked(self, builder, EP_USER_BY_NAME, client.get_user, PROTECTED_FOLLOWING)(username=name)["data"]
        cap = self.knobs.following_page_cap
        following = checked(self, builder, EP_FOLLOWING, client.get_users_following, PROTECTED_FOLLOWING)
        pages = paginate(following, str(user["id"]), limit=cap, max_results=FOLLOWERS_PAGE)
        followed = [identity for body in pages for identity in parse.users_in(body)]
        if pages.capped:
            reason = (
                f"read the first {len(followed)} accounts @{name} follows: personal_connections_page_cap allows "
                f"{cap} pages of {FOLLOWERS_PAGE}"
            )
            return Following(followed, complete=False, reason=reason)
        return Following(followed, complete=True)

    def estimate_following(self, accounts: int) -> Estimate:
        return estimate.estimate_following(self.knobs, accounts)
