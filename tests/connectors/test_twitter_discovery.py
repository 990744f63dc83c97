"""X user lookup for discovery: one batched request for the handles found in content."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.policy import Policy
from connectors.base import SnapshotBuilder
from connectors.recording import make_vcr
from connectors.resilience import Deadline, PlatformError
from connectors.twitter import TwitterConnector
from connectors.twitter.connector import EP_USERS_BY_NAME
from connectors.twitter.settings import XSettings
from models.snapshot import ErrorKind
from tests.contexts import context_for

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "twitter"
AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)


def connector(bearer: str | None = "test-bearer-token-not-real") -> TwitterConnector:
    settings = XSettings(X_BEARER_TOKEN=bearer)  # type: ignore[call-arg]
    return TwitterConnector(
        context_for(TwitterConnector, settings=settings, policy=Policy(), as_of=AS_OF, deadline=Deadline(60))
    )


def test_lookup_returns_profiles_and_the_platforms_words_for_a_suspended_handle() -> None:
    builder = SnapshotBuilder("twitter:discovery", "twitter", AS_OF)
    # "HHS.History" is no X username (X would refuse the whole batch): it is not sent.
    handles = ["@HawksChess", "HHS_Spirit_Old", "HillsideHighHQ", "HHS.History"]
    with make_vcr(CASSETTES).use_cassette("discovery_lookup.yaml") as cassette:
        found = {f.handle: f for f in connector().lookup_accounts(handles, builder)}
        assert cassette.all_played

    assert builder.snapshot.requests == {EP_USERS_BY_NAME: 1}
    assert builder.snapshot.billable == {"user": 2}
    club = found["HawksChess"].profile
    assert club is not None and club.description and "Hillside High School" in club.description
    assert club.closed is False and club.counts["followers"] == 41
    assert found["HillsideHighHQ"].profile is not None
    suspended = found["HHS_Spirit_Old"]
    assert suspended.profile is None and suspended.problem == "User has been suspended: [HHS_Spirit_Old]."
    assert "HHS.History" not in found


def test_lookup_without_a_bearer_token_is_refused_before_any_request() -> None:
    builder = SnapshotBuilder("twitter:discovery", "twitter", AS_OF)
    with pytest.raises(PlatformError) as refused:
        connector(bearer=None).lookup_accounts(["HawksChess"], builder)
    assert refused.value.kind == ErrorKind.AUTH and "X_BEARER_TOKEN" in refused.value.describe()
    assert builder.snapshot.requests == {}
