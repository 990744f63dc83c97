"""What one X pull fetches, decided once: the pull follows the plan and the dry-run estimate counts it.

`XKnobs` is the one place the connector reads the run's policy (page caps, look-back window, follower
listing mode); `plan_for` turns it, an account and its cursor into a `FetchPlan`: where the profile
comes from, whether every follower is listed (and why), the windows of posts, mentions and replies,
and which conversations the previous runs left open. The pull and the estimate take the same plan, so
they cannot disagree on which endpoints a run calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from connectors.base import ConnectorContext
from connectors.twitter import mentions, parse
from connectors.twitter.endpoints import (
    CURSOR_FOLLOWERS,
    CURSOR_FULL,
    CURSOR_MENTIONS_SINCE_ID,
    CURSOR_SINCE_ID,
    CURSOR_TWEETS,
    EP_USER,
    EP_USER_BY_NAME,
    JSON,
    X_USERNAME,
    int_or_none,
)
from connectors.twitter.mentions import CURSOR_MENTIONS_CHECKED
from connectors.twitter.replies import (
    CURSOR_REPLIES_CHECKED,
    CURSOR_REPLIES_SINCE_ID,
    answered_before,
    open_conversations,
)
from connectors.twitter.settings import XOptions
from models.tables import RegisteredAccount


@dataclass(frozen=True)
class XKnobs:
    """The run's settings an X pull depends on, read once from the connector context."""

    as_of: datetime
    full: bool  # full reconciliation: cursors ignored, every follower listed
    lookback_days: int
    page_cap: int  # follower pages per account and run
    reconcile_days: int
    public_follower_lists: str  # "reconciliation" or "nightly"
    following_page_cap: int  # personal connections: "following" pages per personal account
    discovery_max_lookups: int
    window_start: datetime  # the look-back window's start (RunLimits.window_start)

    @classmethod
    def from_context(cls, context: ConnectorContext) -> XKnobs:
        """From the run's limits and the policy's `connectors: {twitter: {...}}` section."""
        limits = context.limits
        options = context.options_as(XOptions)
        return cls(
            as_of=context.as_of,
            full=context.full,
            lookback_days=limits.lookback_days,
            page_cap=options.page_cap,
            reconcile_days=limits.full_reconcile_days,
            public_follower_lists=options.public_follower_lists,
            following_page_cap=limits.following_page_cap,
            discovery_max_lookups=limits.discovery_max_lookups,
            window_start=context.window_start,
        )

    @property
    def recent_start(self) -> datetime:
        """How far back X's recent search reaches."""
        return parse.recent_window_start(self.as_of)


class MentionsRead(StrEnum):
    """Who reads an account's mentions."""

    OWN = "own"  # its pull, since the cursor or over the window
    SHARED_SEARCH = "shared_search"  # a nightly recent search shared with other accounts, before the pulls
    BEFORE_PULLS = "before_pulls"  # the window's mentions, read before the pulls (a full or first run)


@dataclass(frozen=True)
class FetchPlan:
    """What one account's pull asks X for."""

    knobs: XKnobs
    account: RegisteredAccount
    cursor: Mapping[str, str]  # what the pull starts from ({} in a full run)
    profile_endpoint: str | None  # None: the run's batched lookup brought the profile
    reconciliation: str | None  # why every follower is listed tonight; None: only new ones
    posts_window: dict[str, Any]
    mentions_read: MentionsRead
    mentions_window: dict[str, Any]  # for MentionsRead.OWN
    replies_window: dict[str, Any]
    conversations: dict[str, str] = field(default_factory=dict)  # open conversations -> day of their post
    answered: frozenset[str] | None = None  # those someone replied to by the last run (None: not recorded)

    @property
    def mentions_whole_window(self) -> bool:
        """Whether tonight's mentions cover the whole look-back window (a full or first run): their
        replies then show every conversation someone has replied to."""
        if self.mentions_read is MentionsRead.OWN:
            return "since_id" not in self.mentions_window
        return self.mentions_read is MentionsRead.BEFORE_PULLS

    def followers_kept(self, closed: bool) -> bool:
        """A public account's followers between its full listings are not read (policy
        connectors.twitter.public_follower_lists)."""
        return self.reconciliation is None and not closed and self.knobs.public_follower_lists == "reconciliation"

    def timeline_unchanged(self, posts_count: int | None) -> bool:
        """The post count has not moved since the timeline was last read completely: nothing to read."""
        return (
            CURSOR_SINCE_ID in self.cursor
            and posts_count is not None
            and posts_count == int_or_none(self.cursor.get(CURSOR_TWEETS))
        )


def plan_for(
    knobs: XKnobs,
    account: RegisteredAccount,
    cursor: Mapping[str, str],
    *,
    profile_prefetched: bool,
    mentions_read: MentionsRead,
) -> FetchPlan:
    cursor = {} if knobs.full else dict(cursor)
    conversations = open_conversations(cursor, knobs.window_start)
    answered = answered_before(cursor, conversations)
    return FetchPlan(
        knobs=knobs,
        account=account,
        cursor=cursor,
        profile_endpoint=None if profile_prefetched else (EP_USER if account.platform_id else EP_USER_BY_NAME),
        reconciliation=reconciliation_due(account.key, cursor, knobs.as_of, knobs.reconcile_days, full=knobs.full),
        posts_window=window(cursor, CURSOR_SINCE_ID, knobs.window_start),
        mentions_read=mentions_read,
        mentions_window=window(cursor, CURSOR_MENTIONS_SINCE_ID, knobs.window_start),
        replies_window=replies_window(cursor, knobs.recent_start),
        conversations=conversations,
        answered=frozenset(answered) if answered is not None else None,
    )


def window(cursor: Mapping[str, str], cursor_key: str, window_start: datetime) -> dict[str, Any]:
    """Ask only for what is new since the last run, else for the look-back window."""
    since = cursor.get(cursor_key)
    if since and parse.snowflake_time(since) >= window_start:
        return {"since_id": since}
    return {"start_time": window_start}


def replies_window(cursor: Mapping[str, str], search_start: datetime) -> dict[str, Any]:
    """Replies since the last run, within what recent search reaches (the last 7 days)."""
    since = cursor.get(CURSOR_REPLIES_SINCE_ID)
    checked = parse.parse_time(cursor.get(CURSOR_REPLIES_CHECKED))
    since_time = parse.snowflake_time(since) if since else None
    if checked is not None and checked - mentions.CHECK_MARGIN > max(search_start, since_time or search_start):
        return {"start_time": checked - mentions.CHECK_MARGIN}  # read up to the last run, replies or not
    if since_time is not None and since_time > search_start:
        return {"since_id": since}  # X refuses a since_id older than the 7-day window
    return {}


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


# --- which accounts the run's shared reads serve (decided before the pulls) --------------------------


def searchable(knobs: XKnobs, key: str, user: JSON, cursor: Mapping[str, str]) -> mentions.Searchable | None:
    """The account, when a nightly recent search shared with other accounts can read its new mentions."""
    username, user_id = str(user.get("username") or ""), str(user.get("id") or "")
    if user.get("protected") is not False or not X_USERNAME.fullmatch(username) or not user_id:
        return None  # a protected account's owner token may see mentions the app's does not
    since = mentions.search_since(
        cursor.get(CURSOR_MENTIONS_SINCE_ID), cursor.get(CURSOR_MENTIONS_CHECKED), knobs.as_of, knobs.window_start
    )
    return mentions.Searchable(key, username, user_id, since) if since is not None else None


def reads_window_mentions(knobs: XKnobs, user: JSON, cursor: Mapping[str, str]) -> bool:
    """Whether the prefetch reads this account's mentions of the whole window (a full or first run of a
    public account), so that its replies can be searched with other accounts' (replies.py)."""
    if user.get("protected") is not False or not user.get("id"):
        return False  # a protected account's owner token may see mentions the app's does not
    if knobs.full:
        return True
    if searchable(knobs, str(user.get("id")), user, cursor) is not None:
        return False  # the nightly shared search reads its new mentions
    since = cursor.get(CURSOR_MENTIONS_SINCE_ID)
    return not since or not since.isdigit() or parse.snowflake_time(since) < knobs.window_start


def predicted_mentions_read(knobs: XKnobs, user: JSON, cursor: Mapping[str, str]) -> MentionsRead:
    """For an estimate: who will read the account's mentions when the run reads shared batches first."""
    if not knobs.full and searchable(knobs, str(user.get("id")), user, cursor) is not None:
        return MentionsRead.SHARED_SEARCH
    if reads_window_mentions(knobs, user, cursor):
        return MentionsRead.BEFORE_PULLS
    return MentionsRead.OWN
