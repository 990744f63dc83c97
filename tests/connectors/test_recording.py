"""connectors/recording.py: what a replay that finds no recording says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.policy import Policy
from connectors.base import ConnectorContext
from connectors.recording import make_vcr
from connectors.resilience import Deadline
from models.snapshot import CollectionState, ErrorKind
from models.tables import RegisteredAccount
from tests.contexts import context_for
from tests.fakeplatform import (
    CANARY_TOKEN,
    FakePlatform,
    FakePlatformConnector,
    fake_connector_installed,
    no_sleep,
    run_environment,
    standard_script,
)


def _account(handle: str) -> RegisteredAccount:
    return RegisteredAccount(
        key="fake-school", platform="fakeplat", connector="fakeplat", handle=handle, school="Test School",
        purpose="School news", kind="joint", audience="public",
    )  # fmt: skip


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cassette recorded from the fake platform for @fake_school."""
    run_environment(monkeypatch, tmp_path)
    no_sleep(monkeypatch)
    with FakePlatform() as server, fake_connector_installed(monkeypatch, server):
        standard_script(server)
        with make_vcr(tmp_path, record_mode="once").use_cassette("fake-school.yaml"):
            FakePlatformConnector(_context()).pull(_account("fake_school"), {})
    yield tmp_path


def _context() -> ConnectorContext:
    return context_for(FakePlatformConnector, policy=Policy(), as_of=datetime.now(UTC), deadline=Deadline(60))


def test_a_cassette_miss_names_method_path_and_query_without_the_token(recorded: Path) -> None:
    """The registry now says @renamed_school: the recording has no answer for that request."""
    with make_vcr(recorded).use_cassette("fake-school.yaml"):
        snapshot = FakePlatformConnector(_context()).pull(_account("renamed_school"), {})
    status = snapshot.collections["profile"]
    assert status.state == CollectionState.FAILED and status.error == ErrorKind.BAD_REQUEST
    assert status.reason == (
        "bad-request: no recorded response for GET /users/renamed_school?access_token=REDACTED (cassette replay)"
    )
    assert CANARY_TOKEN not in snapshot.model_dump_json()
