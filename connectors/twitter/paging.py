"""The one place the X connector touches tweepy's paging: `tweepy.Paginator` and its pages.

Every list the connector reads (followers, timelines, mentions, searches, following) goes through
`paginate`; the requests themselves go through the connector's resilience layer (`Connector.call`),
wrapped by `checked` for reads that belong to no single account's pull.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import tweepy

from connectors.base import Connector, SnapshotBuilder
from connectors.resilience import PlatformError
from connectors.twitter.endpoints import JSON, TWEET_EXPANSIONS, TWEET_FIELDS, bill_body
from connectors.twitter.errors import partial_error
from models.snapshot import ErrorKind


class Pages:
    """tweepy.Paginator's pages, remembering whether it stopped at its limit with pages left."""

    def __init__(self, paginator: tweepy.Paginator) -> None:
        self.paginator = paginator
        self.capped = False

    def __iter__(self) -> Iterator[JSON]:
        iterator = iter(self.paginator)
        yield from iterator
        self.capped = iterator.next_token is not None


def paginate(read: Callable[..., JSON], *args: Any, limit: int, **kwargs: Any) -> Pages:
    """At most `limit` pages of `read` (a tweepy.Client method routed through the resilience layer)."""
    return Pages(tweepy.Paginator(read, *args, limit=limit, **kwargs))


def tweet_pages(read: Callable[..., JSON], target: str, limit: int, window: dict[str, Any]) -> Pages:
    """Pages of posts with the fields and expansions interactions need."""
    return paginate(
        read,
        target,
        limit=limit,
        max_results=100,
        tweet_fields=TWEET_FIELDS,
        expansions=TWEET_EXPANSIONS,
        **window,
    )


def next_token(body: JSON) -> str | None:
    """The token of the page after `body`, for the loops tweepy's Paginator cannot do (growing pages)."""
    token = (body.get("meta") or {}).get("next_token")
    return str(token) if token is not None else None


def checked(
    connector: Connector,
    builder: SnapshotBuilder,
    endpoint: str,
    method: Callable[..., Any],
    protected_fix: str = "",
) -> Callable[..., JSON]:
    """`method` through the shared resilience layer, refusing a body that is not a JSON object or that
    X answered with errors instead of data, and billing what the body holds (batched reads that belong
    to no single account's pull: shared searches, mentions, following lists)."""

    @functools.wraps(method)
    def through_call(*args: Any, **kwargs: Any) -> JSON:
        body = connector.call(builder, endpoint, method, *args, **kwargs)
        if not isinstance(body, dict):
            raise PlatformError(ErrorKind.MALFORMED, "X sent a response that is not a JSON object")
        problem = partial_error(body, protected_fix=protected_fix)
        if problem is not None:
            raise problem
        bill_body(builder, endpoint, body)
        return body

    return through_call
