"""Website errors (WordPress REST API, RSS/Atom feeds) in the project's one vocabulary (ErrorKind).

WordPress answers an error with `{"code": "rest_post_invalid_id", "message": "Invalid post ID.",
"data": {"status": 404}}`; a site without the REST API (or a plain web server) answers with HTML. The
classification reads the status, that envelope's `code` and `message`, and `Retry-After`; it never
quotes the request URL (a private feed's URL may carry a token in its query).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from connectors.resilience import PlatformError, classify_failure
from models.snapshot import ErrorKind

_TAG = re.compile(r"<[^>]+>")
FEED_FIX = "register the site's feed instead (platform_id: feed), which needs no REST API"
ANONYMOUS_FIX = (
    "the site refuses anonymous reads of its REST API (a security plugin or a private site): ask its "
    f"administrator to allow public reads of posts and comments, or {FEED_FIX}"
)
NO_ROUTE_FIX = (
    f"check the site URL in the registry's handle; the site may not be WordPress, or its API is off: {FEED_FIX}"
)


@dataclass
class WebHTTPError(Exception):
    """A site answered with an HTTP error status (raised by the connector's GET, classified below)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:  # never the URL: it may hold a feed token
        return f"HTTP {self.status}"


def plain_text(text: str) -> str:
    """WordPress messages may carry HTML (`<strong>Error:</strong>`): the words only."""
    return " ".join(html.unescape(_TAG.sub("", text)).split())


def envelope(body: bytes) -> tuple[str | None, str]:
    """(WordPress error `code`, its `message` as plain text) from an error body; (None, "") if not one."""
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    code = data.get("code")
    message = data.get("message")
    return (str(code) if code else None), plain_text(str(message)) if message else ""


def retry_at(headers: dict[str, str], now: datetime) -> datetime | None:
    """`Retry-After` as seconds or an HTTP date (RFC 9110); None when absent or unreadable."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if not value:
        return None
    if value.strip().isdigit():
        return now + timedelta(seconds=int(value.strip()))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def classify(error: BaseException, *, now: datetime) -> PlatformError:
    """Map an exception raised while reading a website to a PlatformError whose text holds no secret."""

    def site_answer(error: BaseException) -> PlatformError | None:
        if isinstance(error, WebHTTPError):
            return classify_http(error, now=now)
        if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
            return PlatformError(ErrorKind.BAD_REQUEST, "the registry's URL is not a valid http(s) URL")
        if isinstance(error, requests.exceptions.JSONDecodeError | ValueError):
            return PlatformError(ErrorKind.MALFORMED, "the site sent a response that is not valid JSON")
        return None

    # Network errors, timeouts, replay misses and unknown exceptions: the shared layer's words.
    return classify_failure(error, site_answer)


def classify_http(error: WebHTTPError, *, now: datetime) -> PlatformError:
    status = error.status
    code, message = envelope(error.body)
    detail = message or f"HTTP {status}"

    def make(kind: ErrorKind, fix: str | None = None, when: datetime | None = None) -> PlatformError:
        return PlatformError(kind, detail, status=status, code=code, fix=fix, retry_at=when)

    if status == 429:
        return make(ErrorKind.RATE_LIMITED, when=retry_at(error.headers, now))
    if status >= 500:
        return make(ErrorKind.RETRYABLE, when=retry_at(error.headers, now) if status == 503 else None)
    if status == 401:
        return make(ErrorKind.AUTH, ANONYMOUS_FIX)
    if status == 403:
        return make(ErrorKind.PERMISSION, ANONYMOUS_FIX)
    if status in (404, 410):
        return make(ErrorKind.NOT_FOUND, NO_ROUTE_FIX if code in (None, "rest_no_route") else None)
    return make(ErrorKind.BAD_REQUEST)
