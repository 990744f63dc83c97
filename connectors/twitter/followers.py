"""An X pull's followers: every follower at a full listing, otherwise only the new ones (newest
first, in growing pages), or none for a public account between its full listings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from connectors.base import KnownParticipants
from connectors.twitter import parse
from connectors.twitter.endpoints import (
    CURSOR_FOLLOWERS,
    CURSOR_FULL,
    EP_FOLLOWERS,
    FOLLOWERS_PAGE,
    JSON,
    NEW_FOLLOWERS_PAGE_MIN,
    int_or_none,
)
from connectors.twitter.paging import next_token
from connectors.twitter.pull_state import PullState
from models.snapshot import Capability


class FollowerReads(PullState):
    def read_followers(self, user_id: str) -> None:
        """Every follower at a full reconciliation; otherwise only who is new since the last run."""
        reason = self.plan.reconciliation
        known = self.known_participants(self.account.key) if self.known_participants else None
        if reason is None and known is None:
            reason = "the previous follower list is not in the store"
        if reason is not None:
            self._read_all_followers(user_id, known, reason)
        elif self.plan.followers_kept(self._closed()):
            self._keep_public_followers()
        elif self._count("followers") == int_or_none(self.cursor.get(CURSOR_FOLLOWERS)):
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
                f"policy's connectors.twitter.page_cap allows {self.page_cap} pages per run",
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
        change = abs((self._count("followers") or 0) - (int_or_none(self.cursor.get(CURSOR_FOLLOWERS)) or 0))
        size = min(FOLLOWERS_PAGE, max(NEW_FOLLOWERS_PAGE_MIN, 2 * change))
        token: str | None = None
        read_followers = self.api(EP_FOLLOWERS, self.client.get_users_followers)
        for _ in range(self.page_cap):
            page_args: dict[str, Any] = {"max_results": size}
            if token:
                page_args["pagination_token"] = token
            body = read_followers(user_id, **page_args)
            token = next_token(body)
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
