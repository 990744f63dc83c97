"""Graph API errors (`FacebookRequestError`) classified into the shared `ErrorKind` vocabulary.

Codes (Graph v26, platform-apis.md §2.8-2.9): throttling 4, 17, 32, 613 and the 8000x Business
Use Case family; permissions 10 and 200-299 (and 100 when the message says a permission is
missing); dead tokens 190 (subcode 460 = the password was changed, 463 = expired); outages 1, 2 or
`is_transient`; unknown objects 803. The detail never quotes the SDK's exception text: it holds the
request's parameters. The same rules read a raw `requests.HTTPError` (from `raise_for_status()`, as
`auditor doctor`'s `debug_token` call raises) through the `{"error": ...}` envelope of its body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from facebook_business.exceptions import FacebookError, FacebookRequestError

from connectors.resilience import PlatformError, classify_failure
from models.snapshot import ErrorKind

THROTTLING_CODES = frozenset({4, 17, 32, 613})
BUC_THROTTLING = range(80000, 80100)  # Business Use Case limits, one code per use case (80001 = Pages)
PASSWORD_CHANGED, TOKEN_EXPIRED = 460, 463
TOKEN_FIX = "issue a new Page or system-user token and set {variable}"
# Page Public Content Access (and "Require App Secret") refuse a user or system-user token sent without
# appsecret_proof, or with a proof made from another app's secret: a configuration problem, not our request.
APP_SECRET_FIX = (
    "set FACEBOOK_APP_SECRET to the secret of the app that issued the token (every call then carries "
    "appsecret_proof), or give this Page its own token in {variable}"
)
APP_SECRET_PROOF = re.compile(r"(?i)app ?secret ?proof|appsecret_proof")

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


@dataclass(frozen=True)
class GraphFailure:
    """What Graph said about one failed request, whichever library raised it."""

    status: int | None
    code: int | None
    subcode: int | None
    message: str
    transient: bool
    headers: Any
    edge: str | None

    @classmethod
    def from_sdk(cls, error: FacebookRequestError) -> GraphFailure:
        context = error.request_context() or {}
        return cls(
            status=_as_int(error.http_status()),
            code=_as_int(error.api_error_code()),
            subcode=_as_int(error.api_error_subcode()),
            message=str(error.api_error_message() or error.get_message() or ""),
            transient=bool(error.api_transient_error()),
            headers=error.http_headers(),
            edge=_edge_of(str(context.get("path") or "")),
        )

    @classmethod
    def from_http(cls, error: requests.HTTPError) -> GraphFailure:
        """`raise_for_status()`'s error: the code and subcode are in the body's `error` envelope."""
        response = error.response
        if response is None:
            return cls(None, None, None, "", False, None, None)
        try:
            body = response.json()
        except ValueError:  # an HTML error page (a 502 from the edge) has no envelope
            body = None
        envelope = body.get("error") if isinstance(body, dict) else None
        envelope = envelope if isinstance(envelope, dict) else {}
        return cls(
            status=response.status_code,
            code=_as_int(envelope.get("code")),
            subcode=_as_int(envelope.get("error_subcode")),
            message=str(envelope.get("message") or ""),
            transient=envelope.get("is_transient") is True,
            headers=response.headers,
            edge=_edge_of(response.url or ""),  # the path only: the query holds the token
        )


def classify_graph_error(
    error: BaseException, token_variable: str, now: datetime | None = None, *, auth_fix: str | None = None
) -> PlatformError:
    """Map any exception raised while calling Graph to a PlatformError without secrets.

    `auth_fix` replaces the advice for a refused token (190) when the request's token is not the
    Page's (the doctor's `debug_token` is asked with the app's token)."""
    fix = auth_fix or TOKEN_FIX.format(variable=token_variable)

    def graph_answer(error: BaseException) -> PlatformError | None:
        if isinstance(error, FacebookRequestError):
            return _classify(GraphFailure.from_sdk(error), token_variable, fix, now or datetime.now(UTC))
        if isinstance(error, requests.HTTPError):
            return _classify(GraphFailure.from_http(error), token_variable, fix, now or datetime.now(UTC))
        if isinstance(error, ValueError | KeyError | TypeError | FacebookError):
            return PlatformError(ErrorKind.MALFORMED, f"unexpected Graph response: {type(error).__name__}")
        return None

    # Network errors, timeouts, replay misses and unknown exceptions: the shared layer's words.
    return classify_failure(error, graph_answer)


def _classify(failure: GraphFailure, token_variable: str, token_fix: str, now: datetime) -> PlatformError:
    code, subcode, status, message, edge = failure.code, failure.subcode, failure.status, failure.message, failure.edge
    label = f"#{code}" + (f"/{subcode}" if subcode else "") if code is not None else None

    def make(kind: ErrorKind, detail: str, **extra: Any) -> PlatformError:
        return PlatformError(kind, detail, status=status, code=label, **extra)

    if code in THROTTLING_CODES or (code is not None and code in BUC_THROTTLING):
        wait = regain_access_minutes(failure.headers)
        retry_at = now + timedelta(minutes=wait) if wait else None
        when = f"; Graph estimates access returns in {wait} min" if wait else ""
        return make(ErrorKind.RATE_LIMITED, f"Graph throttled the {edge or 'request'} call{when}", retry_at=retry_at)
    if code == 190 and subcode is None and MISSING_PERMISSION.search(message):
        # "… permission(s) must be granted before impersonating a user's page": the token lives, this Page refuses it.
        return make(ErrorKind.PERMISSION, _cannot_act_as_page(message), fix=token_fix)
    if code == 190:
        return make(ErrorKind.AUTH, _token_problem(subcode), fix=token_fix)
    if code == 100 and APP_SECRET_PROOF.search(message):
        detail = f"Graph refused the {edge or 'Page'} call: {_first_sentence(message)}"
        return make(ErrorKind.PERMISSION, detail, fix=APP_SECRET_FIX.format(variable=token_variable))
    if code == 10 or (code is not None and 200 <= code <= 299) or (code == 100 and MISSING_PERMISSION.search(message)):
        return make(ErrorKind.PERMISSION, _missing_permission(message, edge))
    if code in (1, 2) or failure.transient or (status is not None and status >= 500):
        return make(ErrorKind.RETRYABLE, "Graph is temporarily unavailable")
    if code == 803 or (code == 100 and subcode == 33) or status == 404:
        return make(ErrorKind.NOT_FOUND, "the Page or object does not exist (check platform_id / handle)")
    if status is not None and 400 <= status < 500:
        return make(ErrorKind.BAD_REQUEST, f"Graph refused the {edge or 'request'} call: {_first_sentence(message)}")
    return make(ErrorKind.MALFORMED, f"unexpected Graph answer to the {edge or 'request'} call")


def _cannot_act_as_page(message: str) -> str:
    named = ", ".join(sorted(set(PERMISSION_NAME.findall(message)))) or "pages_read_engagement"
    return (
        "Graph will not act as this Page with the token (190 without subcode): the token's user needs a task "
        f"on the Page, and the token one of {named}"
    )


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


def _edge_of(url: str) -> str | None:
    """The Graph edge the failed request asked for (`posts`, `comments`...), from its path."""
    path = urlsplit(url).path.strip("/").split("/")
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
