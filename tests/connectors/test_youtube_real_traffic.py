"""The connector against every real YouTube recording in ../shared/reference/real-traffic/youtube/.

Each recorded body is served (read-only, as recorded) to the method that produced it, replayed
through vcrpy matching on method and path only; the counts the connector reports are checked
against the bodies themselves. Where a recording has a `nextPageToken` but its next page was
never recorded, the test serves an empty last page of the same kind.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.policy import Policy
from auditor.settings import Settings
from connectors.base import ConnectorContext
from connectors.recording import make_vcr
from connectors.resilience import Deadline
from connectors.scrub import forget_secrets
from connectors.youtube import YouTubeConnector
from models.snapshot import AccountSnapshot, CollectionState, ErrorKind
from models.tables import RegisteredAccount

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "real-traffic" / "youtube"
API = "https://youtube.googleapis.com/youtube/v3/"
AS_OF = datetime(2020, 1, 1, tzinfo=UTC)  # the recordings are from 2019
EVERYTHING = Policy(lookback_days=36500)

# Recordings of methods the connector never calls, and why.
NOT_REQUESTED = {
    "activities_by_channel_p1.json": "activities.list: uploads come from the uploads playlist instead",
    "activities_by_channel_p2.json": "activities.list: uploads come from the uploads playlist instead",
    "videos_list_single.json": "videos.list: the playlist items carry what the rules need",
    "videos_list_multi.json": "videos.list: the playlist items carry what the rules need",
}

pytestmark = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"the shared reference recordings are not checked out beside the repo ({REAL})"
)

JSON = dict[str, Any]


def body(name: str) -> JSON:
    data: JSON = json.loads((REAL / name).read_text(encoding="utf-8"))
    return data


def last_page(kind: str) -> JSON:
    return {"kind": kind, "etag": "served-by-test", "pageInfo": {"totalResults": 0, "resultsPerPage": 0}, "items": []}


def empty(resource: str) -> JSON:
    kinds = {"playlistItems": "youtube#playlistItemListResponse", "commentThreads": "youtube#commentThreadListResponse"}
    return last_page(kinds[resource])


UPLOADS_CHANNEL = body("channels_list_multi.json")["items"][0] if REAL.is_dir() else {}


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YOUTUBE_API_KEY", "replay-placeholder-key")
    for name in ("YOUTUBE_CLIENT_ID", "YOUTUBE_CLIENT_SECRET", "YOUTUBE_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield
    forget_secrets()


def replay(
    tmp_path: Path, channel_id: str, responses: list[tuple[str, str, int, JSON]]
) -> tuple[AccountSnapshot, bool, list[float]]:
    """Pull one channel against `responses` ((method, url, status, body), played in order per path)."""
    interactions = [
        {
            "request": {"body": None, "headers": {}, "method": method, "uri": url},
            "response": {
                "status": {"code": status, "message": "recorded"},
                "headers": {"Content-Type": ["application/json; charset=UTF-8"]},
                "body": {"string": json.dumps(data)},
            },
        }
        for method, url, status, data in responses
    ]
    (tmp_path / "real.yaml").write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))
    sleeps: list[float] = []
    context = ConnectorContext(
        settings=Settings(), policy=EVERYTHING, as_of=AS_OF, deadline=Deadline(60), sleep=sleeps.append
    )
    account = RegisteredAccount(
        key="real", platform="youtube", connector="youtube", platform_id=channel_id, school="-", purpose="-",
        kind="joint", audience="public",
    )  # fmt: skip
    with make_vcr(tmp_path, match_on=("method", "path")).use_cassette("real.yaml") as recording:
        snapshot = YouTubeConnector(context).pull(account, {})
        return snapshot, recording.all_played, sleeps


def get(resource: str, data: JSON, status: int = 200) -> tuple[str, str, int, JSON]:
    return ("GET", API + resource, status, data)


def channel_page(channel: JSON) -> JSON:
    return {"kind": "youtube#channelListResponse", "etag": "served-by-test", "items": [channel]}


def test_every_recording_is_covered() -> None:
    covered = set(NOT_REQUESTED) | {name for case in CASES for name in case[1]}
    assert {p.name for p in REAL.glob("*.json")} == covered


@pytest.mark.parametrize("name", ["channels_list_by_id.json", "channels_list_single.json", "channels_list_multi.json"])
def test_channel_recordings(tmp_path: Path, name: str) -> None:
    recorded = body(name)
    channel = recorded["items"][0]
    has_uploads = bool(channel.get("contentDetails", {}).get("relatedPlaylists", {}).get("uploads"))
    responses = [get("channels", recorded)]
    if has_uploads:
        responses.append(get("playlistItems", empty("playlistItems")))
    responses.append(get("commentThreads", empty("commentThreads")))
    snapshot, all_played, _ = replay(tmp_path, channel["id"], responses)
    assert all_played
    assert snapshot.profile is not None
    assert snapshot.profile.id == channel["id"] and snapshot.profile.name == channel["snippet"]["title"]
    assert snapshot.profile.handle == channel["snippet"]["customUrl"].lstrip("@")
    statistics = channel.get("statistics", {})
    if "subscriberCount" in statistics:
        assert snapshot.profile.counts["subscribers"] == int(statistics["subscriberCount"])
    assert all(snapshot.collections[c].state == CollectionState.COMPLETE for c in ("profile", "posts", "interactions"))
    if not has_uploads:
        assert any("no uploads playlist" in note for note in snapshot.notes)


@pytest.mark.parametrize(
    "names", [("playlistItems_uploads_p1.json", "playlistItems_uploads_p2.json"), ("playlistItems_by_ids.json",)]
)
def test_upload_recordings(tmp_path: Path, names: tuple[str, ...]) -> None:
    pages = [body(n) for n in names]
    responses = [get("channels", channel_page(UPLOADS_CHANNEL))]
    responses += [get("playlistItems", page) for page in pages]
    responses.append(get("commentThreads", empty("commentThreads")))
    snapshot, all_played, _ = replay(tmp_path, UPLOADS_CHANNEL["id"], responses)
    assert all_played  # p1's nextPageToken led to p2 through list_next
    recorded = [item["snippet"]["resourceId"]["videoId"] for page in pages for item in page["items"]]
    assert [post.id for post in snapshot.posts] == recorded
    assert snapshot.requests["playlistItems.list"] == len(pages)
    assert snapshot.collections["posts"].state == CollectionState.COMPLETE


@pytest.mark.parametrize(
    "names",
    [
        ("commentThreads_allThreadsRelatedToChannelId.json",),
        ("commentThreads_by_video_p1.json", "commentThreads_by_video_p2.json"),
    ],
)
def test_comment_thread_recordings(tmp_path: Path, names: tuple[str, ...]) -> None:
    pages = [body(n) for n in names]
    threads = [thread for page in pages for thread in page["items"]]
    replies = body("comments_replies_by_parent_p1.json")
    # Threads whose replies were not embedded are listed by comments.list: the recorded page, then the end.
    needing = [t for t in threads if t["snippet"]["totalReplyCount"] > len(t.get("replies", {}).get("comments", []))]
    responses = [get("channels", channel_page(UPLOADS_CHANNEL)), get("playlistItems", empty("playlistItems"))]
    responses += [get("commentThreads", page) for page in pages]
    for _ in needing:
        responses += [get("comments", replies), get("comments", last_page("youtube#commentListResponse"))]
    snapshot, all_played, _ = replay(tmp_path, UPLOADS_CHANNEL["id"], responses)
    assert all_played
    kinds = [i.kind for i in snapshot.interactions]
    assert kinds.count("comment") == len(threads)
    assert kinds.count("reply") == len(needing) * len(replies["items"])
    authors = {t["snippet"]["topLevelComment"]["snippet"]["authorChannelId"]["value"] for t in threads}
    assert {i.actor.id for i in snapshot.interactions if i.kind == "comment"} == authors
    assert snapshot.collections["interactions"].state == CollectionState.COMPLETE


def test_subscription_recording_is_not_mistaken_for_subscribers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """subscriptions_by_channel lists channels that channel subscribes TO (no subscriberSnippet)."""
    monkeypatch.setenv("YOUTUBE_CLIENT_ID", "replay-client")
    monkeypatch.setenv("YOUTUBE_CLIENT_SECRET", "replay-client-secret")
    monkeypatch.setenv("ACCOUNT_REAL_YOUTUBE_REFRESH_TOKEN", "replay-refresh-token")
    recorded = body("subscriptions_by_channel_p1.json")
    token = {"access_token": "REDACTED", "expires_in": 3599, "token_type": "Bearer"}
    mine = {"kind": "youtube#channelListResponse", "etag": "served-by-test", "items": [{"id": UPLOADS_CHANNEL["id"]}]}
    responses = [
        get("channels", channel_page(UPLOADS_CHANNEL)),
        get("playlistItems", empty("playlistItems")),
        get("commentThreads", empty("commentThreads")),
        ("POST", "https://oauth2.googleapis.com/token", 200, token),
        get("channels", mine),
        get("subscriptions", recorded),
        get("subscriptions", last_page("youtube#subscriptionListResponse")),
    ]
    snapshot, all_played, _ = replay(tmp_path, UPLOADS_CHANNEL["id"], responses)
    assert all_played
    with_subscriber = [item for item in recorded["items"] if "subscriberSnippet" in item]
    assert len(snapshot.participants) == len(with_subscriber)
    assert snapshot.collections["participants"].state == CollectionState.COMPLETE


@pytest.mark.parametrize(
    ("name", "kind", "state"),
    [
        ("error_400_keyInvalid.json", ErrorKind.AUTH, CollectionState.FAILED),
        ("error_403_permission_denied.json", ErrorKind.PERMISSION, CollectionState.UNAVAILABLE),
    ],
)
def test_error_recordings(tmp_path: Path, name: str, kind: ErrorKind, state: CollectionState) -> None:
    recorded = body(name)
    snapshot, all_played, sleeps = replay(
        tmp_path, "UC_x5XG1OV2P6uZZ5FSM9Ttw", [get("channels", recorded, recorded["error"]["code"])]
    )
    assert all_played and sleeps == []
    profile = snapshot.collections["profile"]
    assert (profile.state, profile.error) == (state, kind)
    assert recorded["error"]["errors"][0]["reason"] in (profile.reason or "")


def test_backend_error_recording_is_retried(tmp_path: Path) -> None:
    recorded = body("google_error_503_backendError.json")
    responses = [
        get("channels", recorded, 503),
        get("channels", channel_page(UPLOADS_CHANNEL)),
        get("playlistItems", empty("playlistItems")),
        get("commentThreads", empty("commentThreads")),
    ]
    snapshot, all_played, sleeps = replay(tmp_path, UPLOADS_CHANNEL["id"], responses)
    assert all_played and len(sleeps) == 1
    assert snapshot.collections["profile"].state == CollectionState.COMPLETE
    assert snapshot.requests["channels.list"] == 2


CASES: list[tuple[str, tuple[str, ...]]] = [
    ("channel", ("channels_list_by_id.json", "channels_list_single.json", "channels_list_multi.json")),
    ("uploads", ("playlistItems_uploads_p1.json", "playlistItems_uploads_p2.json", "playlistItems_by_ids.json")),
    (
        "threads",
        (
            "commentThreads_allThreadsRelatedToChannelId.json",
            "commentThreads_by_video_p1.json",
            "commentThreads_by_video_p2.json",
            "comments_replies_by_parent_p1.json",
        ),
    ),
    ("subscriptions", ("subscriptions_by_channel_p1.json",)),
    ("errors", ("error_400_keyInvalid.json", "error_403_permission_denied.json", "google_error_503_backendError.json")),
]
