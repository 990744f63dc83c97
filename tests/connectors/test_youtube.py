"""The YouTube connector against recorded traffic (cassettes/youtube/), one test per scenario.

Each test asserts what the report would show: the state of each collection and why, what was
collected, the requests and quota units spent, and when a retry makes sense.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.policy import Policy
from auditor.settings import Settings
from connectors.base import ConnectorContext, ConnectorSettings, UnitBudget
from connectors.recording import make_vcr
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline, PlatformError
from connectors.scrub import forget_secrets
from connectors.youtube import YouTubeConnector
from connectors.youtube.client import api_key_client
from connectors.youtube.errors import next_quota_reset
from connectors.youtube.settings import YouTubeSettings
from models.snapshot import AccountSnapshot, CollectionState, ErrorKind
from models.tables import RegisteredAccount
from tests.contexts import context_for

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "youtube"
AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
QUOTA_RESET = datetime(2026, 11, 15, 8, 0, tzinfo=UTC)  # midnight Pacific (PST) after AS_OF

SCIENCE = "UChhsScienceClub0000000A"
CHESS = "UChhsChessClub000000000C"
STORY_TIME = "UCrbeStoryTime00000000K1"

# Canary credentials: none of these may appear in a log line, an exception or a snapshot.
API_KEY = "AIzaSyCanary-ApiKey-000000000000000000"
REFRESH_TOKEN = "1//0gCanaryRefreshToken-0000000000000000"
CLIENT_SECRET = "GOCSPX-CanaryClientSecret00000"
CLIENT_ID = "000000000000-demo0placeholder0000000000.apps.googleusercontent.com"
SECRETS = (API_KEY, REFRESH_TOKEN, CLIENT_SECRET)


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("YOUTUBE_API_KEY", "YOUTUBE_CLIENT_ID", "YOUTUBE_CLIENT_SECRET", "YOUTUBE_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield
    forget_secrets()


def account(channel_id: str, key: str = "hhs-science-yt") -> RegisteredAccount:
    return RegisteredAccount(
        key=key,
        platform="youtube",
        connector="youtube",
        platform_id=channel_id,
        school="Hillside High School",
        purpose="Club videos",
        kind="joint",
        audience="public",
    )


def settings(monkeypatch: pytest.MonkeyPatch, *, api_key: bool = True, owner: str | None = None) -> YouTubeSettings:
    """Settings from the environment; `owner` = the account key whose owner refresh token is set."""
    if api_key:
        monkeypatch.setenv("YOUTUBE_API_KEY", API_KEY)
    if owner is not None:
        monkeypatch.setenv("YOUTUBE_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("YOUTUBE_CLIENT_SECRET", CLIENT_SECRET)
        monkeypatch.setenv(ConnectorSettings.account_variable(owner, "YOUTUBE_REFRESH_TOKEN"), REFRESH_TOKEN)
    return YouTubeSettings()


class Run:
    """One pull replayed from a cassette, with a fake sleep that records the waits."""

    def __init__(
        self,
        cassette: str,
        the_settings: Settings,
        *,
        policy: Policy | None = None,
        cursor: dict[str, str] | None = None,
        channel_id: str = SCIENCE,
        budget: UnitBudget | None = None,
    ) -> None:
        self.sleeps: list[float] = []
        self.context = context_for(
            YouTubeConnector,
            settings=the_settings,
            policy=policy or Policy(),
            as_of=AS_OF,
            deadline=Deadline(600),
            sleep=self.sleeps.append,
            budget=budget,
        )
        with make_vcr(CASSETTES).use_cassette(cassette) as recording:
            self.snapshot: AccountSnapshot = YouTubeConnector(self.context).pull(account(channel_id), cursor or {})
            self.all_played = recording.all_played

    def state(self, collection: str) -> CollectionState:
        return self.snapshot.collections[collection].state

    def reason(self, collection: str) -> str:
        return self.snapshot.collections[collection].reason or ""


def test_registered_through_the_entry_point() -> None:
    assert ConnectorRegistry.installed()["youtube"] is YouTubeConnector


def test_full_channel_with_owner_token(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run("channel-full.yaml", settings(monkeypatch, owner="hhs-science-yt"))
    snap = run.snapshot
    assert run.all_played
    assert {name: run.state(name) for name in snap.collections} == {
        "profile": CollectionState.COMPLETE,
        "admins": CollectionState.NOT_SUPPORTED,
        "participants": CollectionState.COMPLETE,
        "posts": CollectionState.COMPLETE,
        "interactions": CollectionState.COMPLETE,
    }
    assert "Owner, Manager, Editor" in run.reason("admins")
    assert snap.profile is not None
    assert (snap.profile.name, snap.profile.handle) == ("Hillside Science Club", "hillsidescience")
    assert snap.profile.counts == {"subscribers": 61, "videos": 58, "views": 12873}
    # 58 uploads on two pages; the 30-day window ends after the 51st.
    assert len(snap.posts) == 51
    assert snap.posts[0].created_at == datetime(2026, 11, 14, 18, 0, tzinfo=UTC)
    assert all(p.created_at and p.created_at >= datetime(2026, 10, 16, 6, tzinfo=UTC) for p in snap.posts)
    assert snap.posts[0].hashtags == ["#58", "#HHSScience"]
    counts = snap.cursor.pop("comment_counts").split()
    assert snap.cursor == {
        "newest_video_id": snap.posts[0].id,
        "newest_video_at": "2026-11-14T18:00:00Z",
        "video_count": "58",  # a nightly run skips the uploads while the channel's count stays
    }
    # Each of the 51 videos with the comments its threads hold, for the next nightly run to compare.
    assert len(counts) == 51 and sum(int(c.split(":")[1]) for c in counts) == 102 + 29
    # 102 top-level comments in the window, 29 replies (7 of one thread listed by comments.list).
    kinds = [i.kind for i in snap.interactions]
    assert (kinds.count("comment"), kinds.count("reply")) == (102, 29)
    listed = [i for i in snap.interactions if i.kind == "reply" and i.actor.id == "UCmsOkoye0000000000000T1"]
    assert len(listed) == 4
    assert all(i.target is not None and i.target.id == "UCfan0000000000000000004" for i in listed)
    comment = next(i for i in snap.interactions if i.kind == "comment")
    assert comment.target is not None and comment.target.id == SCIENCE
    assert comment.url and comment.url.startswith(f"https://www.youtube.com/watch?v={comment.post_id}&lc=")
    # 57 subscribers with public subscriptions, of 61: said plainly.
    assert len(snap.participants) == 57
    assert "lower bound: 57 listed of 61" in run.reason("participants")
    assert snap.requests == {
        "channels.list": 2,
        "playlistItems.list": 2,
        "commentThreads.list": 2,
        "comments.list": 1,
        "oauth2.token": 1,
        "subscriptions.list": 2,
    }
    assert snap.units == 9
    assert run.context.budget is not None and run.context.budget.spent == 9


def test_incremental_run_stops_at_the_previous_newest_video(monkeypatch: pytest.MonkeyPatch) -> None:
    first = Run("channel-full.yaml", settings(monkeypatch))
    known = first.snapshot.posts[3].id
    run = Run("channel-full.yaml", settings(monkeypatch), cursor={"newest_video_id": known})
    assert [p.id for p in run.snapshot.posts] == [p.id for p in first.snapshot.posts[:3]]
    assert run.snapshot.requests["playlistItems.list"] == 1
    assert run.snapshot.cursor["newest_video_id"] == first.snapshot.posts[0].id


def test_without_owner_token_subscribers_are_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run("channel-full.yaml", settings(monkeypatch))
    assert run.state("participants") == CollectionState.UNAVAILABLE
    assert "ACCOUNT_HHS_SCIENCE_YT_YOUTUBE_REFRESH_TOKEN" in run.reason("participants")
    assert run.snapshot.participants == []
    assert "subscriptions.list" not in run.snapshot.requests
    assert run.snapshot.units == 6


def test_budget_stops_collection_as_partial_before_quota_runs_out(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(
        "channel-full.yaml",
        settings(monkeypatch, owner="hhs-science-yt"),
        policy=Policy(connectors={"youtube": {"daily_units": 4}}),
    )
    snap = run.snapshot
    assert run.state("posts") == CollectionState.COMPLETE
    assert run.state("interactions") == CollectionState.PARTIAL
    assert run.reason("interactions").startswith("quota")
    assert "budget of 4" in run.reason("interactions")
    assert snap.collections["interactions"].retry_after == QUOTA_RESET
    assert len(snap.interactions) == 5  # threads 0-2 and two replies, before comments.list was refused
    assert run.state("participants") == CollectionState.FAILED
    assert snap.collections["participants"].error == ErrorKind.QUOTA
    assert snap.units == 4
    assert "comments.list" not in snap.requests  # refused requests are never sent


def test_one_budget_is_shared_across_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    budget = UnitBudget(5, "YouTube quota units")
    the_settings = settings(monkeypatch)
    first = Run("transient-errors.yaml", the_settings, channel_id=CHESS, budget=budget)
    assert first.snapshot.units == 5
    second = Run("comments-disabled.yaml", the_settings, channel_id=STORY_TIME, budget=budget)
    assert second.state("profile") == CollectionState.FAILED
    assert second.snapshot.collections["posts"].error == ErrorKind.QUOTA
    assert second.snapshot.units == 0


def test_quota_exceeded_is_not_retried_and_says_when_quota_resets(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = {"newest_video_id": "vidFromLastRun", "newest_video_at": "2026-10-01T00:00:00Z"}
    run = Run("quota-exceeded.yaml", settings(monkeypatch), cursor=previous)
    snap = run.snapshot
    assert run.all_played
    assert run.sleeps == []
    assert snap.cursor == previous  # uploads were not all read: the next run starts from the same place
    posts = snap.collections["posts"]
    assert posts.state == CollectionState.PARTIAL and posts.error == ErrorKind.QUOTA
    assert "quotaExceeded" in run.reason("posts") and "midnight Pacific" in run.reason("posts")
    assert posts.retry_after == QUOTA_RESET
    assert len(snap.posts) == 50
    # The project's quota is gone: the rest of the run sends nothing more.
    assert run.state("interactions") == CollectionState.FAILED
    assert snap.collections["interactions"].error == ErrorKind.QUOTA
    assert "commentThreads.list" not in snap.requests
    assert snap.requests == {"channels.list": 1, "playlistItems.list": 2}
    assert snap.units == 3


def test_backend_error_and_rate_limit_are_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run("transient-errors.yaml", settings(monkeypatch), channel_id=CHESS)
    snap = run.snapshot
    assert run.all_played
    assert len(run.sleeps) == 2  # one wait after the 503, one after rateLimitExceeded
    assert all(run.state(c) == CollectionState.COMPLETE for c in ("profile", "posts", "interactions"))
    assert (len(snap.posts), len(snap.interactions)) == (3, 2)
    assert snap.requests == {"channels.list": 2, "playlistItems.list": 2, "commentThreads.list": 1}
    assert snap.units == 5  # failed attempts cost quota too


def test_comments_disabled_is_a_state_not_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run("comments-disabled.yaml", settings(monkeypatch), channel_id=STORY_TIME)
    snap = run.snapshot
    assert run.state("interactions") == CollectionState.COMPLETE
    assert snap.interactions == []
    assert any("commentsDisabled" in note for note in snap.notes)
    assert any("made for kids" in note for note in snap.notes)
    assert len(snap.posts) == 4
    assert snap.units == 3


def test_invalid_credentials_fail_every_collection_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run("invalid-credentials.yaml", settings(monkeypatch, api_key=False, owner="hhs-science-yt"))
    snap = run.snapshot
    assert run.all_played
    for collection in ("profile", "posts", "interactions", "participants"):
        status = snap.collections[collection]
        assert (status.state, status.error) == (CollectionState.FAILED, ErrorKind.AUTH)
    reason = run.reason("profile")
    assert "HTTP 401 authError" in reason
    assert "ACCOUNT_HHS_SCIENCE_YT_YOUTUBE_REFRESH_TOKEN" in reason and "7 days" in reason
    assert run.sleeps == []
    assert snap.units == 1


def test_revoked_owner_token_fails_only_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run("owner-token-revoked.yaml", settings(monkeypatch, owner="hhs-science-yt"), channel_id=CHESS)
    snap = run.snapshot
    assert all(run.state(c) == CollectionState.COMPLETE for c in ("profile", "posts", "interactions"))
    participants = snap.collections["participants"]
    assert (participants.state, participants.error) == (CollectionState.FAILED, ErrorKind.AUTH)
    assert "invalid_grant" in run.reason("participants")
    assert "re-authorise" in run.reason("participants") and "'Testing'" in run.reason("participants")
    assert snap.requests["oauth2.token"] == 1
    assert snap.units == 3  # the token request costs no quota unit


def test_token_of_another_channel_does_not_list_its_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run("owner-of-another-channel.yaml", settings(monkeypatch, owner="hhs-science-yt"), channel_id=CHESS)
    assert run.all_played
    assert run.state("participants") == CollectionState.UNAVAILABLE
    assert f"acts as {SCIENCE}, not as {CHESS}" in run.reason("participants")
    assert "subscriptions.list" not in run.snapshot.requests
    assert run.snapshot.participants == []


def test_no_credentials_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run("channel-not-found.yaml", settings(monkeypatch, api_key=False))
    assert run.snapshot.collections["profile"].error == ErrorKind.AUTH
    assert "YOUTUBE_API_KEY" in run.reason("profile")
    assert run.snapshot.requests == {}


def test_unknown_channel_is_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run("channel-not-found.yaml", settings(monkeypatch), channel_id="UCdeletedChannel00000000")
    for collection in ("profile", "posts", "interactions", "participants"):
        assert run.snapshot.collections[collection].error == ErrorKind.NOT_FOUND
    assert "UCdeletedChannel00000000" in run.reason("profile")
    assert run.snapshot.units == 1


def test_quota_resets_at_midnight_pacific_in_summer_and_winter() -> None:
    assert next_quota_reset(AS_OF) == QUOTA_RESET
    assert next_quota_reset(datetime(2026, 7, 1, 6, 59, tzinfo=UTC)) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert next_quota_reset(datetime(2026, 7, 1, 7, 0, tzinfo=UTC)) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)


def test_no_secret_leaks_at_debug_level(monkeypatch: pytest.MonkeyPatch) -> None:
    """Canary: the key sits in every request URL and in str(HttpError); nothing may print it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    errors: list[str] = []
    try:
        snapshots = [
            Run("channel-full.yaml", settings(monkeypatch, owner="hhs-science-yt")).snapshot,
            Run("quota-exceeded.yaml", settings(monkeypatch)).snapshot,
            Run("owner-token-revoked.yaml", settings(monkeypatch, owner="hhs-science-yt"), channel_id=CHESS).snapshot,
            Run("invalid-credentials.yaml", settings(monkeypatch, api_key=False, owner="hhs-science-yt")).snapshot,
        ]
        with make_vcr(CASSETTES).use_cassette("quota-exceeded.yaml"):
            connector = YouTubeConnector(_context(settings(monkeypatch)))
            service = api_key_client(API_KEY)
            service.channels().list(part="snippet,statistics,status,contentDetails", id=SCIENCE).execute()
            request = service.playlistItems().list(
                part="snippet,contentDetails,status", playlistId="UU" + SCIENCE[2:], maxResults=50
            )
            page = request.execute()
            with pytest.raises(Exception) as raised:
                service.playlistItems().list_next(request, page).execute()
            assert API_KEY in str(raised.value)  # the trap is real...
            classified = connector.classify_error(raised.value)
            errors += [str(classified), repr(classified), classified.describe()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    logged = stream.getvalue()
    assert "URL being requested" in logged  # DEBUG really was on
    dumped = json.dumps([s.model_dump(mode="json") for s in snapshots])
    for secret in SECRETS:
        assert secret not in logged
        assert secret not in dumped
        assert all(secret not in text for text in errors)  # ...and classification avoids it
    for cassette in CASSETTES.glob("*.yaml"):
        text = cassette.read_text(encoding="utf-8")
        assert "key=AIza" not in text and "ya29." not in text and "Bearer " not in text


def _context(the_settings: Settings) -> ConnectorContext:
    return context_for(YouTubeConnector, settings=the_settings, policy=Policy(), as_of=AS_OF, deadline=Deadline(60))


def test_classification_table() -> None:
    """Google error envelopes -> kinds, from status and errors[].reason only."""
    import httplib2
    from googleapiclient.errors import HttpError

    def error(status: int, reason: str) -> PlatformError:
        body = {
            "error": {"code": status, "message": "m", "errors": [{"reason": reason, "domain": "d", "message": "m"}]}
        }
        exc = HttpError(
            httplib2.Response({"status": status}), json.dumps(body).encode(), uri="https://x/?key=" + API_KEY
        )
        return YouTubeConnector(_context(YouTubeSettings())).classify_error(exc)

    assert error(403, "quotaExceeded").kind == ErrorKind.QUOTA
    assert error(403, "rateLimitExceeded").kind == ErrorKind.RATE_LIMITED
    assert error(403, "userRateLimitExceeded").kind == ErrorKind.RATE_LIMITED
    assert error(503, "backendError").kind == ErrorKind.RETRYABLE
    assert error(500, "internalError").kind == ErrorKind.RETRYABLE
    assert error(401, "authError").kind == ErrorKind.AUTH
    assert error(400, "keyInvalid").kind == ErrorKind.AUTH
    assert error(400, "invalidParameter").kind == ErrorKind.BAD_REQUEST
    assert error(404, "channelNotFound").kind == ErrorKind.NOT_FOUND
    assert error(403, "channelSuspended").kind == ErrorKind.NOT_FOUND
    assert error(403, "insufficientPermissions").kind == ErrorKind.PERMISSION
    assert "youtube.force-ssl" in (error(403, "insufficientPermissions").fix or "")
    assert error(403, "commentsDisabled").code == "commentsDisabled"


def test_demo_channel_audits_completely(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's media class channel, as `auditor demo` replays it: complete, with the planted reply."""
    from auditor.inputs import load_division

    demo = Path(__file__).resolve().parents[2] / "auditor" / "demo"
    division = load_division(demo)
    media = next(a for a in division.accounts if a.key == "hhs-media-yt")
    assert media.connector == "youtube" and media.approved_by is None  # YouTube, not approved
    context = context_for(
        YouTubeConnector,
        settings=settings(monkeypatch, owner="hhs-media-yt"),
        policy=division.policy,
        as_of=AS_OF,
        deadline=Deadline(60),
        full=True,
    )
    cassettes = Path(__file__).resolve().parents[2] / "cassettes" / "demo"
    with make_vcr(cassettes).use_cassette("hhs-media-yt.yaml") as recording:
        snap = YouTubeConnector(context).pull(media, {})
        assert recording.all_played
    assert snap.failed_collections() == {}
    assert len(snap.posts) == 3  # the three videos of the 30-day window
    replies = [i for i in snap.interactions if i.kind == "reply"]
    assert [(r.actor.id, r.target.id if r.target else None) for r in replies] == [
        ("UCpRaman0000000000000005", "UCliamSingh00000000000001")
    ]
    assert len(snap.participants) == 9
    assert snap.units == 5
