"""What the X connector asks for: endpoints, fields, page sizes, cursor keys, and what X bills.

Shared by the prefetch, the pull and the estimate, so that each names an endpoint or a cursor key the
same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from connectors.base import SnapshotBuilder
from connectors.twitter import replies
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


def bill_body(builder: SnapshotBuilder, endpoint: str, body: JSON) -> None:
    """X bills every resource a response returns: its `data` and the users and posts it includes."""
    data = body.get("data")
    count = len(data) if isinstance(data, list) else int(data is not None)
    builder.bill(BILLED_AS.get(endpoint, "post"), count)
    includes = body.get("includes") or {}
    builder.bill("user", len(includes.get("users") or []))
    builder.bill("post", len(includes.get("tweets") or []))


def registered_profile(account: RegisteredAccount) -> JSON:
    """What an estimate knows of a profile before any request: the registration."""
    return {
        "id": account.platform_id or "?",
        "username": (account.handle or "").lstrip("@"),
        "protected": (account.audience or "").lower() == "closed",
    }


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def users_of(body: Any, builder: SnapshotBuilder) -> list[JSON]:
    data = body.get("data") if isinstance(body, dict) else None
    users: list[JSON] = [u for u in data or [] if isinstance(u, dict) and "id" in u]
    builder.bill("user", len(users))
    return users


def int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None
