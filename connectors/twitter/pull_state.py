"""One account's X pull: its state, its requests and its cursor (the reads are in followers.py,
posts.py and pull.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from connectors.base import Connector, KnownParticipants, SnapshotBuilder
from connectors.resilience import PlatformError
from connectors.twitter import parse
from connectors.twitter.auth import XCredentials
from connectors.twitter.endpoints import JSON, bill_body
from connectors.twitter.errors import classify, partial_error, withheld
from connectors.twitter.paging import Pages, paginate, tweet_pages
from connectors.twitter.plan import FetchPlan
from connectors.twitter.prefetch import XPrefetch
from connectors.twitter.replies import CURSOR_ANSWERED, CURSOR_CONVERSATIONS
from models.snapshot import Capability, CollectionState, CollectionStatus, ErrorKind, Identity
from models.tables import RegisteredAccount


class PullState:
    """The state of one account's pull (a connector may serve several accounts at once)."""

    def __init__(
        self,
        connector: Connector,
        builder: SnapshotBuilder,
        account: RegisteredAccount,
        credentials: XCredentials,
        plan: FetchPlan,
        *,
        protected_fix: str,
        known_participants: Callable[[str], KnownParticipants | None] | None,
        prefetched: XPrefetch | None,
    ) -> None:
        self.connector = connector
        self.builder = builder
        self.snapshot = builder.snapshot
        self.account = account
        self.credentials = credentials
        self.client = credentials.client
        self.plan = plan
        self.cursor = plan.cursor
        knobs = plan.knobs
        self.as_of: datetime = knobs.as_of
        self.window_start = knobs.window_start
        self.page_cap = knobs.page_cap
        self.full = knobs.full
        self.reconcile_days = knobs.reconcile_days
        self.protected_fix = protected_fix
        self.known_participants = known_participants
        self.prefetched = prefetched
        self.users = parse.UserIndex()
        self.me: Identity | None = None
        self.conversations: dict[str, str] = dict(plan.conversations)
        self.answered: set[str] | None = set(plan.answered) if plan.answered is not None else None
        self.next_cursor: dict[str, str] = {}
        # Whether this run's mentions cover the whole look-back window (a full or first run): their
        # replies then show every conversation someone has replied to.
        self.mentions_whole_window = False
        self.unattributed: set[str] = set()  # mentions and replies X sent without `author_id`
        self.withheld: dict[str, int] = {}  # X's words -> resources it left out of answers that had data

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
        return paginate(self.api(endpoint, method), *args, limit=limit, **kwargs)

    def tweet_pages(
        self, endpoint: str, method: Callable[..., Any], target: str, limit: int, window: dict[str, Any]
    ) -> Pages:
        """Pages of posts with the fields and expansions interactions need."""
        return tweet_pages(self.api(endpoint, method), target, limit, window)

    # --- state ----------------------------------------------------------------------------------

    def _complete(self, collection: Capability) -> None:
        self.snapshot.collections[str(collection)] = CollectionStatus(state=CollectionState.COMPLETE)

    def _count(self, name: str) -> int | None:
        return self.snapshot.profile.counts.get(name) if self.snapshot.profile else None

    def _my_id(self) -> str:
        assert self.me is not None and self.me.id is not None
        return self.me.id

    # --- cursor -------------------------------------------------------------------------------

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
