"""The YouTube connector: a registered channel's profile, recent uploads, comments and subscribers.

Every list call costs 1 quota unit, counted against the run's `UnitBudget` (policy
`connectors: {youtube: {daily_units: ...}}`): a collection stops as `partial: quota` before the budget
would be exceeded, and a `403 quotaExceeded` closes the budget for the rest of the run (quota resets at midnight
Pacific time). Paging uses the client's own `list_next`.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from connectors.base import (
    Connector,
    ConnectorContext,
    ConnectorOptions,
    CredentialCheck,
    Estimate,
    SnapshotBuilder,
    UnitBudget,
)
from connectors.resilience import PlatformError
from connectors.scrub import scrub
from connectors.youtube import parse
from connectors.youtube.client import (
    REFRESH_TOKEN_NAME,
    OwnerToken,
    api_key_client,
    owner_client,
    scrub_library_logs,
)
from connectors.youtube.errors import (
    PLAYLIST_NOT_FOUND,
    QUOTA_EXCEEDED,
    classify,
    is_comments_disabled,
    next_quota_reset,
)
from connectors.youtube.remediation import REMEDIATION
from connectors.youtube.settings import CREDENTIAL_VARIABLES, YouTubeOptions, YouTubeSettings
from models.snapshot import (
    AccountSnapshot,
    Capability,
    CollectionState,
    CollectionStatus,
    ErrorKind,
    Identity,
    Profile,
)
from models.tables import RegisteredAccount

LIST_COST = 1  # quota units of every list method the connector uses
# search.list is metered apart from the list methods: 100 units a call in the Data API's cost table,
# and Google now also allows it only about 100 times a day per project. Discovery's channel search
# is therefore opt-in (policy connectors.youtube.discovery_search) and counted against the run's budget.
SEARCH_COST = 100
SEARCH_RESULTS = 10  # channels per search (one request whatever the number)
CHANNEL_PARTS = "snippet,statistics,status,contentDetails"
IDS_PER_CALL = 50  # channels.list and videos.list take up to 50 ids a call (1 unit)
# Cursor: each video of the window with its comment count and upload day, "<id>:<count>:<YYYY-MM-DD> ...":
# a nightly run re-reads the comments only of videos whose count moved (videos.list statistics).
CURSOR_COMMENT_COUNTS = "comment_counts"
CURSOR_VIDEO_COUNT = "video_count"  # the channel's videoCount when its uploads were last read
CURSOR_NEWEST_VIDEO_ID = "newest_video_id"  # the newest upload read: the next pull stops there
CURSOR_NEWEST_VIDEO_AT = "newest_video_at"
COLLECTIONS_AFTER_PROFILE = (Capability.POSTS, Capability.INTERACTIONS, Capability.PARTICIPANTS)

JSON = dict[str, Any]


@dataclass
class _Progress:
    """How many items a collection gathered: a stop after some items is partial, before any is failed."""

    items: int = 0


class YouTubeConnector(Connector):
    name = "youtube"
    remediation: ClassVar[dict[str, str]] = REMEDIATION
    capabilities = frozenset({Capability.PROFILE, Capability.PARTICIPANTS, Capability.POSTS, Capability.INTERACTIONS})
    # Uploads stop at the previous run's newest video; the run carries the older ones of the window
    # forward. Comments are re-read over the whole window (duplicates are dropped by their URL).
    incremental = True
    limitations = {
        Capability.ADMINS: (
            "YouTube has no API for who manages a channel (Owner, Manager, Editor in YouTube Studio, Brand "
            "Account managers): the admin and password rules use the registry's declared admins"
        ),
    }

    discovery_notes = (
        f"channel search by each school's name (search.list type=channel, {SEARCH_COST} quota units a call, "
        "a small daily allowance of its own): only with policy connectors.youtube.discovery_search: true"
    )

    settings_model = YouTubeSettings
    options_model = YouTubeOptions
    legacy_policy_keys: ClassVar[dict[str, str]] = {
        "youtube_daily_units": "daily_units",
        "discovery_youtube_search": "discovery_search",
    }
    profile_hosts = ("youtube.com",)
    profile_url = "https://www.youtube.com/@{handle}"
    participants_from_interactions = True  # a public channel lists no members: its commenters take part
    noisy_loggers = ("googleapiclient.discovery_cache", "httplib2")
    credential_variables = CREDENTIAL_VARIABLES

    @classmethod
    def run_budget(cls, options: ConnectorOptions) -> UnitBudget:
        # The daily quota belongs to the Cloud project: one budget for every channel of the run.
        assert isinstance(options, YouTubeOptions)
        return UnitBudget(options.daily_units, "YouTube quota units (policy connectors.youtube.daily_units)")

    @classmethod
    def searches_school_names(cls, options: ConnectorOptions) -> bool:
        return isinstance(options, YouTubeOptions) and options.discovery_search

    @property
    def settings(self) -> YouTubeSettings:
        return self.context.settings_as(YouTubeSettings)

    @property
    def options(self) -> YouTubeOptions:
        return self.context.options_as(YouTubeOptions)

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(context)
        if context.budget is None:
            context.budget = UnitBudget(
                self.options.daily_units,
                "YouTube quota units (policy connectors.youtube.daily_units)",
                resets_at=next_quota_reset(context.as_of),
            )
        self._refresh_variable = REFRESH_TOKEN_NAME
        self._owner: Any = None  # the owner's client, once its token is refreshed (per pull)
        scrub_library_logs()

    # --- the connector interface ------------------------------------------------------------

    def classify_error(self, error: BaseException) -> PlatformError:
        classified = classify(error, now=self.context.as_of, refresh_variable=self._refresh_variable)
        if classified.code == QUOTA_EXCEEDED and self.context.budget is not None:
            # The project's quota is gone for the day: no later call of this run may spend a unit.
            self.context.budget.close(classified.detail)
        return classified

    def check_credentials(self, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
        """`auditor doctor`: see connectors/youtube/doctor.py."""
        from connectors.youtube.doctor import check_youtube

        return check_youtube(self, accounts)

    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        builder = self.new_builder(account)
        self._owner = None
        self._thread_counts: Counter[str] = Counter()  # video -> comments its threads hold (this pull)
        self._window_read = False  # whether this pull read every upload of the window
        owner_token = self._owner_token(account)
        api_key = self.settings.youtube_api_key
        channel: JSON | None = None
        with self._collection(builder, Capability.PROFILE):
            public = self._public_client(builder, api_key.get_secret_value() if api_key else None, owner_token)
            if isinstance(self.context.prefetched, dict):  # from the run's batched channels.list
                channel = self._take_channel(builder, self.context.prefetched)
            else:
                channel = self._channel(builder, public, account)
        if channel is None:
            failure = builder.snapshot.collections[Capability.PROFILE.value]
            for capability in COLLECTIONS_AFTER_PROFILE:
                builder.snapshot.collections[capability.value] = failure
            builder.snapshot.cursor = dict(cursor)
            return builder.snapshot
        owner = parse.channel_identity(channel)
        with self._collection(builder, Capability.POSTS) as progress:
            self._uploads(builder, public, channel, owner, cursor, progress)
        if builder.snapshot.collections[Capability.POSTS.value].state != CollectionState.COMPLETE:
            # Older uploads of the window were not read: the next run must not stop above them.
            builder.snapshot.cursor = dict(cursor)
        stored = None if self.context.full else stored_counts(cursor, self._window_start())
        counts: dict[str, tuple[str, str]] | None = None
        with self._collection(builder, Capability.INTERACTIONS) as progress:
            if stored is None or not builder.snapshot.usable(Capability.POSTS):
                self._comments(builder, public, channel, owner, progress)
                counts = self._counted_by_threads(builder, stored or {})
            else:
                counts = self._changed_comments(builder, public, owner, stored, progress)
        builder.snapshot.cursor.pop(CURSOR_COMMENT_COUNTS, None)
        done = (Capability.POSTS, Capability.INTERACTIONS)
        if counts is not None and all(
            builder.snapshot.collections[c.value].state == CollectionState.COMPLETE for c in done
        ):
            builder.snapshot.cursor[CURSOR_COMMENT_COUNTS] = " ".join(
                f"{video}:{count}:{day}" for video, (count, day) in sorted(counts.items())
            )
        self._subscribers(builder, channel, owner_token)
        return builder.snapshot

    # --- batched channels and comment counts ---------------------------------------------------

    def prefetch(
        self,
        accounts: list[RegisteredAccount],
        builder: SnapshotBuilder,
        cursors: Mapping[str, Mapping[str, str]],
    ) -> dict[str, Any]:
        """The registered channels, 50 per channels.list call (1 unit) instead of one call each: each
        pull then starts from its channel. With the API key only; a failure leaves each pull to read its own."""
        api_key = self.settings.youtube_api_key
        by_id = {a.platform_id: a.key for a in accounts if a.platform_id}
        if api_key is None or not by_id:
            return {}
        client = api_key_client(api_key.get_secret_value())
        found: dict[str, Any] = {}
        ids = sorted(by_id)
        try:
            for start in range(0, len(ids), IDS_PER_CALL):
                chunk = ids[start : start + IDS_PER_CALL]
                request = client.channels().list(part=CHANNEL_PARTS, id=",".join(chunk), maxResults=IDS_PER_CALL)
                for item in self._execute(builder, "channels.list", request).get("items") or []:
                    if isinstance(item, dict) and item.get("id") in by_id:
                        found[by_id[item["id"]]] = item
        except PlatformError:
            pass  # the pulls read their own channels and report what went wrong
        return found

    def estimate_prefetch(
        self, accounts: list[RegisteredAccount], cursors: Mapping[str, Mapping[str, str]]
    ) -> Estimate:
        calls = math.ceil(sum(1 for a in accounts if a.platform_id) / IDS_PER_CALL)
        return Estimate({"channels.list": calls} if calls else {}, calls * LIST_COST, {}, "channels, 50 per call")

    def estimate(
        self, account: RegisteredAccount, cursor: dict[str, str], previous: AccountSnapshot | None
    ) -> Estimate:
        """Units (1 per list call) of one pull: the channel (unless the batch read it), the uploads since
        the last run (a full run: the window, as last time), and the comments: on a full or first run
        all the channel's threads, as many pages as last time; on a nightly run one videos.list per 50
        videos of the window, then only the videos whose comment count moved (not known before the run)."""
        before = dict(previous.requests) if previous is not None else {}
        requests: dict[str, int] = {}
        if not isinstance(self.context.prefetched, dict) and not self.context.prefetched:
            requests["channels.list"] = 1
        stored = None if self.context.full else stored_counts(cursor, self._window_start())
        incremental = not self.context.full and CURSOR_NEWEST_VIDEO_ID in cursor
        if not incremental:
            requests["playlistItems.list"] = max(1, before.get("playlistItems.list", 0))
        elif CURSOR_VIDEO_COUNT not in cursor:
            requests["playlistItems.list"] = 1  # else only if the video count moved (not known before the run)
        if stored is None:
            requests["commentThreads.list"] = max(1, before.get("commentThreads.list", 0))
            basis = "comments: every thread of the window"
        else:
            requests["videos.list"] = max(1, math.ceil(len(stored) / IDS_PER_CALL))
            basis = "comments: comment counts of the window's videos; threads of those whose count moved"
        units = sum(requests.values()) * LIST_COST
        return Estimate(requests, units, {}, basis)

    def _counted_by_threads(
        self, builder: SnapshotBuilder, stored: dict[str, tuple[str, str]]
    ) -> dict[str, tuple[str, str]] | None:
        """After reading every thread: each window video's comment count as the threads show it (a thread
        is its top comment and its replies). The next nightly run compares YouTube's count with it."""
        if not self._window_read:
            return None  # only the new uploads were read: the older videos' counts are not known
        counts = dict(stored)
        for post in builder.snapshot.posts:
            if post.id and post.created_at is not None:
                counts[post.id] = (str(self._thread_counts.get(post.id, 0)), f"{post.created_at:%Y-%m-%d}")
        return counts

    def _changed_comments(
        self,
        builder: SnapshotBuilder,
        client: Any,
        owner: Identity,
        stored: dict[str, tuple[str, str]],
        progress: _Progress,
    ) -> dict[str, tuple[str, str]]:
        """A nightly run: the window videos' comment counts (videos.list, statistics, 50 a call), then the
        threads of each video whose count moved or is new. Unchanged videos keep the comments the last run
        read (the run carries them forward); an edit that leaves a count unchanged waits for a full run."""
        days = {video: day for video, (_, day) in stored.items()}
        for post in builder.snapshot.posts:
            if post.id and post.created_at is not None:
                days[post.id] = f"{post.created_at:%Y-%m-%d}"
        now: dict[str, str] = {}
        ids = sorted(days)
        for start in range(0, len(ids), IDS_PER_CALL):
            chunk = ids[start : start + IDS_PER_CALL]
            request = client.videos().list(part="statistics", id=",".join(chunk), maxResults=IDS_PER_CALL)
            for item in self._execute(builder, "videos.list", request).get("items") or []:
                statistics = item.get("statistics")
                if not isinstance(statistics, dict):
                    now[str(item.get("id"))] = "?"  # no count to compare: read its comments, as before
                else:  # YouTube leaves commentCount out when comments are turned off
                    now[str(item.get("id"))] = str(statistics.get("commentCount", "-"))
        # A video videos.list no longer returns (deleted or made private) has no comments to read.
        changed = [v for v in ids if v in now and (now[v] == "?" or now[v] != stored.get(v, ("", ""))[0])]
        since = self._window_start()
        for video in changed:
            if now[video] in ("0", "-") and video not in stored:
                continue  # a new video nobody commented on yet
            self._video_comments(builder, client, video, owner, since, progress)
        builder.snapshot.notes.append(
            f"comments: re-read for the {len(changed)} of {len(now)} video(s) of the window whose comment count "
            "changed since the last run; the others' were read before (an edit that leaves the count unchanged is "
            "seen at the next full run)"
        )
        return {v: (now[v], days[v]) for v in ids if v in now}

    def _video_comments(
        self, builder: SnapshotBuilder, client: Any, video: str, owner: Identity, since: datetime, progress: _Progress
    ) -> None:
        pages = self._pages(
            builder,
            "commentThreads.list",
            client.commentThreads(),
            part="snippet,replies",
            videoId=video,
            maxResults=100,
            order="time",
            textFormat="plainText",
        )
        try:
            for page in pages:
                for thread in page.get("items", []):
                    self._take_thread(builder, client, thread, owner, since, progress)
        except PlatformError as error:
            if not is_comments_disabled(error):
                raise
            builder.snapshot.notes.append(f"comments are turned off on video {video} (403 commentsDisabled)")

    def estimate_discovery(self, schools: list[str]) -> Estimate:
        if not self.options.discovery_search:
            return Estimate()
        return Estimate(
            {"search.list": len(schools)},
            SEARCH_COST * len(schools),
            {},
            f"discovery: one channel search per school ({len(schools)}, policy connectors.youtube.discovery_search)",
        )

    def search_accounts(self, query: str, builder: SnapshotBuilder) -> list[Profile]:
        """Channels whose name or description matches `query` (search.list with the API key)."""
        api_key = self.settings.youtube_api_key
        if api_key is None:
            raise PlatformError(ErrorKind.AUTH, "no YouTube API key", fix="set YOUTUBE_API_KEY")
        client = api_key_client(api_key.get_secret_value())
        request = client.search().list(part="snippet", type="channel", q=query, maxResults=SEARCH_RESULTS)
        response: JSON = self.call(builder, "search.list", request.execute, units=SEARCH_COST)
        return [parse.search_result_profile(item) for item in response.get("items") or [] if parse.is_channel(item)]

    # --- credentials ------------------------------------------------------------------------

    def _owner_token(self, account: RegisteredAccount) -> OwnerToken | None:
        """The channel owner's refresh token: per account first, then the division-wide one."""
        settings = self.settings
        variable = settings.account_variable(account.key, REFRESH_TOKEN_NAME)
        secret = settings.account_secret(account.key, REFRESH_TOKEN_NAME)
        if secret is None and settings.youtube_refresh_token is not None:
            secret, variable = settings.youtube_refresh_token, REFRESH_TOKEN_NAME
        self._refresh_variable = variable
        if secret is None:
            return None
        client_secret = settings.youtube_client_secret
        return OwnerToken(
            refresh_token=secret.get_secret_value(),
            client_id=settings.youtube_client_id,
            client_secret=client_secret.get_secret_value() if client_secret else None,
            variable=variable,
        )

    def _public_client(self, builder: SnapshotBuilder, api_key: str | None, owner_token: OwnerToken | None) -> Any:
        if api_key:
            return api_key_client(api_key)
        if owner_token is not None:
            return self._owner_client(builder, owner_token)
        raise PlatformError(
            ErrorKind.AUTH,
            "no YouTube credentials",
            fix="set YOUTUBE_API_KEY (public channel data and comments) and, to list subscribers, the channel "
            f"owner's refresh token in {self._refresh_variable} with YOUTUBE_CLIENT_ID and YOUTUBE_CLIENT_SECRET",
        )

    def _owner_client(self, builder: SnapshotBuilder, token: OwnerToken) -> Any:
        """The owner's client, its access token freshly refreshed (a token request, no quota unit)."""
        if not (token.client_id and token.client_secret):
            raise PlatformError(
                ErrorKind.AUTH,
                f"{token.variable} is set but the OAuth client is not",
                fix="set YOUTUBE_CLIENT_ID and YOUTUBE_CLIENT_SECRET (the OAuth client the token was issued to)",
            )
        if self._owner is None:
            owner = owner_client(token)
            self.call(builder, "oauth2.token", owner.refresh)
            self._owner = owner.service
        return self._owner

    # --- calls ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _collection(self, builder: SnapshotBuilder, capability: Capability) -> Iterator[_Progress]:
        """builder.collect, plus: a quota or rate-limit stop after some items is `partial`."""
        progress = _Progress()
        with builder.collect(capability):
            try:
                yield progress
            except PlatformError as error:
                if error.kind == ErrorKind.QUOTA and error.retry_at is None:
                    error.retry_at = next_quota_reset(self.context.as_of)
                if progress.items and error.kind in (ErrorKind.QUOTA, ErrorKind.RATE_LIMITED):
                    builder.mark_partial(capability, error.describe())
                raise

    def _execute(self, builder: SnapshotBuilder, endpoint: str, request: Any) -> JSON:
        response: JSON = self.call(builder, endpoint, request.execute, units=LIST_COST)
        return response

    def _pages(self, builder: SnapshotBuilder, endpoint: str, resource: Any, **params: Any) -> Iterator[JSON]:
        """Every page of a list method, through the client's own `list_next` (1 unit each)."""
        request = resource.list(**params)
        while request is not None:
            response = self._execute(builder, endpoint, request)
            yield response
            request = resource.list_next(request, response)

    def _window_start(self) -> datetime:
        return self.context.window_start

    # --- collections ------------------------------------------------------------------------

    def _channel(self, builder: SnapshotBuilder, client: Any, account: RegisteredAccount) -> JSON:
        if account.platform_id:
            lookup = {"id": account.platform_id}
        elif account.handle:
            lookup = {"forHandle": "@" + account.handle.lstrip("@")}
        else:
            raise PlatformError(ErrorKind.BAD_REQUEST, "the registry entry has neither platform_id nor handle")
        response = self._execute(builder, "channels.list", client.channels().list(part=CHANNEL_PARTS, **lookup))
        items = response.get("items") or []
        if not items:
            wanted = next(iter(lookup.values()))
            raise PlatformError(
                ErrorKind.NOT_FOUND,
                f"YouTube has no channel {wanted}",
                code="channelNotFound",
                fix="check platform_id / handle in the registry; the channel may be deleted or terminated",
            )
        return self._take_channel(builder, items[0])

    @staticmethod
    def _take_channel(builder: SnapshotBuilder, channel: JSON) -> JSON:
        builder.snapshot.profile = parse.channel_profile(channel)
        builder.snapshot.notes += parse.channel_notes(channel)
        return channel

    def _uploads(
        self,
        builder: SnapshotBuilder,
        client: Any,
        channel: JSON,
        owner: Identity,
        cursor: dict[str, str],
        progress: _Progress,
    ) -> None:
        """Uploads newest first, until the look-back window or the previous run's newest video."""
        snapshot = builder.snapshot
        snapshot.cursor.update({k: cursor[k] for k in (CURSOR_NEWEST_VIDEO_ID, CURSOR_NEWEST_VIDEO_AT) if k in cursor})
        videos = snapshot.profile.counts.get("videos") if snapshot.profile else None
        if videos is not None:
            snapshot.cursor[CURSOR_VIDEO_COUNT] = str(videos)
        if not self.context.full and CURSOR_NEWEST_VIDEO_ID in cursor and cursor.get(CURSOR_VIDEO_COUNT) == str(videos):
            # The channel's video count has not moved: nothing uploaded (the run keeps the window's videos).
            # As on X, an upload and a deletion on the same day cancel out until the next full run.
            return
        playlist = parse.uploads_playlist(channel)
        if playlist is None:
            snapshot.notes.append("the channel has no uploads playlist: no videos to audit")
            return
        known = None if self.context.full else cursor.get(CURSOR_NEWEST_VIDEO_ID)
        self._window_read = known is None  # every upload of the window, not only the new ones
        since = self._window_start()
        pages = self._pages(
            builder,
            "playlistItems.list",
            client.playlistItems(),
            part="snippet,contentDetails,status",
            playlistId=playlist,
            maxResults=50,
        )
        try:
            for page in pages:
                if not self._take_uploads(page, owner, known, since, builder, progress):
                    break
        except PlatformError as error:
            if error.code != PLAYLIST_NOT_FOUND:
                raise
            videos = snapshot.profile.counts.get("videos") if snapshot.profile else None
            if videos == 0 and not progress.items:
                # YouTube answers so for the uploads playlist of a channel that never uploaded.
                snapshot.notes.append(
                    "the channel counts 0 videos and YouTube has no uploads playlist for it (404 playlistNotFound): "
                    "no videos to audit"
                )
                return
            # The channel exists (it was just read): say what was not found, not "check the channel id".
            raise PlatformError(
                ErrorKind.NOT_FOUND,
                f"the channel's uploads playlist {playlist} was not found, so its videos could not be read"
                + (f" (the channel counts {videos} videos)" if videos else ""),
                status=error.status,
                code=error.code,
                fix="the videos stay unaudited until YouTube lists them; if this persists, check the channel in "
                "YouTube Studio",
            ) from error
        newest = max((p for p in snapshot.posts if p.created_at), key=lambda p: p.created_at or since, default=None)
        if newest is not None:
            snapshot.cursor[CURSOR_NEWEST_VIDEO_ID] = newest.id
            snapshot.cursor[CURSOR_NEWEST_VIDEO_AT] = f"{newest.created_at:%Y-%m-%dT%H:%M:%SZ}"

    @staticmethod
    def _take_uploads(
        page: JSON, owner: Identity, known: str | None, since: datetime, builder: SnapshotBuilder, progress: _Progress
    ) -> bool:
        """Add a page's uploads; False once the window or the known newest video is reached."""
        for item in page.get("items", []):
            published = parse.upload_published(item)
            if (known and parse.upload_video_id(item) == known) or (published and published < since):
                return False
            post = parse.upload_post(item, owner)
            if post is not None:
                builder.snapshot.posts.append(post)
                progress.items += 1
        return True

    def _comments(
        self, builder: SnapshotBuilder, client: Any, channel: JSON, owner: Identity, progress: _Progress
    ) -> None:
        """Every comment thread on the channel's videos in the window (public comments: API key
        suffices; under OAuth these two methods need the youtube.force-ssl scope)."""
        since = self._window_start()
        pages = self._pages(
            builder,
            "commentThreads.list",
            client.commentThreads(),
            part="snippet,replies",
            allThreadsRelatedToChannelId=channel["id"],
            maxResults=100,
            order="time",
            textFormat="plainText",
        )
        try:
            for page in pages:
                threads = page.get("items", [])
                for thread in threads:
                    self._take_thread(builder, client, thread, owner, since, progress)
                oldest = parse.thread_latest(threads[-1]) if threads else None
                if oldest is not None and oldest < since:
                    break  # threads come newest first: the rest are older than the window
        except PlatformError as error:
            if not is_comments_disabled(error):
                raise
            builder.snapshot.notes.append(
                "comments are turned off on this channel (403 commentsDisabled, normal for made-for-kids "
                "content): there are no comments to audit"
            )

    def _take_thread(
        self,
        builder: SnapshotBuilder,
        client: Any,
        thread: JSON,
        owner: Identity,
        since: datetime,
        progress: _Progress,
    ) -> None:
        latest = parse.thread_latest(thread)
        if latest is not None and latest < since:
            return
        snippet = thread.get("snippet") or {}
        video = snippet.get("videoId") or (snippet.get("topLevelComment") or {}).get("snippet", {}).get("videoId")
        if video:
            self._thread_counts[str(video)] += 1 + int(snippet.get("totalReplyCount", 0) or 0)
        replies = parse.embedded_replies(thread)
        if parse.needs_reply_listing(thread):
            replies = self._replies(builder, client, thread)
        for interaction in parse.thread_interactions(thread, replies, owner):
            if interaction.created_at is None or interaction.created_at >= since:
                builder.snapshot.interactions.append(interaction)
                progress.items += 1

    def _replies(self, builder: SnapshotBuilder, client: Any, thread: JSON) -> list[JSON]:
        """Every reply of a thread; the embedded ones if the thread was deleted meanwhile (404)."""
        replies: list[JSON] = []
        pages = self._pages(
            builder,
            "comments.list",
            client.comments(),
            part="snippet",
            parentId=thread["snippet"]["topLevelComment"]["id"],
            maxResults=100,
            textFormat="plainText",
        )
        try:
            for page in pages:
                replies += page.get("items", [])
        except PlatformError as error:
            if error.kind != ErrorKind.NOT_FOUND:
                raise
            return parse.embedded_replies(thread)
        return replies

    def _subscribers(self, builder: SnapshotBuilder, channel: JSON, token: OwnerToken | None) -> None:
        """Subscribers: only the channel owner's OAuth token may list them, and only public ones."""
        if token is None:
            builder.mark(
                Capability.PARTICIPANTS,
                CollectionState.UNAVAILABLE,
                "YouTube shows a channel's subscribers only to its owner: store the owner's OAuth refresh token "
                f"(scope youtube.readonly) in {self._refresh_variable} to audit them",
            )
            return
        with self._collection(builder, Capability.PARTICIPANTS) as progress:
            client = self._owner_client(builder, token)
            self._check_owner(builder, client, channel["id"], token)
            pages = self._pages(
                builder,
                "subscriptions.list",
                client.subscriptions(),
                part="subscriberSnippet",
                mySubscribers=True,
                maxResults=50,
            )
            unreadable = 0
            for page in pages:
                for item in page.get("items", []):
                    identity = parse.subscriber_identity(item)
                    if identity is None:
                        unreadable += 1
                        continue
                    builder.snapshot.participants.append(identity)
                    progress.items += 1
            total = builder.snapshot.profile.counts.get("subscribers") if builder.snapshot.profile else None
            if unreadable:
                self._unreadable_subscribers(builder, unreadable, progress.items, total)
                return
            note = (
                f"subscribers are a lower bound: {progress.items} listed"
                + (f" of {total}" if total is not None else "")
                + "; YouTube lists only subscribers whose subscriptions are public, and may cap the list"
            )
            builder.snapshot.notes.append(note)
            builder.mark(Capability.PARTICIPANTS, CollectionState.COMPLETE, note)

    @staticmethod
    def _unreadable_subscribers(builder: SnapshotBuilder, unreadable: int, listed: int, total: int | None) -> None:
        """Subscriptions without `subscriberSnippet` name no subscriber (e.g. a channel's own subscriptions
        answered instead): the listing is not "complete, N listed", it is malformed, or partial if some were."""
        detail = (
            f"{unreadable} of {unreadable + listed} subscriptions.list items carry no subscriberSnippet "
            "(asked for part=subscriberSnippet, mySubscribers): they name no subscriber"
            + (f"; the channel counts {total} subscribers" if total is not None else "")
        )
        if not listed:
            raise PlatformError(ErrorKind.MALFORMED, detail, code="noSubscriberSnippet")
        builder.snapshot.collections[Capability.PARTICIPANTS.value] = CollectionStatus(
            state=CollectionState.PARTIAL,
            reason=scrub(f"malformed: {detail}; {listed} subscribers listed from the others"),
            error=ErrorKind.MALFORMED,
        )

    def _check_owner(self, builder: SnapshotBuilder, client: Any, channel_id: str, token: OwnerToken) -> None:
        """`mine=True` names the channels the token may act as: the audited one must be among them."""
        response = self._execute(builder, "channels.list", client.channels().list(part="id", mine=True))
        owned = [item.get("id") for item in response.get("items", [])]
        if channel_id not in owned:
            raise PlatformError(
                ErrorKind.PERMISSION,
                f"the OAuth token in {token.variable} acts as {', '.join(map(str, owned)) or 'no channel'}, "
                f"not as {channel_id}",
                code="notChannelOwner",
                fix=f"store a refresh token of the Google account that owns {channel_id} in {token.variable}",
            )


def stored_counts(cursor: Mapping[str, str], window_start: datetime) -> dict[str, tuple[str, str]] | None:
    """The comment counts the last run recorded for the videos still in the window: id -> (count, day);
    None when it recorded none (a first run, or its comments were not read completely)."""
    if CURSOR_COMMENT_COUNTS not in cursor:
        return None
    cutoff = f"{window_start:%Y-%m-%d}"
    found: dict[str, tuple[str, str]] = {}
    for entry in cursor[CURSOR_COMMENT_COUNTS].split():
        video, _, rest = entry.partition(":")
        count, _, day = rest.rpartition(":")
        if video and count and day >= cutoff:
            found[video] = (count, day)
    return found
