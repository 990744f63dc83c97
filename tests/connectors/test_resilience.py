"""The resilience layer's classification table, case by case, and the waits it takes or refuses."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.client import RemoteDisconnected
from pathlib import Path

import httplib2
import pytest
import requests
import urllib3.exceptions
from tenacity import RetryError

from connectors.base import Connector, SnapshotBuilder
from connectors.recording import make_vcr
from connectors.registry import ConnectorRegistry
from connectors.resilience import (
    Deadline,
    PlatformError,
    RetryPolicy,
    call_with_retry,
    classify_failure,
    wait_seconds,
)
from connectors.scrub import forget_secrets, register_secret
from models.snapshot import CollectionState, ErrorKind, Identity
from models.tables import RegisteredAccount
from tests.connectors.contract import context as contract_context
from tests.connectors.contract import words as contract_words
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


# --- one taxonomy: what every platform shares is classified the same on every connector -------------

TAXONOMY_SECRET = "txnmy-Canary-7d2f9a4c1b8e6a3d5f0c"  # shaped like a credential: must never be seen
LEAKY_URL = f"https://api.example/v1/users/42?access_token={TAXONOMY_SECRET}"


def _cassette_miss(tmp_path: Path) -> BaseException:
    """vcrpy's own exception for a request no recording answers (its message prints the raw URL)."""
    with make_vcr(tmp_path).use_cassette("empty.yaml"), pytest.raises(Exception) as raised:
        requests.get(LEAKY_URL, timeout=5)
    assert type(raised.value).__name__ == "CannotOverwriteExistingCassetteException"
    return raised.value


# What an SDK raises when the network, not the platform, fails: name -> (exception, class, retried).
SHARED_FAILURES: dict[str, tuple[BaseException | None, ErrorKind, bool]] = {
    "requests connection error": (
        requests.ConnectionError(f"HTTPSConnectionPool: Max retries exceeded with url: {LEAKY_URL}"),
        ErrorKind.RETRYABLE,
        True,
    ),
    "connection reset": (ConnectionResetError(104, "Connection reset by peer"), ErrorKind.RETRYABLE, True),
    "urllib3 protocol error": (
        urllib3.exceptions.ProtocolError("Connection aborted.", RemoteDisconnected("closed")),
        ErrorKind.RETRYABLE,
        True,
    ),
    "httplib2 server not found": (
        httplib2.ServerNotFoundError(f"Unable to find the server at {LEAKY_URL}"),
        ErrorKind.RETRYABLE,
        True,
    ),
    "dns failure": (socket.gaierror(-2, "Name or service not known"), ErrorKind.RETRYABLE, True),
    "requests read timeout": (requests.ReadTimeout(f"Read timed out. {LEAKY_URL}"), ErrorKind.RETRYABLE, True),
    "requests connect timeout": (requests.ConnectTimeout(f"timed out: {LEAKY_URL}"), ErrorKind.RETRYABLE, True),
    "socket timeout": (TimeoutError("timed out"), ErrorKind.RETRYABLE, True),
    "cassette miss": (None, ErrorKind.BAD_REQUEST, False),
    "unknown exception": (
        RuntimeError(f"boom while asking {LEAKY_URL} with {TAXONOMY_SECRET}"),
        ErrorKind.MALFORMED,
        False,
    ),
}
CONNECTORS = sorted({cls.name: cls for cls in ConnectorRegistry.installed().values()}.items())


@pytest.fixture
def taxonomy_secret() -> Iterator[str]:
    register_secret(TAXONOMY_SECRET)
    yield TAXONOMY_SECRET
    forget_secrets()


def _through_the_connector(connector: Connector, failure: BaseException) -> tuple[PlatformError, int]:
    """The failure as a pull meets it (the connector's `call`, retried by the layer): the error, the attempts."""
    attempts: list[int] = []

    def fails() -> None:
        attempts.append(1)
        raise failure

    with pytest.raises(PlatformError) as raised:
        connector.call(_builder(), "taxonomy", fails)
    return raised.value, len(attempts)


@pytest.mark.parametrize("failure_name", sorted(SHARED_FAILURES))
@pytest.mark.parametrize(("name", "cls"), CONNECTORS, ids=[name for name, _ in CONNECTORS])
def test_shared_failures_are_classified_the_same_on_every_connector(
    name: str, cls: type[Connector], failure_name: str, taxonomy_secret: str, tmp_path: Path
) -> None:
    error, kind, retried = SHARED_FAILURES[failure_name]
    failure = error if error is not None else _cassette_miss(tmp_path)
    reference = classify_failure(failure, lambda _error: None)  # what a connector that maps nothing of its own gets
    connector = cls(contract_context(cls))

    direct = connector.classify_error(failure)
    through, attempts = _through_the_connector(connector, failure)

    for classified in (direct, through):
        assert classified.kind == kind
        assert (classified.detail, classified.status, classified.code, classified.fix) == (
            reference.detail,
            reference.status,
            reference.code,
            reference.fix,
        ), f"{name} words a {failure_name} its own way"
        assert taxonomy_secret not in contract_words(classified)
        assert "access_token=" not in classified.detail or "access_token=REDACTED" in classified.detail
    assert attempts == (3 if retried else 1), f"{failure_name} retried {attempts - 1} time(s) on {name}"
    if failure_name == "unknown exception":
        assert direct.detail.startswith("unexpected RuntimeError")
    if failure_name == "cassette miss":
        assert "GET /v1/users/42?access_token=REDACTED" in direct.detail, "a replay miss names the request"
