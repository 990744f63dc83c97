"""YouTube: quota units of a full run and of the nightly run after it, against their floors.

    python -m bench.youtube_bench [--channels 60] [--seed 8]

The real connector (`connectors.youtube`, google-api-python-client with its static discovery
document, the resilience layer, the quota budget) reads a generated division of channels, its
batched channels.list first (`prefetch`); the API is answered in-process: `httplib2.Http.request`
is wrapped so that every request the client sends to youtube.googleapis.com is answered from the
generated channels in the Data API's shapes (../shared/reference/real-traffic/youtube/) and counted
per method. Every list call costs 1 unit, so units = requests here.

The division: each channel has 10-40 uploads in the 30-day window (and older ones), three videos
in four with 1-20 comment threads (a quarter of them with 1-3 replies, embedded). Between the full
and the nightly run a fifth of the channels upload a video (half of those draw comments) and a
tenth get a new comment on an older video.

The floor is what an oracle needs with the same methods, knowing the platform's state: one
channels.list per 50 channels; full run: one playlistItems page per 50 uploads of the window and
one commentThreads page per 100 threads of the window (read channel-wide); nightly: a playlistItems
page for each channel that uploaded, one videos.list per 50 videos of the window (the only way to
learn whose comments moved), and one commentThreads page for each video whose count moved.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httplib2

from auditor.merge import carry_forward
from auditor.policy import Policy
from connectors.base import ConnectorContext, SnapshotBuilder
from connectors.resilience import Deadline
from connectors.youtube import YouTubeConnector
from connectors.youtube.settings import YouTubeSettings
from models.snapshot import AccountSnapshot
from models.tables import RegisteredAccount
from tests.contexts import context_for

AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
NIGHT = AS_OF + timedelta(days=1)
LOOKBACK_DAYS = 30
TARGET_RATIO = 1.1
API = re.compile(r"^/youtube/v3/(?P<method>\w+)$")


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Thread:
    id: str
    video: str
    author: str
    created: datetime
    replies: list[tuple[str, str, datetime]] = field(default_factory=list)  # id, author, time

    def json(self, channel: str) -> dict[str, Any]:
        def comment(cid: str, author: str, at: datetime) -> dict[str, Any]:
            return {
                "kind": "youtube#comment",
                "etag": "bench",
                "id": cid,
                "snippet": {
                    "authorDisplayName": f"Viewer {author[-4:]}",
                    "authorChannelUrl": f"http://www.youtube.com/channel/{author}",
                    "authorChannelId": {"value": author},
                    "channelId": channel,
                    "videoId": self.video,
                    "textDisplay": "Great work!",
                    "textOriginal": "Great work!",
                    "publishedAt": _time(at),
                    "updatedAt": _time(at),
                },
            }

        body: dict[str, Any] = {
            "kind": "youtube#commentThread",
            "etag": "bench",
            "id": self.id,
            "snippet": {
                "channelId": channel,
                "videoId": self.video,
                "topLevelComment": comment(self.id, self.author, self.created),
                "canReply": True,
                "totalReplyCount": len(self.replies),
                "isPublic": True,
            },
        }
        if self.replies:
            body["replies"] = {"comments": [comment(*reply) for reply in self.replies]}
        return body

    @property
    def latest(self) -> datetime:
        return max([self.created, *(at for _, _, at in self.replies)])


@dataclass
class Video:
    id: str
    published: datetime
    threads: list[Thread] = field(default_factory=list)

    @property
    def comment_count(self) -> int:
        return sum(1 + len(t.replies) for t in self.threads)


@dataclass
class Channel:
    id: str
    videos: list[Video] = field(default_factory=list)  # newest first


class FakeYouTube:
    def __init__(self, channels: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.channels: dict[str, Channel] = {}
        self.requests: Counter[str] = Counter()
        self._serial = 0
        for _ in range(channels):
            channel = Channel(f"UC{self._id(22)}")
            for _ in range(self.rng.randint(10, 40)):
                self.upload(channel, AS_OF - timedelta(hours=self.rng.uniform(2, 24 * LOOKBACK_DAYS - 2)))
            for _ in range(self.rng.randint(0, 8)):  # older uploads, outside the window
                self.upload(channel, AS_OF - timedelta(days=self.rng.uniform(LOOKBACK_DAYS + 1, 400)), comments=False)
            self.channels[channel.id] = channel

    def _id(self, length: int) -> str:
        self._serial += 1
        return f"{self._serial:0{length}d}"

    def upload(self, channel: Channel, at: datetime, *, comments: bool = True) -> Video:
        video = Video(f"v{self._id(10)}", at)
        if comments and self.rng.random() < 0.75:
            for _ in range(self.rng.randint(1, 20)):
                self.comment(video, at + timedelta(minutes=self.rng.uniform(1, 600)))
        channel.videos.append(video)
        channel.videos.sort(key=lambda v: v.published, reverse=True)
        return video

    def comment(self, video: Video, at: datetime) -> None:
        thread = Thread(f"Ug{self._id(20)}", video.id, f"UC{self._id(22)}", at)
        if self.rng.random() < 0.25:
            thread.replies = [
                (f"{thread.id}.{k}", f"UC{self._id(22)}", at + timedelta(minutes=k + 1))
                for k in range(self.rng.randint(1, 3))
            ]
        video.threads.append(thread)

    def a_day_passes(self) -> None:
        for channel in self.channels.values():
            if self.rng.random() < 0.2:
                video = self.upload(channel, NIGHT - timedelta(hours=5), comments=False)
                if self.rng.random() < 0.5:
                    self.comment(video, NIGHT - timedelta(hours=4))
            if self.rng.random() < 0.1:
                older = channel.videos[min(len(channel.videos) - 1, 5)]
                self.comment(older, NIGHT - timedelta(hours=3))

    # --- answers -----------------------------------------------------------------------------

    def answer(self, uri: str) -> dict[str, Any]:
        parts = urlsplit(uri)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        match = API.match(parts.path)
        method = match["method"] if match else "?"
        self.requests[f"{method}.list"] += 1
        if method == "channels":
            return _listing("channel", [self._channel(self.channels[c]) for c in query["id"].split(",")])
        if method == "videos":
            videos = {v.id: v for c in self.channels.values() for v in c.videos}
            items = [
                {"kind": "youtube#video", "etag": "bench", "id": v, "statistics": _statistics(videos[v])}
                for v in query["id"].split(",")
                if v in videos
            ]
            return _listing("video", items)
        if method == "playlistItems":
            channel = self.channels["UC" + query["playlistId"][2:]]
            start = int(query.get("pageToken", "0"))
            items = [_upload(channel, v) for v in channel.videos[start : start + 50]]
            return _listing("playlistItem", items, start + 50 if start + 50 < len(channel.videos) else None)
        if method == "commentThreads":
            if "videoId" in query:
                threads = [
                    t for c in self.channels.values() for v in c.videos if v.id == query["videoId"] for t in v.threads
                ]
                channel_id = next(
                    c.id for c in self.channels.values() if any(v.id == query["videoId"] for v in c.videos)
                )
            else:
                channel_id = query["allThreadsRelatedToChannelId"]
                threads = [t for v in self.channels[channel_id].videos for t in v.threads]
            threads.sort(key=lambda t: t.latest, reverse=True)
            start = int(query.get("pageToken", "0"))
            page = [t.json(channel_id) for t in threads[start : start + 100]]
            return _listing("commentThread", page, start + 100 if start + 100 < len(threads) else None)
        raise AssertionError(f"the connector asked for {uri}")

    def _channel(self, channel: Channel) -> dict[str, Any]:
        return {
            "kind": "youtube#channel",
            "etag": "bench",
            "id": channel.id,
            "snippet": {"title": f"School channel {channel.id[-4:]}", "customUrl": f"@school{channel.id[-4:]}"},
            "statistics": {"viewCount": "1000", "subscriberCount": "120", "videoCount": str(len(channel.videos))},
            "status": {"privacyStatus": "public", "madeForKids": False},
            "contentDetails": {"relatedPlaylists": {"uploads": "UU" + channel.id[2:]}},
        }


def _statistics(video: Video) -> dict[str, str]:
    return {"viewCount": "140", "likeCount": "9", "favoriteCount": "0", "commentCount": str(video.comment_count)}


def _upload(channel: Channel, video: Video) -> dict[str, Any]:
    return {
        "kind": "youtube#playlistItem",
        "etag": "bench",
        "id": f"UU{video.id}",
        "snippet": {
            "publishedAt": _time(video.published),
            "channelId": channel.id,
            "title": "School news",
            "description": "This week at school",
            "resourceId": {"kind": "youtube#video", "videoId": video.id},
        },
        "contentDetails": {"videoId": video.id, "videoPublishedAt": _time(video.published)},
        "status": {"privacyStatus": "public"},
    }


def _listing(kind: str, items: list[dict[str, Any]], next_token: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": f"youtube#{kind}ListResponse",
        "etag": "bench",
        "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
        "items": items,
    }
    if next_token is not None:
        body["nextPageToken"] = str(next_token)
    return body


@contextmanager
def serving(youtube: FakeYouTube) -> Iterator[None]:
    original: Callable[..., Any] = httplib2.Http.request

    def request(self: httplib2.Http, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        if "youtube.googleapis.com" not in uri and "www.googleapis.com/youtube" not in uri:
            return original(self, uri, method, *args, **kwargs)
        body = json.dumps(youtube.answer(uri)).encode("utf-8")
        return httplib2.Response({"status": "200", "content-type": "application/json; charset=UTF-8"}), body

    httplib2.Http.request = request  # type: ignore[method-assign]
    try:
        yield
    finally:
        httplib2.Http.request = original  # type: ignore[method-assign]


def registry(youtube: FakeYouTube) -> list[RegisteredAccount]:
    return [
        RegisteredAccount(
            key=f"channel-{n:03d}",
            platform="youtube",
            connector="youtube",
            platform_id=channel_id,
            school=f"School {n}",
            purpose="School news",
            kind="joint",
            audience="public",
        )
        for n, channel_id in enumerate(youtube.channels)
    ]


def run(
    youtube: FakeYouTube, as_of: datetime, full: bool, previous: dict[str, AccountSnapshot]
) -> tuple[Counter[str], Counter[str], dict[str, AccountSnapshot]]:
    """The batched channels, then every channel's pull; (requests counted, --dry-run estimate, snapshots)."""
    settings = YouTubeSettings(YOUTUBE_API_KEY="bench-placeholder-key")  # type: ignore[call-arg]
    policy = Policy(
        lookback_days=LOOKBACK_DAYS,
        approved_platforms=["youtube"],
        connectors={"youtube": {"daily_units": 1_000_000}},
    )
    accounts = registry(youtube)
    cursors = {a.key: previous[a.key].cursor if a.key in previous else {} for a in accounts}

    def context(prefetched: Any = None) -> ConnectorContext:
        return context_for(
            YouTubeConnector,
            settings=settings,
            policy=policy,
            as_of=as_of,
            deadline=Deadline(600),
            full=full,
            prefetched=prefetched,
        )

    predicted: Counter[str] = Counter(YouTubeConnector(context()).estimate_prefetch(accounts, cursors).requests)
    for account in accounts:
        estimate = YouTubeConnector(context(True)).estimate(
            account, dict(cursors[account.key]), previous.get(account.key)
        )
        predicted.update(estimate.requests)
    builder = SnapshotBuilder("youtube:batched-lookup", "youtube", as_of)
    found = YouTubeConnector(context()).prefetch(accounts, builder, cursors)
    snapshots: dict[str, AccountSnapshot] = {}
    for account in accounts:
        snapshot = YouTubeConnector(context(found.get(account.key))).pull(account, dict(cursors[account.key]))
        assert snapshot.collections["interactions"].state.value == "complete", snapshot.collections
        carry_forward(previous.get(account.key), snapshot, as_of - timedelta(days=LOOKBACK_DAYS))
        snapshots[account.key] = snapshot
    return Counter(youtube.requests), predicted, snapshots


def floor_full(youtube: FakeYouTube, as_of: datetime) -> Counter[str]:
    start = as_of - timedelta(days=LOOKBACK_DAYS)
    bound: Counter[str] = Counter({"channels.list": math.ceil(len(youtube.channels) / 50)})
    for channel in youtube.channels.values():
        window = [v for v in channel.videos if v.published >= start]
        bound["playlistItems.list"] += max(1, math.ceil(len(window) / 50))
        bound["commentThreads.list"] += max(1, math.ceil(sum(len(v.threads) for v in window) / 100))
    return bound


def floor_nightly(youtube: FakeYouTube, before: dict[str, dict[str, int]], as_of: datetime) -> Counter[str]:
    start = as_of - timedelta(days=LOOKBACK_DAYS)
    bound: Counter[str] = Counter({"channels.list": math.ceil(len(youtube.channels) / 50)})
    for channel in youtube.channels.values():
        counts = before[channel.id]
        window = [v for v in channel.videos if v.published >= start]
        bound["playlistItems.list"] += any(v.id not in counts for v in window)
        bound["videos.list"] += max(1, math.ceil(len(window) / 50))
        for video in window:
            if video.comment_count != counts.get(video.id, 0):
                bound["commentThreads.list"] += max(1, math.ceil(len(video.threads) / 100))
    return bound


def show(title: str, made: Counter[str], bound: Counter[str], predicted: Counter[str]) -> None:
    print(f"\n{title}")
    print(f"  {'method (1 unit a call)':<28} {'made':>8} {'floor':>8} {'dry run':>8}")
    for method in sorted(set(made) | set(bound) | set(predicted)):
        print(f"  {method:<28} {made[method]:>8,} {bound[method]:>8,} {predicted[method]:>8,}")
    print(f"  {'total units':<28} {sum(made.values()):>8,} {sum(bound.values()):>8,} {sum(predicted.values()):>8,}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--channels", type=int, default=60)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    youtube = FakeYouTube(args.channels, args.seed)
    videos = sum(len(c.videos) for c in youtube.channels.values())
    threads = sum(len(v.threads) for c in youtube.channels.values() for v in c.videos)
    print(f"generated {args.channels} channels, {videos:,} videos, {threads:,} comment threads")
    started = time.perf_counter()
    with serving(youtube):
        full_bound = floor_full(youtube, AS_OF)
        full, full_predicted, snapshots = run(youtube, AS_OF, True, {})
        show(f"full run ({time.perf_counter() - started:.0f} s, the connector only)", full, full_bound, full_predicted)
        before = {c.id: {v.id: v.comment_count for v in c.videos} for c in youtube.channels.values()}
        youtube.a_day_passes()
        youtube.requests.clear()
        nightly_bound = floor_nightly(youtube, before, NIGHT)
        nightly, nightly_predicted, _ = run(youtube, NIGHT, False, snapshots)
        show("nightly run after a day of uploads and comments", nightly, nightly_bound, nightly_predicted)
    print("\ntargets")
    for what, made, bound in (("full", full, full_bound), ("nightly", nightly, nightly_bound)):
        total, least = sum(made.values()), sum(bound.values())
        verdict = "PASS" if total <= TARGET_RATIO * least else "FAIL"
        ratio = f"{total:,} / {least:,} = {total / least:.3f}"
        print(f"  youtube {what} run units <= {TARGET_RATIO} x floor: {ratio}  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
