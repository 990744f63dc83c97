"""The connector against every real YouTube recording in ../shared/reference/real-traffic/youtube/.

Each recorded body is served (read-only, as recorded) to the method that produced it, replayed
through vcrpy matching on method and path only; the counts the connector reports are checked
against the bodies themselves. Where a recording has a `nextPageToken` but its next page was
never recorded, the test serves an empty last page of the same kind.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.policy import Policy
from connectors.base import SnapshotBuilder
from connectors.recording import make_vcr
from connectors.resilience import Deadline
from connectors.scrub import forget_secrets
from connectors.youtube import YouTubeConnector
from models.snapshot import AccountSnapshot, CollectionState, ErrorKind
from models.tables import RegisteredAccount
from tests.contexts import context_for
from tests.real_traffic import real_traffic

REAL = real_traffic("youtube")
API = "https://youtube.googleapis.com/youtube/v3/"
AS_OF = datetime(2020, 1, 1, tzinfo=UTC)  # the recordings are from 2019
EVERYTHING = Policy(lookback_days=36500)
TEN_DAYS = Policy(lookback_days=10)

# Recordings of methods the connector never calls, and why.
NOT_REQUESTED = {
    "activities_by_channel_p1.json": "activities.list: uploads come from the uploads playlist instead",
    "activities_by_channel_p2.json": "activities.list: uploads come from the uploads playlist instead",
    "videos_list_single.json": "videos.list: the playlist items carry what the rules need",
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
    tmp_path: Path, channel_id: str, responses: list[tuple[str, str, int, JSON]], as_of: datetime = AS_OF
) -> tuple[AccountSnapshot, bool, list[float]]:
    """Pull one channel against `responses` ((method, url, status, body), played in order per path).
    With `as_of`, the look-back window is the policy's 10 days before it instead of everything."""
    snapshots, all_played, sleeps = replay_run(tmp_path, [channel_id], responses, as_of)
    return snapshots[0], all_played, sleeps


def replay_run(
    tmp_path: Path,
    channel_ids: list[str],
    responses: list[tuple[str, str, int, JSON]],
    as_of: datetime = AS_OF,
    cursor: dict[str, str] | None = None,
) -> tuple[list[AccountSnapshot], bool, list[float]]:
    """Pull several channels in one run (one connector, one quota budget) against `responses`."""
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
    context = context_for(
        YouTubeConnector,
        policy=EVERYTHING if as_of == AS_OF else TEN_DAYS,
        as_of=as_of,
        deadline=Deadline(60),
        sleep=sleeps.append,
    )
    accounts = [
        channel_account("real" if n == 0 else f"real{n}", channel_id) for n, channel_id in enumerate(channel_ids)
    ]
    with make_vcr(tmp_path, match_on=("method", "path")).use_cassette("real.yaml") as recording:
        connector = YouTubeConnector(context)
        snapshots = [connector.pull(account, dict(cursor or {})) for account in accounts]
        return snapshots, recording.all_played, sleeps


def channel_account(key: str, channel_id: str) -> RegisteredAccount:
    """A registered public channel audited by the YouTube connector (the rules' fields do not matter here)."""
    return RegisteredAccount(
        key=key, platform="youtube", connector="youtube", platform_id=channel_id, school="-", purpose="-",
        kind="joint", audience="public",
    )  # fmt: skip


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


def needing_replies(threads: list[JSON]) -> list[JSON]:
    """Threads whose replies were not all embedded: the connector lists them with comments.list."""
    return [t for t in threads if t["snippet"]["totalReplyCount"] > len(t.get("replies", {}).get("comments", []))]


def thread_responses(pages: list[JSON], since: str = "") -> list[tuple[str, str, int, JSON]]:
    """The channel, no uploads, `pages` of comment threads, and for each thread (started at or after
    `since`) needing its replies listed the recorded replies page, then the end."""
    threads = [
        t for page in pages for t in page["items"] if t["snippet"]["topLevelComment"]["snippet"]["publishedAt"] >= since
    ]
    responses = [get("channels", channel_page(UPLOADS_CHANNEL)), get("playlistItems", empty("playlistItems"))]
    responses += [get("commentThreads", page) for page in pages]
    for _ in needing_replies(threads):
        replies = body("comments_replies_by_parent_p1.json")
        responses += [get("comments", replies), get("comments", last_page("youtube#commentListResponse"))]
    return responses


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
    needing = needing_replies(threads)
    snapshot, all_played, _ = replay(tmp_path, UPLOADS_CHANNEL["id"], thread_responses(pages))
    assert all_played
    kinds = [i.kind for i in snapshot.interactions]
    assert kinds.count("comment") == len(threads)
    assert kinds.count("reply") == len(needing) * len(replies["items"])
    authors = {t["snippet"]["topLevelComment"]["snippet"]["authorChannelId"]["value"] for t in threads}
    assert {i.actor.id for i in snapshot.interactions if i.kind == "comment"} == authors
    assert snapshot.collections["interactions"].state == CollectionState.COMPLETE


def test_channel_discussion_threads_get_a_thread_and_the_channel_url(tmp_path: Path) -> None:
    """allThreadsRelatedToChannelId also returns threads on the channel itself (no videoId): their
    comments and replies keep a conversation (the thread) and a link (the channel's page)."""
    page = body("commentThreads_allThreadsRelatedToChannelId.json")
    discussions = [t for t in page["items"] if "videoId" not in t["snippet"]]
    assert discussions  # the recording holds channel-discussion threads
    snapshot, all_played, _ = replay(tmp_path, UPLOADS_CHANNEL["id"], thread_responses([page]))
    assert all_played
    assert all(i.thread_id and i.url for i in snapshot.interactions)
    on_channel = [i for i in snapshot.interactions if i.post_id is None]
    replies = len(body("comments_replies_by_parent_p1.json")["items"])
    assert len(on_channel) == len(discussions) + replies * len(needing_replies(discussions))
    expected = {(t["id"], "https://www.youtube.com/channel/" + t["snippet"]["channelId"]) for t in discussions}
    assert {(i.thread_id, i.url) for i in on_channel} == expected
    on_video = [i for i in snapshot.interactions if i.post_id is not None]
    assert {i.thread_id for i in on_video} == {t["snippet"]["videoId"] for t in page["items"] if t not in discussions}


def test_commenters_named_only_by_channel_url_keep_their_channel_id(tmp_path: Path) -> None:
    """Real comments show authors by plain display name with an authorChannelUrl of the /channel/UC...
    form; when authorChannelId is absent (the recorded threads, that field left out), the id in the URL
    still identifies them, so namesakes stay apart and a known channel is recognised."""
    pages = [body("commentThreads_by_video_p1.json"), body("commentThreads_by_video_p2.json")]
    authors = {}
    for page in pages:
        for thread in page["items"]:
            comment = thread["snippet"]["topLevelComment"]["snippet"]
            authors[comment["authorChannelUrl"]] = comment.pop("authorChannelId")["value"]
            for reply in thread.get("replies", {}).get("comments", []):
                reply["snippet"].pop("authorChannelId", None)
    assert all(url.startswith("http://www.youtube.com/channel/UC") for url in authors)
    snapshot, all_played, _ = replay(tmp_path, UPLOADS_CHANNEL["id"], thread_responses(pages))
    assert all_played
    comments = [i for i in snapshot.interactions if i.kind == "comment"]
    assert comments and all(i.actor.url in authors for i in comments)
    assert {i.actor.id for i in comments} == set(authors.values())
    assert all(i.actor.handle is None and i.actor.display_name for i in comments)  # plain names, no "@"


def test_millisecond_timestamps_cut_the_window_exactly(tmp_path: Path) -> None:
    """Real times carry milliseconds (`.000Z`): a thread at the window's first instant is in, older ones
    are out, and the listing stops at that page though it has a nextPageToken."""
    page = body("commentThreads_by_video_p1.json")
    assert page.get("nextPageToken")
    times = [t["snippet"]["topLevelComment"]["snippet"]["publishedAt"] for t in page["items"]]
    assert all(stamp.endswith(".000Z") for stamp in times)
    start = times[2]  # the window opens exactly at the third thread (newest first)
    since = datetime.fromisoformat(start.replace("Z", "+00:00"))
    responses = thread_responses([page], since=start)
    snapshot, all_played, _ = replay(tmp_path, UPLOADS_CHANNEL["id"], responses, as_of=since + timedelta(days=10))
    assert all_played
    assert snapshot.requests["commentThreads.list"] == 1
    kept = sorted(f"{i.created_at:%Y-%m-%dT%H:%M:%S}.000Z" for i in snapshot.interactions if i.kind == "comment")
    assert kept == sorted(stamp for stamp in times if stamp >= start) and len(kept) == 3
    assert snapshot.collections["interactions"].state == CollectionState.COMPLETE


def as_owner(monkeypatch: pytest.MonkeyPatch, subscriptions: list[tuple[str, str, int, JSON]]) -> list[Any]:
    """The owner's token is set: the public collections (empty), the token refresh, the `mine` check,
    then `subscriptions` (what subscriptions.list answers)."""
    monkeypatch.setenv("YOUTUBE_CLIENT_ID", "replay-client")
    monkeypatch.setenv("YOUTUBE_CLIENT_SECRET", "replay-client-secret")
    monkeypatch.setenv("ACCOUNT_REAL_YOUTUBE_REFRESH_TOKEN", "replay-refresh-token")
    token = {"access_token": "REDACTED", "expires_in": 3599, "token_type": "Bearer"}
    mine = {"kind": "youtube#channelListResponse", "etag": "served-by-test", "items": [{"id": UPLOADS_CHANNEL["id"]}]}
    return [
        get("channels", channel_page(UPLOADS_CHANNEL)),
        get("playlistItems", empty("playlistItems")),
        get("commentThreads", empty("commentThreads")),
        ("POST", "https://oauth2.googleapis.com/token", 200, token),
        get("channels", mine),
        *subscriptions,
    ]


def test_subscription_recording_is_not_mistaken_for_subscribers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """subscriptions_by_channel lists channels that channel subscribes TO (no subscriberSnippet).
    Answered to mySubscribers while the channel counts subscribers, it names none of them: not a
    complete listing of 0 subscribers but a malformed answer, and the reason says so."""
    recorded = body("subscriptions_by_channel_p1.json")
    assert all("subscriberSnippet" not in item for item in recorded["items"])
    responses = as_owner(
        monkeypatch,
        [get("subscriptions", recorded), get("subscriptions", last_page("youtube#subscriptionListResponse"))],
    )
    snapshot, all_played, _ = replay(tmp_path, UPLOADS_CHANNEL["id"], responses)
    assert all_played
    assert snapshot.participants == []
    participants = snapshot.collections["participants"]
    assert (participants.state, participants.error) == (CollectionState.FAILED, ErrorKind.MALFORMED)
    count = len(recorded["items"])
    subscribers = UPLOADS_CHANNEL["statistics"]["subscriberCount"]
    assert f"{count} of {count} subscriptions.list items carry no subscriberSnippet" in (participants.reason or "")
    assert f"the channel counts {subscribers} subscribers" in (participants.reason or "")
    assert not any("0 listed" in note for note in snapshot.notes)


def test_subscribers_page_with_some_items_lacking_subscriber_snippet_is_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page mixing subscribers (subscriberSnippet, as the API documents it) with items that name none:
    the subscribers read are kept, the listing is partial (malformed), never complete."""
    recorded = body("subscriptions_by_channel_p1.json")
    subscriber = {
        "kind": "youtube#subscription",
        "etag": "served-by-test",
        "id": "served-by-test-subscription",
        "subscriberSnippet": {
            "title": "A Subscriber",
            "description": "",
            "channelId": "UCsubscriber000000000001",
            "thumbnails": {"default": {"url": "https://yt3.ggpht.com/placeholder=s88-c-k-c0x00ffffff-no-rj"}},
        },
    }
    mixed = {**recorded, "items": [subscriber, *recorded["items"]]}
    responses = as_owner(
        monkeypatch, [get("subscriptions", mixed), get("subscriptions", last_page("youtube#subscriptionListResponse"))]
    )
    snapshot, all_played, _ = replay(tmp_path, UPLOADS_CHANNEL["id"], responses)
    assert all_played
    assert [p.id for p in snapshot.participants] == ["UCsubscriber000000000001"]
    participants = snapshot.collections["participants"]
    assert (participants.state, participants.error) == (CollectionState.PARTIAL, ErrorKind.MALFORMED)
    assert "subscriberSnippet" in (participants.reason or "") and "1 subscribers listed" in (participants.reason or "")


@pytest.mark.parametrize(
    ("name", "kind", "state"),
    [
        ("error_400_keyInvalid.json", ErrorKind.AUTH, CollectionState.FAILED),
        ("error_403_permission_denied.json", ErrorKind.PERMISSION, CollectionState.UNAVAILABLE),
        ("error_403_quotaExceeded.json", ErrorKind.QUOTA, CollectionState.FAILED),
        ("error_403_forbidden_unregistered_caller.json", ErrorKind.AUTH, CollectionState.FAILED),
        ("error_403_subscriptions_forbidden_youtube_common.json", ErrorKind.PERMISSION, CollectionState.UNAVAILABLE),
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


def test_quota_exceeded_recording_stops_the_whole_run_without_retry(tmp_path: Path) -> None:
    """The project's daily quota is gone: not retried, the collection says so and when it comes back,
    and no later collection or channel of the run sends a request (each says why it has nothing)."""
    second = body("channels_list_single.json")["items"][0]["id"]
    recorded = body("error_403_quotaExceeded.json")
    assert "status" not in recorded["error"]  # the older envelope: reason and domain only
    responses = [get("channels", channel_page(UPLOADS_CHANNEL)), get("playlistItems", recorded, 403)]
    (first, other), all_played, sleeps = replay_run(tmp_path, [UPLOADS_CHANNEL["id"], second], responses)
    assert all_played and sleeps == []
    assert first.collections["profile"].state == CollectionState.COMPLETE
    posts = first.collections["posts"]
    assert (posts.state, posts.error) == (CollectionState.FAILED, ErrorKind.QUOTA)
    reason = posts.reason or ""
    assert "quotaExceeded" in reason and "midnight Pacific" in reason
    assert "you have exceeded your quota." in reason and "<a" not in reason  # Google's HTML, as words
    assert posts.retry_after is not None
    assert first.requests == {"channels.list": 1, "playlistItems.list": 1}
    interactions = first.collections["interactions"]
    assert (interactions.state, interactions.error) == (CollectionState.FAILED, ErrorKind.QUOTA)
    assert "you have exceeded your quota" in (interactions.reason or "")
    assert other.requests == {} and other.profile is None
    for name in ("profile", "posts", "interactions"):
        status = other.collections[name]
        assert (status.state, status.error) == (CollectionState.FAILED, ErrorKind.QUOTA)
        assert "you have exceeded your quota" in (status.reason or "")


def test_uploads_playlist_not_found_recording(tmp_path: Path) -> None:
    """404 playlistNotFound on the uploads playlist of a channel that has videos: its posts could not
    be read (not "no posts"), and the reason names the playlist rather than blaming the channel id."""
    assert int(UPLOADS_CHANNEL["statistics"]["videoCount"]) > 0
    recorded = body("error_404_playlistNotFound.json")
    assert "status" not in recorded["error"]
    responses = [
        get("channels", channel_page(UPLOADS_CHANNEL)),
        get("playlistItems", recorded, 404),
        get("commentThreads", empty("commentThreads")),
    ]
    snapshot, all_played, sleeps = replay(tmp_path, UPLOADS_CHANNEL["id"], responses)
    assert all_played and sleeps == []
    posts = snapshot.collections["posts"]
    assert (posts.state, posts.error) == (CollectionState.FAILED, ErrorKind.NOT_FOUND)
    reason = posts.reason or ""
    playlist = UPLOADS_CHANNEL["contentDetails"]["relatedPlaylists"]["uploads"]
    assert "playlistNotFound" in reason and f"uploads playlist {playlist}" in reason
    assert "<code>" not in reason and "check the channel id" not in reason
    assert snapshot.posts == []
    assert snapshot.collections["profile"].state == CollectionState.COMPLETE
    assert snapshot.collections["interactions"].state == CollectionState.COMPLETE


def test_uploads_playlist_not_found_on_a_channel_without_videos_is_no_videos(tmp_path: Path) -> None:
    """YouTube answers playlistNotFound for the uploads playlist of a channel that never uploaded: when
    the channel itself counts 0 videos, there is nothing to audit and the collection is complete."""
    empty_channel = json.loads(json.dumps(UPLOADS_CHANNEL))
    empty_channel["statistics"]["videoCount"] = "0"
    responses = [
        get("channels", channel_page(empty_channel)),
        get("playlistItems", body("error_404_playlistNotFound.json"), 404),
        get("commentThreads", empty("commentThreads")),
    ]
    snapshot, all_played, _ = replay(tmp_path, UPLOADS_CHANNEL["id"], responses)
    assert all_played
    assert snapshot.collections["posts"].state == CollectionState.COMPLETE
    assert any("0 videos" in note and "playlistNotFound" in note for note in snapshot.notes)


def test_subscribers_forbidden_recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """403 youtube.common forbidden on listing the channel's subscribers: a permission gap, the
    participants unavailable with the reason; the public collections are unaffected."""
    recorded = body("error_403_subscriptions_forbidden_youtube_common.json")
    responses = as_owner(monkeypatch, [get("subscriptions", recorded, 403)])
    snapshot, all_played, sleeps = replay(tmp_path, UPLOADS_CHANNEL["id"], responses)
    assert all_played and sleeps == []
    participants = snapshot.collections["participants"]
    assert (participants.state, participants.error) == (CollectionState.UNAVAILABLE, ErrorKind.PERMISSION)
    assert "forbidden" in (participants.reason or "") and "Access forbidden" in (participants.reason or "")
    assert snapshot.participants == []
    assert all(snapshot.collections[c].state == CollectionState.COMPLETE for c in ("profile", "posts", "interactions"))


def test_unregistered_caller_recording_is_a_credentials_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """403 "unregistered callers" (the request reached Google with no key or token) is not a permission
    the channel withholds: it is the auditor's configuration, and the reason says what to check."""
    recorded = body("error_403_forbidden_unregistered_caller.json")
    responses = as_owner(monkeypatch, [get("subscriptions", recorded, 403)])
    snapshot, all_played, sleeps = replay(tmp_path, UPLOADS_CHANNEL["id"], responses)
    assert all_played and sleeps == []
    participants = snapshot.collections["participants"]
    assert (participants.state, participants.error) == (CollectionState.FAILED, ErrorKind.AUTH)
    reason = participants.reason or ""
    assert "unregistered callers" in reason
    assert "YOUTUBE_API_KEY" in reason and "proxy" in reason


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


# --- a nightly run: channels 50 a call, comments only of videos whose comment count moved ---------------


def test_channels_are_read_50_a_call_before_the_pulls(tmp_path: Path) -> None:
    recorded = body("channels_list_multi.json")
    ids = [item["id"] for item in recorded["items"]]
    (tmp_path / "real.yaml").write_text(
        yaml.safe_dump({"interactions": [_interaction(get("channels", recorded))], "version": 1})
    )
    context = context_for(YouTubeConnector, policy=EVERYTHING, as_of=AS_OF, deadline=Deadline(60))
    accounts = [channel_account(f"channel{n}", channel_id) for n, channel_id in enumerate(ids)]
    builder = SnapshotBuilder("youtube:batched-lookup", "youtube", AS_OF)
    with make_vcr(tmp_path, match_on=("method", "path")).use_cassette("real.yaml") as recording:
        found = YouTubeConnector(context).prefetch(accounts, builder, {})
        assert recording.all_played
    assert len(ids) > 1 and builder.snapshot.requests == {"channels.list": 1}  # one call, not one per channel
    assert {key: channel["id"] for key, channel in found.items()} == {a.key: a.platform_id for a in accounts}
    assert YouTubeConnector(context).estimate_prefetch(accounts, {}).requests == {"channels.list": 1}


def _interaction(response: tuple[str, str, int, JSON]) -> JSON:
    method, url, status, data = response
    return {
        "request": {"body": None, "headers": {}, "method": method, "uri": url},
        "response": {
            "status": {"code": status, "message": "recorded"},
            "headers": {"Content-Type": ["application/json; charset=UTF-8"]},
            "body": {"string": json.dumps(data)},
        },
    }


def video_statistics(counts: dict[str, int]) -> JSON:
    """videos.list(part=statistics) as YouTube answers it (counts are strings)."""
    return {
        "kind": "youtube#videoListResponse",
        "etag": "served-by-test",
        "items": [
            {
                "kind": "youtube#video",
                "etag": "served-by-test",
                "id": video,
                "statistics": {"viewCount": "812", "likeCount": "31", "favoriteCount": "0", "commentCount": str(n)},
            }
            for video, n in counts.items()
        ],
        "pageInfo": {"totalResults": len(counts), "resultsPerPage": len(counts)},
    }


def test_a_nightly_run_reads_the_comments_of_videos_whose_count_moved_only(tmp_path: Path) -> None:
    pages = [body("commentThreads_by_video_p1.json"), body("commentThreads_by_video_p2.json")]
    busy = pages[0]["items"][0]["snippet"]["videoId"]
    quiet = body("videos_list_multi.json")["items"][0]["id"]
    threads = [t for page in pages for t in page["items"]]
    total = sum(1 + t["snippet"]["totalReplyCount"] for t in threads)
    cursor = {
        "newest_video_id": quiet,
        "newest_video_at": "2019-10-01T00:00:00Z",
        "comment_counts": f"{busy}:{total - 2}:2019-06-01 {quiet}:7:2019-03-21",
    }
    responses = [
        get("channels", channel_page(UPLOADS_CHANNEL)),
        get("playlistItems", empty("playlistItems")),  # nothing uploaded since
        get("videos", video_statistics({busy: total, quiet: 7})),
        *[get("commentThreads", page) for page in pages],
    ]
    for _ in needing_replies(threads):
        responses += [
            get("comments", body("comments_replies_by_parent_p1.json")),
            get("comments", last_page("youtube#commentListResponse")),
        ]
    (snapshot,), all_played, _ = replay_run(tmp_path, [UPLOADS_CHANNEL["id"]], responses, cursor=cursor)

    assert all_played
    assert snapshot.requests["videos.list"] == 1 and snapshot.requests["commentThreads.list"] == len(pages)
    assert snapshot.collections["interactions"].state == CollectionState.COMPLETE
    assert snapshot.interactions and {i.thread_id for i in snapshot.interactions} == {busy}
    assert sorted(snapshot.cursor["comment_counts"].split()) == sorted(
        [f"{busy}:{total}:2019-06-01", f"{quiet}:7:2019-03-21"]
    )
    assert any("re-read for the 1 of 2 video(s)" in note for note in snapshot.notes)
    estimate = YouTubeConnector(
        context_for(YouTubeConnector, policy=EVERYTHING, as_of=AS_OF, deadline=Deadline(60))
    ).estimate(
        channel_account("real", UPLOADS_CHANNEL["id"]),
        cursor,
        None,
    )
    assert estimate.requests == {"channels.list": 1, "playlistItems.list": 1, "videos.list": 1}


def test_a_channel_whose_video_count_did_not_move_is_not_asked_for_its_uploads(tmp_path: Path) -> None:
    recorded = body("videos_list_multi.json")
    ids = [item["id"] for item in recorded["items"]]
    cursor = {
        "newest_video_id": ids[0],
        "newest_video_at": "2019-10-01T00:00:00Z",
        "video_count": UPLOADS_CHANNEL["statistics"]["videoCount"],
        "comment_counts": " ".join(f"{video}:4:2019-03-21" for video in ids),
    }
    counts = video_statistics(dict.fromkeys(ids, 4))
    responses = [get("channels", channel_page(UPLOADS_CHANNEL)), get("videos", counts)]
    (snapshot,), all_played, _ = replay_run(tmp_path, [UPLOADS_CHANNEL["id"]], responses, cursor=cursor)

    assert all_played and snapshot.requests == {"channels.list": 1, "videos.list": 1}  # 2 units, was 3 or more
    assert snapshot.collections["posts"].state == CollectionState.COMPLETE
    assert snapshot.cursor["video_count"] == cursor["video_count"]
    assert snapshot.cursor["comment_counts"] == cursor["comment_counts"]


def test_a_videos_answer_without_statistics_reads_every_videos_comments(tmp_path: Path) -> None:
    """The real videos.list recording asked for snippet only: no count to compare, nothing is skipped."""
    recorded = body("videos_list_multi.json")
    ids = [item["id"] for item in recorded["items"]]
    cursor = {
        "newest_video_id": ids[0],
        "newest_video_at": "2019-10-01T00:00:00Z",
        "comment_counts": " ".join(f"{video}:0:2019-03-21" for video in ids),
    }
    responses = [
        get("channels", channel_page(UPLOADS_CHANNEL)),
        get("playlistItems", empty("playlistItems")),
        get("videos", recorded),
        *[get("commentThreads", empty("commentThreads")) for _ in ids],
    ]
    (snapshot,), all_played, _ = replay_run(tmp_path, [UPLOADS_CHANNEL["id"]], responses, cursor=cursor)

    assert all_played and snapshot.requests["commentThreads.list"] == len(ids)
    assert snapshot.collections["interactions"].state == CollectionState.COMPLETE


CASES: list[tuple[str, tuple[str, ...]]] = [
    ("channel", ("channels_list_by_id.json", "channels_list_single.json", "channels_list_multi.json")),
    ("comment counts", ("videos_list_multi.json",)),
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
    (
        "errors",
        (
            "error_400_keyInvalid.json",
            "error_403_permission_denied.json",
            "google_error_503_backendError.json",
            "error_403_quotaExceeded.json",
            "error_404_playlistNotFound.json",
            "error_403_forbidden_unregistered_caller.json",
            "error_403_subscriptions_forbidden_youtube_common.json",
        ),
    ),
]
