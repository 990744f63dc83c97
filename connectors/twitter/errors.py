"""Classification of X API failures into the shared PlatformError vocabulary.

X speaks in "problems" (`type` URLs such as `.../problems/usage-capped`), both in error responses
(4xx/5xx) and, for a missing or protected resource, inside an HTTP 200 body's `errors` array.
Messages built here quote the platform's own words and say what the user can do; they never hold a
URL or a header (the resilience layer and `scrub` are a second line of defence, not the first).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy

from connectors.resilience import PlatformError, classify_failure
from models.snapshot import ErrorKind

USAGE_CAPPED = "usage-capped"
CLIENT_FORBIDDEN = "client-forbidden"
NOT_AUTHORIZED = "not-authorized-for-resource"
RESOURCE_NOT_FOUND = "resource-not-found"

ACCESS_LEVEL_FIX = (
    "this X developer app's access level does not include this endpoint; follower lists need an access "
    "level with follows lookup (pay-per-use or Enterprise) in the X developer portal, or record the "
    "followers through the manual connector"
)


def problem_type(problem: Mapping[str, Any]) -> str:
    """`https://api.twitter.com/2/problems/usage-capped` -> `usage-capped`."""
    value = str(problem.get("type") or "")
    return value.rsplit("/", 1)[-1] if value.startswith(("http://", "https://")) else value


def _body(error: tweepy.HTTPException) -> Mapping[str, Any]:
    try:
        body = error.response.json()
    except (ValueError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def _platform_words(body: Mapping[str, Any], fallback: str) -> str:
    """The platform's own explanation: title and detail of the problem, or its first error message."""
    parts = list(dict.fromkeys(str(body[k]) for k in ("title", "detail") if body.get(k)))
    if not parts:
        for item in body.get("errors") or []:
            if isinstance(item, dict) and (item.get("message") or item.get("detail")):
                parts.append(str(item.get("message") or item.get("detail")))
                break
    return ": ".join(parts) or fallback


def classify(error: BaseException, credential: str = "X_BEARER_TOKEN") -> PlatformError:
    """Map a tweepy/requests exception to a PlatformError; `credential` names the variable to fix."""

    def x_answer(error: BaseException) -> PlatformError | None:
        if isinstance(error, tweepy.HTTPException):
            return _classify_http(error, credential)
        if isinstance(error, requests.exceptions.JSONDecodeError | ValueError):
            return PlatformError(ErrorKind.MALFORMED, "X sent a response that is not valid JSON")
        return None

    # Network errors, timeouts, replay misses and unknown exceptions: the shared layer's words (the pull
    # classifies inside its request, where it knows the credential, so the shared step is applied here too).
    return classify_failure(error, x_answer)


def _classify_http(error: tweepy.HTTPException, credential: str) -> PlatformError:
    status = error.response.status_code
    body = _body(error)
    kind = problem_type(body)
    words = _platform_words(body, f"HTTP {status}")
    if isinstance(error, tweepy.TooManyRequests):
        if kind == USAGE_CAPPED:
            return PlatformError(
                ErrorKind.QUOTA,
                words,
                status=status,
                code=kind,
                fix="the X project's usage cap is reached; raise the spend cap in the developer portal "
                "or wait for the monthly cycle to reset",
            )
        retry_at = datetime.fromtimestamp(error.reset_time, UTC) if error.reset_time else None
        return PlatformError(ErrorKind.RATE_LIMITED, words, status=status, code=kind or None, retry_at=retry_at)
    if isinstance(error, tweepy.Unauthorized):
        return PlatformError(
            ErrorKind.AUTH,
            words,
            status=status,
            fix=f"X refused the token: check or regenerate {credential}",
        )
    if isinstance(error, tweepy.Forbidden):
        return _forbidden(body, words, status, kind)
    if isinstance(error, tweepy.NotFound):
        return PlatformError(ErrorKind.NOT_FOUND, words, status=status, code=kind or None)
    if isinstance(error, tweepy.BadRequest):
        return PlatformError(ErrorKind.BAD_REQUEST, words, status=status, code=kind or None)
    if status >= 500 or isinstance(error, tweepy.TwitterServerError):
        return PlatformError(ErrorKind.RETRYABLE, words, status=status)
    return PlatformError(ErrorKind.BAD_REQUEST, words, status=status, code=kind or None)


def _forbidden(body: Mapping[str, Any], words: str, status: int, kind: str) -> PlatformError:
    reason = str(body.get("reason") or "")
    if kind == CLIENT_FORBIDDEN or reason in ("client-not-enrolled", "client-forbidden"):
        enrolment = body.get("required_enrollment")
        detail = f"{words} (required: {enrolment})" if enrolment else words
        return PlatformError(ErrorKind.PERMISSION, detail, status=status, code=reason or kind, fix=ACCESS_LEVEL_FIX)
    return PlatformError(ErrorKind.PERMISSION, words, status=status, code=kind or reason or None)


def partial_error(body: Mapping[str, Any], *, protected_fix: str) -> PlatformError | None:
    """An HTTP 200 answer that holds only `errors` (suspended, deleted or protected user)."""
    if body.get("data") is not None or not body.get("errors"):
        return None
    problem = next((e for e in body["errors"] if isinstance(e, dict)), {})
    kind = problem_type(problem)
    detail = str(problem.get("detail") or problem.get("title") or "X returned an error instead of data")
    if kind == NOT_AUTHORIZED:
        return PlatformError(ErrorKind.PERMISSION, detail, code=kind, fix=protected_fix)
    if kind == RESOURCE_NOT_FOUND:
        return PlatformError(
            ErrorKind.NOT_FOUND,
            detail,
            code=kind,
            fix="the account is suspended, deleted or renamed: check the registration's handle and id",
        )
    return PlatformError(ErrorKind.MALFORMED, detail, code=kind or None)


def withheld(body: Mapping[str, Any]) -> list[str]:
    """X's words for each resource an answer with `data` left out (`errors` beside `data`: a referenced
    post or user that is protected, suspended or deleted), e.g. "Authorization Error (tweet)"."""
    if body.get("data") is None:
        return []
    found = []
    for problem in body.get("errors") or []:
        if isinstance(problem, Mapping):
            title = str(problem.get("title") or problem_type(problem) or "error")
            kind = problem.get("resource_type")
            found.append(f"{title} ({kind})" if kind else title)
    return found


def classify_error(error: BaseException) -> PlatformError:
    """The connector's `classify_error`: an exception of the app's requests (bearer token)."""
    return classify(error)
