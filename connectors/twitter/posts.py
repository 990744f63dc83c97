"""An X pull's posts and interactions: the account's timeline in the window, its mentions (its own
read or the run's shared one), and the replies in its conversations (recent search, 7 days)."""

from __future__ import annotations

from collections.abc import Iterable

from connectors.twitter import parse
from connectors.twitter.endpoints import (
    CURSOR_MENTIONS_SINCE_ID,
    CURSOR_SINCE_ID,
    CURSOR_TWEETS,
    EP_MENTIONS,
    EP_SEARCH,
    EP_TWEETS,
    JSON,
    MENTION_PAGES,
    QUOTES_UNSEEN,
    SEARCH_PAGES,
    TIMELINE_PAGES,
)
from connectors.twitter.mentions import CHECK_MARGIN, CURSOR_MENTIONS_CHECKED
from connectors.twitter.paging import Pages
from connectors.twitter.plan import MentionsRead
from connectors.twitter.pull_state import PullState
from connectors.twitter.replies import CURSOR_REPLIES_CHECKED, CURSOR_REPLIES_SINCE_ID, replied_in
from connectors.twitter.replies import queries as conversation_queries
from models.snapshot import Capability, CollectionState, CollectionStatus


class PostReads(PullState):
    def read_posts(self, user_id: str) -> None:
        posts_count = self._count("tweet")
        if self.plan.timeline_unchanged(posts_count):
            # The post count has not moved: nothing new on the timeline (the run keeps the window's posts).
            self._complete(Capability.POSTS)
            return
        newest: list[str] = []
        assert self.me is not None
        window = dict(self.plan.posts_window)
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
        self.mentions_whole_window = self.plan.mentions_whole_window
        if batched is not None and self.plan.mentions_read is not MentionsRead.OWN:
            bodies: Iterable[JSON] = [batched.body()]
            self.users.add_body(batched.body())
            self.snapshot.notes.append(
                f"mentions: the look-back window's ({self.window_start:%Y-%m-%d %H:%M} UTC on), read before the "
                "pulls so that replies could be searched with other registered accounts'"
                if self.mentions_whole_window
                else f"mentions: since {batched.since:%Y-%m-%d %H:%M} UTC, read by a recent search shared with "
                "other registered accounts"
            )
        else:
            window = dict(self.plan.mentions_window)
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
        search_start = self.plan.knobs.recent_start
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
        window = dict(self.plan.replies_window)
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
