"""Graph API errors (`FacebookRequestError`) classified into the shared `ErrorKind` vocabulary.

Codes (Graph v26, platform-apis.md §2.8-2.9): throttling 4, 17, 32, 613 and the 8000x Business
Use Case family; permissions 10 and 200-299 (and 100 when the message says a permission is
missing); dead tokens 190 (subcode 460 = the password was changed, 463 = expired); outages 1, 2 or
`is_transient`; unknown objects 803. The detail never quotes the SDK's exception text: it holds the
request's parameters.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from facebook_business.exceptions import FacebookError, FacebookRequestError

from connectors.recording import is_cassette_miss
from connectors.resilience import PlatformError
from models.snapshot import ErrorKind

THROTTLING_CODES = frozenset({4, 17, 32, 613})
BUC_THROTTLING = range(80000, 80100)  # Business Use Case limits, one code per use case (80001 = Pages)
PASSWORD_CHANGED, TOKEN_EXPIRED = 460, 463
TOKEN_FIX = "issue a new Page or system-user token and set {variable}"

# The permission an edge needs when Graph does not name it.
EDGE_PERMISSION = {
    "roles": "pages_manage_metadata",
    "assigned_users": "pages_manage_metadata and business_management",
    "agencies": "pages_manage_metadata",
    "comments": "pages_read_user_content",
    "visitor_posts": "pages_read_user_content",
    "tagged": "pages_read_user_content",
    "posts": "pages_read_engagement",
}
PERMISSION_NAME = re.compile(r"\b(pages_[a-z_]+|business_management|read_insights|public_profile)\b")
MISSING_PERMISSION = re.compile(
    r"(?i)missing permission|permission\(s\)|requires the .{0,40}permission|permissions error"
)


def classify_graph_error(error: BaseException, token_variable: str, now: datetime | None = None) -> PlatformError:
    """Map any exception raised while calling Graph to a PlatformError without secrets."""
    if isinstance(error, FacebookRequestError):
        return _classify_request_error(error, token_variable, now or datetime.now(UTC))
    if isinstance(error, requests.Timeout | requests.ConnectionError):
        return PlatformError(ErrorKind.RETRYABLE, f"network problem talking to Graph: {type(error).__name__}")
    if is_cassette_miss(error):
        # vcrpy's own message prints the unfiltered URL (token included): never reuse it.
        return PlatformError(ErrorKind.BAD_REQUEST, "no recorded Graph response answers this request")
    if isinstance(error, ValueError | KeyError | TypeError | FacebookError):
        return PlatformError(ErrorKind.MALFORMED, f"unexpected Graph response: {type(error).__name__}")
    return PlatformError(ErrorKind.MALFORMED, f"{type(error).__name__} while calling Graph")


def _classify_request_error(error: FacebookRequestError, token_variable: str, now: datetime) -> PlatformError:
    code = _as_int(error.api_error_code())
    subcode = _as_int(error.api_error_subcode())
    status = _as_int(error.http_status())
    message = str(error.api_error_message() or error.get_message() or "")
    edge = _edge_of(error)
    label = f"#{code}" + (f"/{subcode}" if subcode else "") if code is not None else None

    def make(kind: ErrorKind, detail: str, **extra: Any) -> PlatformError:
        return PlatformError(kind, detail, status=status, code=label, **extra)

    if code in THROTTLING_CODES or (code is not None and code in BUC_THROTTLING):
        wait = regain_access_minutes(error.http_headers())
        retry_at = now + timedelta(minutes=wait) if wait else None
        when = f"; Graph estimates access returns in {wait} min" if wait else ""
        return make(ErrorKind.RATE_LIMITED, f"Graph throttled the {edge or 'request'} call{when}", retry_at=retry_at)
    if code == 190:
        return make(ErrorKind.AUTH, _token_problem(subcode), fix=TOKEN_FIX.format(variable=token_variable))
    if code == 10 or (code is not None and 200 <= code <= 299) or (code == 100 and MISSING_PERMISSION.search(message)):
        return make(ErrorKind.PERMISSION, _missing_permission(message, edge))
    if code in (1, 2) or error.api_transient_error() or (status is not None and status >= 500):
        return make(ErrorKind.RETRYABLE, "Graph is temporarily unavailable")
    if code == 803 or (code == 100 and subcode == 33) or status == 404:
        return make(ErrorKind.NOT_FOUND, "the Page or object does not exist (check platform_id / handle)")
    if status is not None and 400 <= status < 500:
        return make(ErrorKind.BAD_REQUEST, f"Graph refused the {edge or 'request'} call: {_first_sentence(message)}")
    return make(ErrorKind.MALFORMED, f"unexpected Graph answer to the {edge or 'request'} call")


def _token_problem(subcode: int | None) -> str:
    if subcode == PASSWORD_CHANGED:
        return "the token was invalidated because the user changed their password (Graph 190/460)"
    if subcode == TOKEN_EXPIRED:
        return "the token has expired (Graph 190/463)"
    if subcode == 458:
        return "the app was removed from the token's user (Graph 190/458)"
    if subcode == 492:
        return "the token's user lost access to the Page (Graph 190/492)"
    return "the token is invalid or was revoked (Graph 190)"


def _missing_permission(message: str, edge: str | None) -> str:
    named = sorted(set(PERMISSION_NAME.findall(message)))
    needed = ", ".join(named) if named else EDGE_PERMISSION.get(edge or "", "pages_read_engagement")
    where = f"/{edge}" if edge else "this Page"
    return f"the token lacks the permission to read {where}: grant {needed} (Page token with the MANAGE task)"


def regain_access_minutes(headers: Any) -> int | None:
    """`estimated_time_to_regain_access` (minutes) from X-Business-Use-Case-Usage, the longest one."""
    raw = _header(headers, "x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    waits = [
        _as_int(entry.get("estimated_time_to_regain_access")) or 0
        for entries in (usage.values() if isinstance(usage, dict) else [])
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    longest = max(waits, default=0)
    return longest or None


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if str(key).lower() == name:
            return str(value)
    return None


def _edge_of(error: FacebookRequestError) -> str | None:
    """The Graph edge the failed request asked for (`posts`, `comments`...), from its path."""
    context = error.request_context() or {}
    path = urlsplit(str(context.get("path") or "")).path.strip("/").split("/")
    if len(path) >= 3 and path[-1]:  # v26.0 / {id} / {edge}
        return path[-1]
    return None


def _first_sentence(message: str) -> str:
    return message.split(". ")[0][:200]


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
