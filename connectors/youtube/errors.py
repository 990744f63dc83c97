"""YouTube errors in the project's one vocabulary (ErrorKind), without ever quoting the request URL.

`str(HttpError)` and `repr(HttpError)` contain the full request URL, including `key=<API key>`:
classification reads only the status code and the Google error envelope
(`{"error": {"code", "message", "errors": [{"reason", "domain", "message"}], "status"}}`).
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError

from connectors.resilience import PlatformError, classify_failure, network_error
from connectors.scrub import scrub
from models.snapshot import ErrorKind

COMMENTS_DISABLED = "commentsDisabled"
QUOTA_EXCEEDED = "quotaExceeded"
PLAYLIST_NOT_FOUND = "playlistNotFound"
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
GONE_REASONS = frozenset({"channelClosed", "channelSuspended"})
PERMISSION_FIXES = {
    "insufficientPermissions": (
        "the OAuth token lacks the scope: re-authorise with youtube.readonly (and youtube.force-ssl to list "
        "comments under OAuth), or set YOUTUBE_API_KEY to read public comments"
    ),
    "accessNotConfigured": "enable the YouTube Data API v3 in the Google Cloud project of these credentials",
    "subscriptionForbidden": "the channel hides its subscriptions",
    "forbidden": "these credentials may not read this resource",
}
# A 403 `forbidden` that Google sends when the request carried neither a key nor a token: the
# envelope's reason and status are those of a permission refusal, only the message tells them apart.
UNREGISTERED_CALLER = "unregistered callers"
UNREGISTERED_REASONS = frozenset({"dailyLimitExceededUnreg"})  # the older envelope of the same refusal
NO_CREDENTIALS_SENT = (
    "the request reached YouTube without an API key or OAuth token: set YOUTUBE_API_KEY (and the owner's "
    "refresh token to list subscribers), and check that nothing between the auditor and Google (a proxy, "
    "a URL rewrite) strips the `key` parameter or the Authorization header"
)
_TAG = re.compile(r"<[^>]+>")
REAUTHORISE = (
    "re-authorise the channel owner's Google account and store the new refresh token in {variable}; "
    "an OAuth app left in 'Testing' publishing status loses its refresh tokens after 7 days: publish it"
)


def next_quota_reset(now: datetime) -> datetime:
    """YouTube's daily quota resets at midnight Pacific time: the next such midnight after `now`."""
    pacific: tzinfo
    try:
        pacific = ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:  # no tz database on this machine: PST, the later of the two offsets
        pacific = timezone(timedelta(hours=-8))
    local_now = now.astimezone(pacific)
    midnight = datetime.combine(local_now.date() + timedelta(days=1), time(), tzinfo=pacific)
    return midnight.astimezone(now.tzinfo)


def plain_text(message: str) -> str:
    """Google's messages carry HTML (`your <a href=...>quota</a>`, `<code>playlistId</code>`): the words."""
    return html.unescape(_TAG.sub("", message)).strip()


def envelope(error: HttpError) -> tuple[str | None, str]:
    """(first `errors[].reason`, the error's message as plain text) from a Google error body."""
    try:
        data = json.loads(error.content.decode("utf-8"))
        body = data["error"]
        reasons = [e.get("reason") for e in body.get("errors", []) if isinstance(e, dict)]
        return (reasons[0] if reasons else None), plain_text(str(body.get("message") or ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, str(getattr(error.resp, "reason", "") or "")


def classify(error: BaseException, *, now: datetime, refresh_variable: str) -> PlatformError:
    """Map an exception raised while calling YouTube to a PlatformError whose text holds no secret."""

    def google_answer(error: BaseException) -> PlatformError | None:
        if isinstance(error, HttpError):
            return classify_http(error, now=now, refresh_variable=refresh_variable)
        if isinstance(error, RefreshError):
            return _refresh_failed(error, refresh_variable)
        if isinstance(error, TransportError):  # google-auth's wrapper of a network failure
            return network_error(error)
        if isinstance(error, ValueError):  # the client could not decode a response body
            return PlatformError(ErrorKind.MALFORMED, f"unreadable response: {type(error).__name__}")
        return None

    # Network errors, timeouts, replay misses and unknown exceptions: the shared layer's words.
    return classify_failure(error, google_answer)


def classify_http(error: HttpError, *, now: datetime, refresh_variable: str) -> PlatformError:
    status = error.status_code
    reason, message = envelope(error)
    detail = message or f"HTTP {status}"

    def make(kind: ErrorKind, fix: str | None = None, retry_at: datetime | None = None) -> PlatformError:
        return PlatformError(kind, detail, status=status, code=reason, fix=fix, retry_at=retry_at)

    if status == 403 and reason == QUOTA_EXCEEDED:
        reset = next_quota_reset(now)
        return make(
            ErrorKind.QUOTA,
            f"the project's daily YouTube quota is spent; it resets at midnight Pacific time "
            f"({reset:%Y-%m-%d %H:%M} UTC)",
            retry_at=reset,
        )
    if reason in RATE_LIMIT_REASONS or status == 429:
        return make(ErrorKind.RATE_LIMITED)
    if status >= 500:
        return make(ErrorKind.RETRYABLE)
    if status == 401:
        return make(ErrorKind.AUTH, REAUTHORISE.format(variable=refresh_variable))
    if status == 403 and (UNREGISTERED_CALLER in message or reason in UNREGISTERED_REASONS):
        return make(ErrorKind.AUTH, NO_CREDENTIALS_SENT)
    if status == 400 and reason in ("keyInvalid", "keyExpired"):
        return make(ErrorKind.AUTH, "YOUTUBE_API_KEY is not a valid key for the YouTube Data API: replace it")
    if status == 404 or reason in GONE_REASONS:
        return make(
            ErrorKind.NOT_FOUND, "check the channel id in the registry; the channel may be deleted or suspended"
        )
    if status == 403:
        return make(ErrorKind.PERMISSION, PERMISSION_FIXES.get(reason or "", PERMISSION_FIXES["forbidden"]))
    return make(ErrorKind.BAD_REQUEST)


def _refresh_failed(error: RefreshError, refresh_variable: str) -> PlatformError:
    """google-auth could not refresh the owner's token: `invalid_grant` = expired or revoked."""
    text = str(error.args[0]) if error.args else type(error).__name__
    code = "invalid_grant" if "invalid_grant" in text else "refresh_failed"
    return PlatformError(
        ErrorKind.AUTH,
        f"the channel owner's OAuth token could not be refreshed: {scrub(text)[:200]}",
        code=code,
        fix=REAUTHORISE.format(variable=refresh_variable),
    )


def is_comments_disabled(error: PlatformError) -> bool:
    return error.code == COMMENTS_DISABLED
