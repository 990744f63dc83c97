"""The resilience layer's classification table, case by case, and the waits it takes or refuses."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import requests
from tenacity import RetryError

from connectors.base import SnapshotBuilder
from connectors.resilience import Deadline, PlatformError, RetryPolicy, call_with_retry, wait_seconds
from connectors.scrub import forget_secrets, register_secret
from models.snapshot import CollectionState, ErrorKind, Identity
from models.tables import RegisteredAccount
from tests.fakeplatform import classify

RETRIED = {ErrorKind.RETRYABLE, ErrorKind.RATE_LIMITED}


class Flaky:
    """Fails with the given errors, then answers."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "answer"


def run(fn: Flaky, *, deadline: float = 3600, policy: RetryPolicy | None = None) -> tuple[str | None, list[float]]:
    slept: list[float] = []
    result = call_with_retry(
        fn, classify, endpoint="followers", deadline=Deadline(deadline), policy=policy, sleep=slept.append
    )
    return result, slept


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_each_kind_is_retried_or_not(kind: ErrorKind) -> None:
    fn = Flaky(PlatformError(kind, "boom"))
    if kind in RETRIED:
        result, slept = run(fn)
        assert (result, fn.calls, len(slept)) == ("answer", 2, 1)
    else:
        with pytest.raises(PlatformError) as raised:
            run(fn)
        assert raised.value.kind == kind
        assert fn.calls == 1, f"{kind} must never be retried"


def _http_error(
    status: int, body: dict[str, object] | None = None, headers: dict[str, str] | None = None
) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response._content = (str(body).replace("'", '"') if body else "{}").encode()
    response.headers.update(headers or {})
    return requests.HTTPError(f"{status} for url https://api.example/x?access_token=secret-in-url", response=response)


RESET_IN_60 = {"x-rate-limit-reset": str(int(datetime.now(UTC).timestamp()) + 60)}

# What a platform says -> the class the connector gives it -> retried by the layer or not.
TABLE = [
    ("500", _http_error(500), ErrorKind.RETRYABLE, True),
    ("502", _http_error(502), ErrorKind.RETRYABLE, True),
    ("503", _http_error(503), ErrorKind.RETRYABLE, True),
    ("timeout", requests.ReadTimeout("read timed out"), ErrorKind.RETRYABLE, True),
    ("connect timeout", requests.ConnectTimeout("connect timed out"), ErrorKind.RETRYABLE, True),
    ("connection reset", requests.ConnectionError("Connection reset by peer"), ErrorKind.RETRYABLE, True),
    ("throttled 429 with reset", _http_error(429, headers=RESET_IN_60), ErrorKind.RATE_LIMITED, True),
    ("throttled 429 without reset", _http_error(429), ErrorKind.RATE_LIMITED, True),
    ("platform throttling code 2", None, ErrorKind.RETRYABLE, True),
    ("400", _http_error(400), ErrorKind.BAD_REQUEST, False),
    ("401", _http_error(401), ErrorKind.AUTH, False),
    ("403 permission", _http_error(403), ErrorKind.PERMISSION, False),
    ("404", _http_error(404), ErrorKind.NOT_FOUND, False),
    ("X usage cap 429", _http_error(429, {"type": "usage-capped"}), ErrorKind.QUOTA, False),
    ("Graph 190 (HTTP 200 body)", None, ErrorKind.AUTH, False),
    ("truncated JSON", ValueError("Expecting ',' delimiter: line 1 column 40"), ErrorKind.MALFORMED, False),
]


def _table_error(name: str, error: BaseException | None) -> BaseException:
    from tests.fakeplatform import FakeApiError

    if name.startswith("Graph 190"):
        return FakeApiError(200, {"message": "Error validating access token", "code": 190}, {})
    if name.startswith("platform throttling"):
        return FakeApiError(200, {"message": "Application request limit reached", "code": 2}, {})
    assert error is not None
    return error


@pytest.mark.parametrize(("name", "error", "kind", "retried"), TABLE, ids=[row[0] for row in TABLE])
def test_classification_table(name: str, error: BaseException | None, kind: ErrorKind, retried: bool) -> None:
    failure = _table_error(name, error)
    fn = Flaky(failure, failure, failure, failure, failure)
    with pytest.raises(PlatformError) as raised:
        run(fn, policy=RetryPolicy(max_attempts=3))
    assert raised.value.kind == kind
    assert fn.calls == (3 if retried else 1)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__, "the SDK's text may hold a key"


def test_backoff_doubles_and_is_clamped() -> None:
    fn = Flaky(*[PlatformError(ErrorKind.RETRYABLE, "503")] * 5)
    result, slept = run(fn, policy=RetryPolicy(max_attempts=6, base_backoff=1, max_backoff=5))
    assert result == "answer"
    assert slept == [1, 2, 4, 5, 5]


def test_rate_limit_waits_as_the_platform_says_then_succeeds() -> None:
    reset = datetime.now(UTC) + timedelta(seconds=120)
    fn = Flaky(PlatformError(ErrorKind.RATE_LIMITED, "Too Many Requests", status=429, retry_at=reset))
    result, slept = run(fn)
    assert result == "answer"
    assert len(slept) == 1 and 119 <= slept[0] <= 122  # the reset, plus one second of skew


def test_rate_limit_reset_in_the_past_waits_one_second() -> None:
    fn = Flaky(PlatformError(ErrorKind.RATE_LIMITED, "429", retry_at=datetime.now(UTC) - timedelta(minutes=5)))
    assert run(fn) == ("answer", [1.0])


def test_rate_limit_that_does_not_fit_the_deadline_is_not_waited(caplog: pytest.LogCaptureFixture) -> None:
    reset = datetime.now(UTC) + timedelta(seconds=600)
    error = PlatformError(ErrorKind.RATE_LIMITED, "Too Many Requests", status=429, retry_at=reset)
    fn = Flaky(error)
    slept: list[float] = []
    with caplog.at_level(logging.INFO, "auditor.resilience"), pytest.raises(PlatformError) as raised:
        call_with_retry(fn, classify, endpoint="followers", deadline=Deadline(300), sleep=slept.append)
    # tenacity propagates the error raised inside its wait callback as is: not a RetryError.
    assert raised.value is error and not isinstance(raised.value, RetryError)
    assert (fn.calls, slept) == (1, [])
    assert "would pass the deadline" in caplog.text


def test_rate_limit_longer_than_the_longest_wait_is_not_waited() -> None:
    reset = datetime.now(UTC) + timedelta(hours=20)  # e.g. a daily window
    fn = Flaky(PlatformError(ErrorKind.RATE_LIMITED, "429", retry_at=reset))
    with pytest.raises(PlatformError):
        run(fn, deadline=10 * 24 * 3600)
    assert fn.calls == 1


def test_backoff_that_does_not_fit_the_deadline_gives_up() -> None:
    fn = Flaky(PlatformError(ErrorKind.RETRYABLE, "503"))
    with pytest.raises(PlatformError):
        run(fn, deadline=0.5)
    assert fn.calls == 1


def test_last_attempt_is_not_announced_as_a_retry(caplog: pytest.LogCaptureFixture) -> None:
    fn = Flaky(*[PlatformError(ErrorKind.RETRYABLE, "503")] * 3)
    with caplog.at_level(logging.INFO, "auditor.resilience"), pytest.raises(PlatformError):
        run(fn, policy=RetryPolicy(max_attempts=3))
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert len(retries) == 2 and "attempt 2 of 3" in retries[-1]
    assert "giving up on followers after 3 attempts" in caplog.text


def test_wait_seconds_uses_the_reset_time() -> None:
    now = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    error = PlatformError(ErrorKind.RATE_LIMITED, "429", retry_at=now + timedelta(seconds=42))
    assert wait_seconds(error, 1, RetryPolicy(), now=now) == 43


def test_retry_and_wait_logs_hold_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cr3t-token-value-0042"
    register_secret(secret)
    try:
        failure = PlatformError(ErrorKind.RETRYABLE, f"GET https://graph.example/me?access_token={secret} failed")
        fn = Flaky(failure, requests.ConnectionError(f"reset at https://x.example/?key={secret}"))
        with caplog.at_level(logging.DEBUG):
            run(fn)
        assert "retrying followers" in caplog.text
        assert secret not in caplog.text
    finally:
        forget_secrets()


# --- what a collection records ------------------------------------------------------------------


def _builder() -> SnapshotBuilder:
    account = RegisteredAccount(
        key="a",
        platform="fakeplat",
        connector="fakeplat",
        school="S",
        purpose="p",
        kind="joint",
        audience="public",
    )
    return SnapshotBuilder(account, "fakeplat", datetime(2026, 11, 29, tzinfo=UTC))


@pytest.mark.parametrize(
    ("kind", "answered_first", "state"),
    [
        (ErrorKind.RATE_LIMITED, True, CollectionState.PARTIAL),
        (ErrorKind.RATE_LIMITED, False, CollectionState.FAILED),
        (ErrorKind.QUOTA, True, CollectionState.PARTIAL),
        (ErrorKind.QUOTA, False, CollectionState.FAILED),
        (ErrorKind.PERMISSION, False, CollectionState.UNAVAILABLE),
        (ErrorKind.AUTH, True, CollectionState.FAILED),
        (ErrorKind.NOT_FOUND, False, CollectionState.FAILED),
    ],
)
def test_collection_state_after_an_error(kind: ErrorKind, answered_first: bool, state: CollectionState) -> None:
    builder = _builder()
    with builder.collect("participants"):
        if answered_first:
            builder.snapshot.participants.append(Identity(platform="fakeplat", id="5001"))  # a page was read
        raise PlatformError(kind, "stopped", status=429)
    status = builder.snapshot.collections["participants"]
    assert status.state == state
    assert status.error == kind
    assert status.reason and status.reason.startswith(kind.value)
