"""X's "following" list of a staff member's declared personal account (staff-student-personal-connection)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from auditor.policy import Policy
from connectors.base import SnapshotBuilder
from connectors.recording import make_vcr
from connectors.resilience import Deadline, PlatformError
from connectors.twitter import TwitterConnector, parse
from connectors.twitter.connector import EP_FOLLOWING, EP_USER_BY_NAME
from connectors.twitter.settings import XSettings
from models.snapshot import ErrorKind
from tests.contexts import context_for
from tests.real_traffic import real_traffic

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "twitter"
AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)


def connector(policy: Policy | None = None, bearer: str | None = "test-bearer-token-not-real") -> TwitterConnector:
    settings = XSettings(X_BEARER_TOKEN=bearer)  # type: ignore[call-arg]
    context = context_for(
        TwitterConnector, settings=settings, policy=policy or Policy(), as_of=AS_OF, deadline=Deadline(60)
    )
    return TwitterConnector(context)


def test_following_is_read_page_by_page_and_billed_per_user() -> None:
    builder = SnapshotBuilder("twitter:personal", "twitter", AS_OF)
    with make_vcr(CASSETTES).use_cassette("personal_following.yaml") as cassette:
        following = connector().read_following("@dokafor_home", builder)
        assert cassette.all_played

    assert following.complete
    assert [i.handle for i in following.identities] == [
        "noahnguyen_hhs",
        "EdmontonOilers",
        "Liam_Singh07",
        "coach_bergeron",
    ]
    assert builder.snapshot.requests == {EP_USER_BY_NAME: 1, EP_FOLLOWING: 2}
    assert builder.snapshot.billable == {"user": 5}


def test_the_page_cap_stops_reading_and_says_so() -> None:
    builder = SnapshotBuilder("twitter:personal", "twitter", AS_OF)
    with make_vcr(CASSETTES).use_cassette("personal_following.yaml", allow_playback_repeats=False):
        following = connector(Policy(personal_connections_page_cap=1)).read_following("dokafor_home", builder)

    assert not following.complete
    assert len(following.identities) == 2
    assert following.reason and "personal_connections_page_cap" in following.reason
    assert builder.snapshot.requests == {EP_USER_BY_NAME: 1, EP_FOLLOWING: 1}


def test_without_a_bearer_token_nothing_is_asked() -> None:
    builder = SnapshotBuilder("twitter:personal", "twitter", AS_OF)
    with pytest.raises(PlatformError) as refused:
        connector(bearer=None).read_following("dokafor_home", builder)
    assert refused.value.kind == ErrorKind.AUTH
    assert builder.snapshot.requests == {}


def test_the_estimate_prices_lookups_and_capped_pages() -> None:
    estimate = connector(Policy(personal_connections_page_cap=3)).estimate_following(2)
    assert estimate.requests == {EP_USER_BY_NAME: 2, EP_FOLLOWING: 6}
    assert estimate.billable == {"user": 2 + 6 * 1000}


def test_the_real_following_response_parses_to_identities() -> None:
    recording = real_traffic("x") / "tweepy_get_users_following.yaml"
    if not recording.exists():
        pytest.skip(f"no reference recording at {recording}")
    body = json.loads(yaml.safe_load(recording.read_text())["interactions"][0]["response"]["body"]["string"])
    identities = parse.users_in(body)
    assert len(identities) == body["meta"]["result_count"] == 35
    assert identities[0].id == "738118487122419712" and identities[0].handle == "TwitterAsians"
