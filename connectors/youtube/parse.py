"""YouTube Data API resources -> the normalised snapshot types. Pure functions, no I/O.

Only what a rule needs is kept: ids, names, times, text and links. Profile images, like counts
and etags are dropped (commenters are often students, who are minors).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from models.snapshot import Identity, Interaction, Post, Profile

PLATFORM = "youtube"
HASHTAG = re.compile(r"#\w+")
# `authorChannelUrl` as YouTube gives it for a commenter shown by name: http://www.youtube.com/channel/UC...
CHANNEL_IN_URL = re.compile(r"/channel/(UC[\w-]+)")

JSON = dict[str, Any]


def when(value: str | None) -> datetime | None:
    """YouTube times: RFC 3339, `2019-12-01T03:36:55.000Z` or `2007-08-23T00:34:43Z`."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def hashtags(*texts: str) -> list[str]:
    return sorted({tag for text in texts for tag in HASHTAG.findall(text or "")})


def channel_url(channel_id: str) -> str:
    return f"https://www.youtube.com/channel/{channel_id}"


def video_url(video_id: str, comment_id: str | None = None) -> str:
    url = f"https://www.youtube.com/watch?v={video_id}"
    return f"{url}&lc={comment_id}" if comment_id else url


def channel_identity(channel: JSON) -> Identity:
    snippet = channel.get("snippet", {})
    return Identity(
        platform=PLATFORM,
        id=channel["id"],
        handle=(snippet.get("customUrl") or "").lstrip("@") or None,
        display_name=snippet.get("title"),
        url=channel_url(channel["id"]),
    )


def is_channel(item: JSON) -> bool:
    """A search.list result that is a channel (kind youtube#searchResult, id.kind youtube#channel)."""
    ident = item.get("id") or {}
    return ident.get("kind") == "youtube#channel" and bool(ident.get("channelId"))


def search_result_profile(item: JSON) -> Profile:
    """A channel search result: id, title and description (search results carry no handle or counts)."""
    snippet = item.get("snippet", {})
    channel_id = item["id"]["channelId"]
    return Profile(
        id=channel_id,
        name=snippet.get("title") or snippet.get("channelTitle"),
        url=channel_url(channel_id),
        description=snippet.get("description"),
    )


def channel_profile(channel: JSON) -> Profile:
    snippet = channel.get("snippet", {})
    statistics = channel.get("statistics", {})
    status = channel.get("status", {})
    counts = {
        name: int(statistics[field])
        for name, field in (("subscribers", "subscriberCount"), ("videos", "videoCount"), ("views", "viewCount"))
        if str(statistics.get(field, "")).isdigit()
    }
    privacy = status.get("privacyStatus")
    return Profile(
        id=channel["id"],
        handle=(snippet.get("customUrl") or "").lstrip("@") or None,
        name=snippet.get("title"),
        url=channel_url(channel["id"]),
        # A channel's audience is never closed: anyone may subscribe and comment (paid members aside).
        closed=None if privacy is None else privacy == "private",
        published=None if privacy is None else privacy == "public",
        description=snippet.get("description"),
        counts=counts,
    )


def channel_notes(channel: JSON) -> list[str]:
    status = channel.get("status", {})
    statistics = channel.get("statistics", {})
    notes = []
    if status.get("madeForKids") or status.get("selfDeclaredMadeForKids"):
        notes.append(
            "channel is made for kids (status.madeForKids): YouTube turns comments off on its videos, "
            "so there are no comments to audit"
        )
    if statistics.get("hiddenSubscriberCount"):
        notes.append("the channel hides its subscriber count")
    return notes


def uploads_playlist(channel: JSON) -> str | None:
    related = channel.get("contentDetails", {}).get("relatedPlaylists", {})
    return related.get("uploads") or None


def upload_video_id(item: JSON) -> str | None:
    return item.get("contentDetails", {}).get("videoId") or item.get("snippet", {}).get("resourceId", {}).get("videoId")


def upload_published(item: JSON) -> datetime | None:
    """When the video was published (the playlist item's own time is when it joined the playlist)."""
    return when(item.get("contentDetails", {}).get("videoPublishedAt") or item.get("snippet", {}).get("publishedAt"))


def upload_post(item: JSON, owner: Identity) -> Post | None:
    video_id = upload_video_id(item)
    if not video_id:
        return None
    snippet = item.get("snippet", {})
    title, description = snippet.get("title", ""), snippet.get("description", "")
    return Post(
        id=video_id,
        created_at=upload_published(item),
        text=f"{title}\n{description}".strip(),
        url=video_url(video_id),
        author=owner,
        hashtags=hashtags(title, description),
    )


def comment_author(comment: JSON) -> Identity | None:
    """The author of a comment; None when YouTube gives no channel id (a deleted account)."""
    snippet = comment.get("snippet", {})
    url = snippet.get("authorChannelUrl")
    # Without authorChannelId, the /channel/UC... URL still names the commenter's channel: keying them by
    # display name alone would merge namesakes and miss a known identity.
    in_url = CHANNEL_IN_URL.search(url) if isinstance(url, str) else None
    channel_id = (snippet.get("authorChannelId") or {}).get("value") or (in_url.group(1) if in_url else None)
    name = snippet.get("authorDisplayName")
    if not channel_id and not name:
        return None
    # Since 2023 YouTube shows commenters by handle: a display name "@name" is that handle.
    handle = name[1:] if isinstance(name, str) and name.startswith("@") else None
    return Identity(
        platform=PLATFORM,
        id=channel_id or None,
        handle=handle,
        display_name=name,
        url=url or (channel_url(channel_id) if channel_id else None),
    )


def comment_text(comment: JSON) -> str:
    snippet = comment.get("snippet", {})
    return str(snippet.get("textOriginal") or snippet.get("textDisplay") or "")


def comment_time(comment: JSON) -> datetime | None:
    return when(comment.get("snippet", {}).get("publishedAt"))


def thread_latest(thread: JSON) -> datetime | None:
    """The newest activity a thread shows: its top comment or an embedded reply."""
    top = thread.get("snippet", {}).get("topLevelComment", {})
    times = [comment_time(top), when(top.get("snippet", {}).get("updatedAt"))]
    times += [comment_time(reply) for reply in thread.get("replies", {}).get("comments", [])]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def embedded_replies(thread: JSON) -> list[JSON]:
    return list(thread.get("replies", {}).get("comments", []))


def needs_reply_listing(thread: JSON) -> bool:
    """`replies` embeds only a few replies; comments.list(parentId=...) has the rest."""
    total = int(thread.get("snippet", {}).get("totalReplyCount", 0) or 0)
    return total > len(embedded_replies(thread))


def thread_interactions(thread: JSON, replies: list[JSON], channel: Identity) -> list[Interaction]:
    """A top-level comment (actor -> the channel that owns the video) and its replies
    (actor -> the author of the comment replied to)."""
    snippet = thread.get("snippet", {})
    top = snippet.get("topLevelComment", {})
    video_id = snippet.get("videoId") or top.get("snippet", {}).get("videoId")
    if video_id:
        thread_id: str | None = video_id  # the video is the root of every comment conversation under it
    else:
        # A channel-discussion thread (no video): the thread is its own root, shown on the channel's page.
        thread_id = thread.get("id") or top.get("id")
    channel_id = snippet.get("channelId") or channel.id
    page = channel_url(channel_id) if channel_id else None

    def place(comment: JSON) -> tuple[str | None, str | None]:
        return thread_id, video_url(video_id, comment.get("id")) if video_id else page

    top_author = comment_author(top)
    found = []
    if top_author is not None:
        found.append(_interaction("comment", top, top_author, channel, video_id, place(top)))
    for reply in replies:
        author = comment_author(reply)
        if author is not None:
            found.append(_interaction("reply", reply, author, top_author, video_id, place(reply)))
    return found


def _interaction(
    kind: str,
    comment: JSON,
    actor: Identity,
    target: Identity | None,
    video_id: str | None,
    place: tuple[str | None, str | None],
) -> Interaction:
    """`place`: (the conversation's root, the comment's URL)."""
    text = comment_text(comment)
    thread_id, url = place
    return Interaction(
        kind=kind,
        actor=actor,
        target=target,
        post_id=video_id,
        thread_id=thread_id,
        created_at=comment_time(comment),
        text=text,
        url=url,
        hashtags=hashtags(text),
    )


def subscriber_identity(subscription: JSON) -> Identity | None:
    """A subscriber from `subscriptions.list(mySubscribers=True, part=subscriberSnippet)`."""
    snippet = subscription.get("subscriberSnippet", {})
    channel_id = snippet.get("channelId")
    if not channel_id:
        return None
    return Identity(platform=PLATFORM, id=channel_id, display_name=snippet.get("title"), url=channel_url(channel_id))
