"""Normalisation of X API v2 JSON bodies into snapshot types.

Works on the raw JSON (`data` / `includes` / `errors` / `meta`) as X returns it, so the same code
parses what tweepy hands back (the client runs with `return_type=dict`) and bodies stored as files.
Only the fields a rule needs are kept: id, handle, name for people; text, time, thread, hashtags
and who-talked-to-whom for posts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from models.snapshot import Identity, Interaction, Post, Profile

PLATFORM = "twitter"
# X ids are "snowflakes": milliseconds since this epoch, shifted left by 22 bits.
SNOWFLAKE_EPOCH_MS = 1288834974657

JSON = Mapping[str, Any]
# An @handle in a post's text (X usernames: 1-15 letters, digits, underscores; not inside an e-mail address).
MENTION_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_@])@([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_])")


def identity_of(user: JSON) -> Identity:
    username = user.get("username")
    return Identity(
        platform=PLATFORM,
        id=str(user["id"]),
        handle=username,
        display_name=user.get("name"),
        url=f"https://x.com/{username}" if username else None,
    )


def profile_of(user: JSON) -> Profile:
    """A user object of a lookup (user.fields description, protected, public_metrics) as a Profile."""
    me = identity_of(user)
    metrics = user.get("public_metrics") or {}
    return Profile(
        id=me.id,
        handle=me.handle,
        name=me.display_name,
        url=me.url,
        closed=user.get("protected"),
        description=user.get("description"),
        counts={name.removesuffix("_count"): int(value) for name, value in metrics.items() if isinstance(value, int)},
    )


def status_url(handle: str | None, tweet_id: str) -> str:
    # x.com redirects /i/status/<id> to the right account when the handle is unknown.
    return f"https://x.com/{handle or 'i'}/status/{tweet_id}"


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def snowflake_time(tweet_id: str) -> datetime:
    """When a post id was minted (X ids embed their creation time)."""
    ms = (int(tweet_id) >> 22) + SNOWFLAKE_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC)


def posted_at(tweet: JSON) -> datetime:
    """When a post was made: its `created_at`, or the time its id was minted when X left the field out."""
    return parse_time(tweet.get("created_at")) or snowflake_time(str(tweet["id"]))


def mentioned(tweet: JSON) -> list[tuple[str | None, str | None]]:
    """(user id, username) of everyone a post mentions. X sends `entities.mentions` only when the
    field was asked for and answered, and a mention there may lack its `id` (search bodies); without
    `entities` at all, the @handles of the text are what is left."""
    entities = tweet.get("entities")
    if not isinstance(entities, Mapping):
        return [(None, name) for name in dict.fromkeys(MENTION_IN_TEXT.findall(str(tweet.get("text") or "")))]
    return [
        (_str(m.get("id")), _str(m.get("username"))) for m in entities.get("mentions") or [] if isinstance(m, Mapping)
    ]


def min_snowflake(at: datetime) -> str:
    """The smallest id X could have minted at `at` (for since_id bounds)."""
    ms = int(at.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS
    return str(max(ms, 0) << 22)


def hashtags_of(tweet: JSON) -> list[str]:
    tags = (tweet.get("entities") or {}).get("hashtags") or []
    return [f"#{tag['tag']}" for tag in tags if tag.get("tag")]


def users_in(body: JSON) -> list[Identity]:
    """Users a body carries as its primary data (followers, lookups)."""
    data = body.get("data")
    if isinstance(data, dict):
        data = [data]
    return [identity_of(user) for user in data or [] if "username" in user]


def tweets_in(body: JSON) -> list[JSON]:
    data = body.get("data")
    if isinstance(data, dict):
        data = [data]
    return [tweet for tweet in data or [] if "text" in tweet]


@dataclass
class UserIndex:
    """Users seen in `includes.users` of every page, by id and by lower-case handle."""

    by_id: dict[str, Identity] = field(default_factory=dict)
    by_handle: dict[str, Identity] = field(default_factory=dict)
    tweet_authors: dict[str, str] = field(default_factory=dict)  # included tweet id -> author id

    def add_body(self, body: JSON) -> None:
        includes = body.get("includes") or {}
        for user in includes.get("users") or []:
            self.add(identity_of(user))
        for tweet in includes.get("tweets") or []:
            if tweet.get("author_id"):
                self.tweet_authors[str(tweet["id"])] = str(tweet["author_id"])

    def add(self, identity: Identity) -> None:
        if identity.id:
            self.by_id[identity.id] = identity
        if identity.handle:
            self.by_handle[identity.handle.lower()] = identity

    def user(self, user_id: str | None, handle: str | None = None) -> Identity | None:
        if user_id and user_id in self.by_id:
            return self.by_id[user_id]
        if handle and handle.lower() in self.by_handle:
            return self.by_handle[handle.lower()]
        if user_id or handle:
            return Identity(platform=PLATFORM, id=user_id, handle=handle)
        return None


def post_of(tweet: JSON, author: Identity) -> Post:
    return Post(
        id=str(tweet["id"]),
        created_at=posted_at(tweet),
        text=tweet.get("text", ""),
        url=status_url(author.handle, str(tweet["id"])),
        author=author,
        hashtags=hashtags_of(tweet),
    )


def interactions_of(tweet: JSON, users: UserIndex, account_id: str) -> list[Interaction]:
    """Who this post talks to: the replied-to user, the quoted author, everyone it mentions.

    A target equal to the audited account is stored as None ("the account itself"). A post without
    `author_id` has no actor and gives none: the caller counts it (`unattributed`).
    """
    actor = users.user(_str(tweet.get("author_id")))
    if actor is None:
        return []
    references = {ref.get("type"): str(ref.get("id")) for ref in tweet.get("referenced_tweets") or []}
    targets: list[tuple[str, Identity | None]] = []
    if "replied_to" in references:
        targets.append(("reply", users.user(_str(tweet.get("in_reply_to_user_id")))))
    if "quoted" in references:
        targets.append(("quote", users.user(users.tweet_authors.get(references["quoted"]))))
    for user_id, username in mentioned(tweet):
        targets.append(("mention", users.user(user_id, username)))

    found: list[Interaction] = []
    seen: set[str] = {actor.key}
    for kind, target in targets:
        key = target.key if target is not None else "?"
        if target is None or key in seen:
            continue
        seen.add(key)
        found.append(
            Interaction(
                kind=kind,
                actor=actor,
                target=None if target.id == account_id else target,
                post_id=str(tweet["id"]),
                thread_id=_str(tweet.get("conversation_id")),
                created_at=posted_at(tweet),
                text=tweet.get("text", ""),
                url=status_url(actor.handle, str(tweet["id"])),
                hashtags=hashtags_of(tweet),
            )
        )
    return found


def within(tweet: JSON, since: datetime) -> bool:
    return posted_at(tweet) >= since


def unattributed(tweet: JSON) -> bool:
    """X left out who wrote this post (`author_id` not sent): it cannot be audited."""
    return tweet.get("author_id") in (None, "")


def newest_id(ids: Iterable[str], current: str | None = None) -> str | None:
    candidates = [int(i) for i in ids]
    if current:
        candidates.append(int(current))
    return str(max(candidates)) if candidates else None


def recent_window_start(as_of: datetime) -> datetime:
    """Recent search reaches back 7 days; keep a margin so X does not refuse the request."""
    return as_of - timedelta(days=7) + timedelta(minutes=5)


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None
