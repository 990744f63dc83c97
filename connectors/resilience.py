"""The one HTTP-resilience layer every connector uses.

What is the same on every platform is classified here, once (`classify_common`): a network error,
a timeout, a replay miss, and (`unknown_error`) an exception nobody recognises. A connector
classifies only its platform's own answers (its SDK's error envelopes) into a `PlatformError` (one
vocabulary for all platforms); this module decides, from that class alone, whether to retry, how
long to wait and when to give up. Waiting on a rate limit happens only when the platform's reset time fits the
deadline; otherwise the error goes back to the connector, which marks the collection partial.
"""

from __future__ import annotations

import http.client
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import httplib2
import requests
import urllib3.exceptions
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from connectors.scrub import scrub
from models.snapshot import ErrorKind

log = logging.getLogger("auditor.resilience")

T = TypeVar("T")

RETRY_KINDS = frozenset({ErrorKind.RETRYABLE, ErrorKind.RATE_LIMITED})
MAX_RATE_LIMIT_WAIT = 16 * 60  # one X window (15 min) plus clock skew; a longer ask is not waited for

# The HTTP libraries the connectors' SDKs sit on (requests, urllib3, httplib2, http.client, sockets).
TIMEOUTS: tuple[type[BaseException], ...] = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    urllib3.exceptions.NewConnectionError,  # (a urllib3 TimeoutError subclass: the host was not reached at all)
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.MaxRetryError,
    urllib3.exceptions.SSLError,
    urllib3.exceptions.ProxyError,
    httplib2.HttpLib2Error,
    http.client.HTTPException,  # IncompleteRead, RemoteDisconnected...
    socket.gaierror,  # DNS
    ConnectionError,  # reset, refused, aborted, broken pipe
)
UNKNOWN_DETAIL_LENGTH = 200


class PlatformError(Exception):
    """A classified platform failure. `detail` is already free of secrets."""

    def __init__(
        self,
        kind: ErrorKind,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_at: datetime | None = None,
        fix: str | None = None,
    ) -> None:
        self.kind = kind
        self.detail = scrub(detail)
        self.status = status
        self.code = code
        self.retry_at = retry_at
        self.fix = fix
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = [self.kind.value]
        if self.status:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(str(self.code))
        text = " ".join(parts) + f": {self.detail}"
        if self.fix:
            text += f" ({self.fix})"
        return text


def classify_common(error: BaseException) -> PlatformError | None:
    """The classification every platform shares, or None for the connector to classify.

    A replay miss, a timeout and a network error mean the same on every platform; their words name
    the exception's type, never its text (the SDK's text may quote the URL, key included)."""
    if type(error).__name__ == "CannotOverwriteExistingCassetteException":
        # A replay miss, whatever the SDK: say which request had no recording (not vcrpy's words, which
        # hold the unfiltered URL). Imported here: vcrpy is not needed live.
        from connectors.recording import describe_cassette_miss

        return PlatformError(ErrorKind.BAD_REQUEST, describe_cassette_miss(error))
    if isinstance(error, NETWORK_ERRORS) and not isinstance(error, requests.Timeout):  # ConnectTimeout is both
        return network_error(error)
    if isinstance(error, TIMEOUTS):
        return PlatformError(ErrorKind.RETRYABLE, f"the platform did not answer in time ({type(error).__name__})")
    return None


def network_error(error: BaseException) -> PlatformError:
    """A request that never got an answer (connection refused or reset, DNS, TLS): worth retrying.

    Public for SDKs that wrap a network failure in their own type (google-auth's TransportError)."""
    return PlatformError(ErrorKind.RETRYABLE, f"network error: the platform was not reached ({type(error).__name__})")


def unknown_error(error: BaseException) -> PlatformError:
    """An exception neither this layer nor the connector recognises: the same answer on every platform.

    `malformed`, not retried: retrying an unknown failure would only spend quota on it again."""
    text = scrub(str(error))[:UNKNOWN_DETAIL_LENGTH]  # scrubbed before it is cut: no piece of a secret survives
    return PlatformError(ErrorKind.MALFORMED, f"unexpected {type(error).__name__}" + (f": {text}" if text else ""))


def classify_failure(error: BaseException, own: Callable[[BaseException], PlatformError | None]) -> PlatformError:
    """Any exception as a PlatformError: the shared classes first, then the platform's own answers
    (`own` returns None for what is not its platform's), else `unknown_error`. A connector's
    `classify_error` is this, with its own envelope mapping."""
    if isinstance(error, PlatformError):
        return error  # already classified: never second-guessed
    return classify_common(error) or own(error) or unknown_error(error)


@dataclass
class Deadline:
    """Wall-clock budget for an account (and the run): waits that do not fit are not taken."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def fits(self, wait: float) -> bool:
        return wait <= self.remaining()


@dataclass
class RetryPolicy:
    max_attempts: int = 4
    base_backoff: float = 1.0
    max_backoff: float = 30.0
    max_rate_limit_wait: float = MAX_RATE_LIMIT_WAIT


def wait_seconds(error: PlatformError, attempt: int, policy: RetryPolicy, now: datetime | None = None) -> float:
    """How long to wait before retrying `error` (attempt counts from 1).

    A rate limit with a reset time waits until the reset (at least 1 s); the caller decides whether
    that wait is acceptable (`give_up_reason`). Anything else backs off exponentially, clamped.
    """
    if error.retry_at is not None:
        now = now or datetime.now(UTC)
        # +1 s: X's reset is the second the window reopens; clock skew makes "exactly" too early.
        wait = (error.retry_at - now).total_seconds() + 1.0
        if wait < 1.0:
            log.warning("rate-limit reset time is in the past (clock skew?); retrying after 1 s")
            wait = 1.0
        return wait
    return min(policy.base_backoff * (2 ** (attempt - 1)), policy.max_backoff)


def give_up_reason(seconds: float, deadline: Deadline, policy: RetryPolicy) -> str | None:
    """Why a wait of `seconds` is not taken, or None when it is acceptable."""
    if seconds > policy.max_rate_limit_wait:
        # Waiting less than the platform asked cannot succeed: give up now instead of sleeping.
        return (
            f"the platform asks to wait {seconds:.0f} s, "
            f"more than the longest wait ({policy.max_rate_limit_wait:.0f} s)"
        )
    if not deadline.fits(seconds):
        return f"waiting {seconds:.0f} s would pass the deadline ({max(deadline.remaining(), 0):.0f} s left)"
    return None


def call_with_retry(
    fn: Callable[[], T],
    classify: Callable[[BaseException], PlatformError],
    *,
    endpoint: str,
    deadline: Deadline,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_attempt: Callable[[], None] | None = None,
) -> T:
    """Call `fn`, retrying what can succeed later, within the deadline. Raises PlatformError.

    A failure is classified by `classify_common` first, then by the connector's `classify`."""
    policy = policy or RetryPolicy()

    def attempt() -> T:
        if on_attempt is not None:
            on_attempt()
        try:
            return fn()
        except PlatformError:
            raise
        except Exception as exc:
            # `from None`: the SDK's exception text may hold a URL with a key
            raise classify_common(exc) or classify(exc) from None

    def should_retry(exc: BaseException) -> bool:
        return isinstance(exc, PlatformError) and exc.kind in RETRY_KINDS

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        assert isinstance(error, PlatformError)
        if state.attempt_number >= policy.max_attempts:
            # tenacity asks for the wait before it checks `stop`: this attempt was the last one.
            log.warning("giving up on %s after %d attempts: %s", endpoint, state.attempt_number, error.describe())
            return 0.0
        seconds = wait_seconds(error, state.attempt_number, policy)
        reason = give_up_reason(seconds, deadline, policy)
        if reason is not None:
            # Raised inside tenacity's wait callback, this propagates out of `retrying(...)` as is
            # (tests/connectors/test_resilience.py proves it); the connector records the collection.
            log.warning("not retrying %s after %s: %s", endpoint, error.describe(), reason)
            raise error
        log.info(
            "retrying %s in %.0f s after %s (attempt %d of %d)",
            endpoint,
            seconds,
            error.describe(),
            state.attempt_number,
            policy.max_attempts,
        )
        return seconds

    retrying = Retrying(
        retry=retry_if_exception(should_retry),
        stop=stop_after_attempt(policy.max_attempts),
        wait=wait,
        sleep=sleep,
        reraise=True,
    )
    return retrying(attempt)
