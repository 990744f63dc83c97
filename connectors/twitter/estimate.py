"""The dry-run estimate of X requests and billed items, counted from the same `FetchPlan` the pull
follows, and from the previous snapshot's counts (how many followers, posts, mentions last time)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from connectors.base import Estimate
from connectors.twitter import mentions, replies
from connectors.twitter.endpoints import (
    CURSOR_FOLLOWERS,
    EP_FOLLOWERS,
    EP_FOLLOWING,
    EP_MENTIONS,
    EP_SEARCH,
    EP_TWEETS,
    EP_USER_BY_NAME,
    EP_USERS,
    EP_USERS_BY_NAME,
    FOLLOWERS_PAGE,
    LOOKUP_BATCH,
    NEW_FOLLOWERS_PAGE_MIN,
    int_or_none,
    registered_profile,
)
from connectors.twitter.plan import FetchPlan, MentionsRead, XKnobs, reads_window_mentions, searchable
from connectors.twitter.replies import answered_before, open_conversations
from connectors.twitter.replies import queries as conversation_queries
from models.snapshot import AccountSnapshot
from models.tables import RegisteredAccount


class PullEstimate:
    """What `AccountPull` would ask for under `plan`, predicted from the previous snapshot's counts and
    cursor (a full run ignores the cursor's ids but reads the same window, so its conversations still
    count)."""

    def __init__(self, plan: FetchPlan, cursor: Mapping[str, str], previous: AccountSnapshot | None) -> None:
        self.plan = plan
        self.cursor = cursor  # the previous run's, also in a full run (its conversations)
        self.counts = previous.profile.counts if previous is not None and previous.profile else {}
        observed = previous.profile.closed if previous is not None and previous.profile else None
        self.closed = observed if observed is not None else (plan.account.audience or "").lower() == "closed"
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
        plan = self.plan
        if plan.profile_endpoint is not None:
            self.add(plan.profile_endpoint, 1, "user", 1)
        self.followers()
        self.posts()
        shared_search = plan.mentions_read is MentionsRead.SHARED_SEARCH
        whole_window = plan.mentions_whole_window
        if whole_window:
            self.add(EP_MENTIONS, 1, "post", self.previous_talk)  # the whole window again, as last time
            self.add(EP_MENTIONS, 0, "user", self.previous_people)
        elif shared_search:
            self.basis.append("mentions: by the shared recent search")
        else:
            self.add(EP_MENTIONS, 1)
        conversations = sorted(open_conversations(self.cursor, plan.knobs.window_start))
        answered = answered_before(self.cursor, conversations)
        if whole_window:
            # The window's mentions show which conversations have replies: those the last run found
            # (tonight's first replies are not known yet); none of its own when the run reads its mentions
            # before the pulls and packs its searches with other accounts' (estimate_prefetch counts them).
            if plan.mentions_read is MentionsRead.BEFORE_PULLS:
                conversations = []
            elif answered is not None:
                conversations = sorted(answered)
        elif answered is not None:
            # Only the conversations someone replied to; none when the shared search covers them.
            conversations = [] if shared_search else sorted(answered)
        self.add(EP_SEARCH, len(conversation_queries(conversations)))
        self.estimate_.basis = "; ".join(self.basis)
        return self.estimate_

    def followers(self) -> None:
        cap = self.plan.knobs.page_cap
        followers = self.counts.get("followers") or int_or_none(self.cursor.get(CURSOR_FOLLOWERS))
        if self.plan.followers_kept(self.closed):
            self.basis.append("followers: public account, kept until its full listing")
        elif self.plan.reconciliation is None:
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
        incremental = "since_id" in self.plan.posts_window
        self.add(EP_TWEETS, 1, "post", 0 if incremental else self.previous_posts)


def estimate_prefetch(
    knobs: XKnobs, accounts: list[RegisteredAccount], cursors: Mapping[str, Mapping[str, str]]
) -> Estimate:
    """The run's batched reads before the pulls (prefetch.py), from the registrations and cursors."""
    with_id = sum(1 for a in accounts if a.platform_id)
    requests = {EP_USERS: math.ceil(with_id / LOOKUP_BATCH)}
    requests[EP_USERS_BY_NAME] = math.ceil((len(accounts) - with_id) / LOOKUP_BATCH)
    basis = "one batched profile lookup"
    window = [
        w
        for account in accounts
        if reads_window_mentions(knobs, registered_profile(account), cursors.get(account.key) or {})
        for w in _answered_before(knobs, account.key, cursors.get(account.key) or {})
    ]
    if window:
        requests[EP_SEARCH] = len(replies.batches(window))
        basis += (
            f"; replies in {len(window)} conversations someone replied to by the last run, of the accounts "
            "whose mentions of the window are read before the pulls, by shared recent searches"
        )
    if not knobs.full:
        found = [
            account
            for registered in accounts
            if (
                account := searchable(
                    knobs, registered.key, registered_profile(registered), cursors.get(registered.key) or {}
                )
            )
        ]
        watched = [w for a in found for w in _watched_before(knobs, a.key, cursors.get(a.key) or {})]
        requests[EP_SEARCH] = requests.get(EP_SEARCH, 0) + len(mentions.batches(found)) + len(replies.batches(watched))
        basis += (
            f"; mentions of {len(found)} accounts and replies in {len(watched)} of their conversations by "
            "shared recent searches (at least one page each)"
        )
    return Estimate({k: v for k, v in requests.items() if v}, 0, {"user": len(accounts)}, basis)


def _answered_before(knobs: XKnobs, key: str, cursor: Mapping[str, str]) -> list[replies.Watched]:
    """For an estimate of a full or first run: the conversations of the window the last run found
    replies in (all of them when it did not record which)."""
    conversations = open_conversations(cursor, knobs.window_start)
    answered = answered_before(cursor, conversations)
    found = conversations.keys() if answered is None else answered
    return [replies.Watched(key, c, None, knobs.as_of) for c in sorted(found)]


def _watched_before(knobs: XKnobs, key: str, cursor: Mapping[str, str]) -> list[replies.Watched]:
    """For an estimate: the conversations someone replied to by the previous run (tonight's first
    replies are not known before the run)."""
    answered = answered_before(cursor, open_conversations(cursor, knobs.window_start))
    return [replies.Watched(key, c, None, knobs.as_of) for c in sorted(answered or ())]


def estimate_following(knobs: XKnobs, accounts: int) -> Estimate:
    cap = knobs.following_page_cap
    if not accounts:
        return Estimate()
    return Estimate(
        {EP_USER_BY_NAME: accounts, EP_FOLLOWING: accounts * cap},
        0,
        {"user": accounts * (1 + cap * FOLLOWERS_PAGE)},
        f"personal connections: {accounts} personal account(s), at most {cap} following page(s) of "
        f"{FOLLOWERS_PAGE} each (policy personal_connections_page_cap)",
    )


def estimate_discovery(knobs: XKnobs) -> Estimate:
    most = knobs.discovery_max_lookups
    return Estimate(
        {EP_USERS_BY_NAME: math.ceil(most / LOOKUP_BATCH)} if most else {},
        0,
        {"user": most} if most else {},
        f"discovery: at most {most} profile lookups (policy discovery_max_lookups)",
    )
