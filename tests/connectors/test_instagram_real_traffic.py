"""The Instagram connector against the real Graph recordings in shared/reference/real-traffic/instagram/.

Each body the connector asks for is served, read-only and as recorded, to its request (vcrpy matching on
method and path: the recordings are from v6.0-v11.0, the connector asks v26.0). They carry what
hand-built cassettes may lack: media without `caption`, comments with default fields only (no `from`, no
`username`), a last comments page without any `paging` key, a last media page with only `previous`, and
`paging.next` links holding the placeholder `access_token`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from auditor.policy import Policy
from connectors.instagram import InstagramConnector
from connectors.recording import make_vcr
from connectors.resilience import Deadline
from connectors.scrub import forget_secrets, install_log_scrubbing
from models.snapshot import AccountSnapshot, CollectionState
from models.tables import RegisteredAccount
from tests.contexts import context_for
from tests.real_traffic import real_traffic

REAL = real_traffic("instagram")
GRAPH = "https://graph.facebook.com/v26.0"
TOKEN = "replayIgToken0Qx7"
JSON = dict[str, Any]
EMPTY = json.dumps({"data": []})

# Recordings of requests the connector never makes, and why.
NOT_REQUESTED = {
    "ig_business_discovery_user.json": "business discovery reads another account by name: no discovery lookup",
    "ig_media_node_carousel.json": "single media nodes: media come from the account's /media listing",
    "ig_media_node_many_fields.json": "single media nodes: media come from the account's /media listing",
    "ig_media_by_ids.json": "multi-id reads (GET /?ids=): media come from the account's /media listing",
    "ig_media_children.json": "carousel children: the caption, comments and permalink are the album's own",
    "ig_comment_node.json": "single comment nodes: comments come from each media's /comments",
    "ig_comments_by_ids.json": "multi-id reads (GET /?ids=): comments come from each media's /comments",
    "ig_mentioned_media.json": "mentioned_media needs a media id from the mentions webhook, which a nightly run lacks",
    "ig_user_stories.json": "stories (24 hours) are not read",
    "ig_stories_default_fields.json": "stories (24 hours) are not read",
    "ig_story_node.json": "stories (24 hours) are not read",
}
REQUESTED = {
    "ig_user_default_fields.json",
    "ig_user_media_p1.json",
    "ig_user_media_p2.json",
    "ig_media_comments_p1.json",
    "ig_media_comments_p2.json",
    "ig_comment_replies.json",
}

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"the shared reference recordings are not available ({REAL})")


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("ACCOUNT_", "FACEBOOK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FACEBOOK_APP_ID", "000000000000000")
    monkeypatch.setenv("FACEBOOK_APP_SECRET", "replay-app-secret")
    monkeypatch.setenv("ACCOUNT_REAL_INSTAGRAM_TOKEN", TOKEN)
    yield
    forget_secrets()


def text(name: str) -> str:
    return (REAL / name).read_text(encoding="utf-8")


def body(name: str) -> Any:
    return json.loads(text(name))


@dataclass
class Replay:
    snapshot: AccountSnapshot
    all_played: bool
    sent: list[str]
    logs: str


def served(path: str, data: str, status: int = 200) -> JSON:
    return {
        "request": {"body": None, "headers": {}, "method": "GET", "uri": f"{GRAPH}{path}"},
        "response": {
            "status": {"code": status, "message": "recorded"},
            "headers": {"Content-Type": ["application/json; charset=UTF-8"]},
            "body": {"string": data},
        },
    }


def replay(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    ig_id: str,
    responses: list[JSON],
    as_of: datetime,
    lookback_days: int = 36500,
) -> Replay:
    (tmp_path / "real.yaml").write_text(yaml.safe_dump({"interactions": responses, "version": 1}), encoding="utf-8")
    sent: list[str] = []
    original_send = requests.Session.send

    def spy(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        sent.append(str(request.url))
        return original_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", spy)
    caplog.set_level(logging.DEBUG)
    for noisy in ("urllib3", "vcr", "facebook_business"):
        caplog.set_level(logging.DEBUG, logger=noisy)
    install_log_scrubbing()
    context = context_for(
        InstagramConnector,
        policy=Policy(lookback_days=lookback_days),
        as_of=as_of,
        deadline=Deadline(60),
        full=True,
        sleep=lambda seconds: None,
    )
    account = RegisteredAccount(
        key="real", platform="instagram", connector="instagram", platform_id=ig_id, school="-", purpose="-",
        kind="joint", audience="public",
    )  # fmt: skip
    with make_vcr(tmp_path, match_on=("method", "path")).use_cassette("real.yaml") as recording:
        snapshot = InstagramConnector(context).pull(account, {})
        return Replay(snapshot, recording.all_played, sent, caplog.text)


def test_every_recording_is_covered() -> None:
    assert {p.name for p in REAL.glob("*.json")} == REQUESTED | set(NOT_REQUESTED)
    assert not REQUESTED & set(NOT_REQUESTED)


def test_profile_recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    node = body("ig_user_default_fields.json")
    ig = node["id"]
    responses = [served(f"/{ig}/", text("ig_user_default_fields.json")), served("/me/accounts", EMPTY)]
    responses += [served(f"/{ig}/{edge}", EMPTY) for edge in ("media", "tags")]
    run = replay(tmp_path, monkeypatch, caplog, ig, responses, datetime(2021, 8, 20, tzinfo=UTC))
    assert run.all_played
    profile = run.snapshot.profile
    assert profile is not None
    assert (profile.id, profile.handle, profile.name) == (ig, node["username"], node["name"])
    assert profile.counts == {"followers": node["followers_count"], "media": node["media_count"]}  # no follows_count
    assert run.snapshot.collections["profile"].state == CollectionState.COMPLETE
    assert run.snapshot.collections["admins"].state == CollectionState.NOT_SUPPORTED  # no linked Page: declared


def test_media_comments_and_replies_recordings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two cursor-paged media pages (p2 only `previous`), two comments pages (p2 without `paging`) whose
    comments have default fields only: no author, so the collection says so instead of reporting a quiet
    account. The replies recording answers the replies edge of a comment whose nested replies had more."""
    node = body("ig_user_default_fields.json")
    ig = node["id"]
    media = [*body("ig_user_media_p1.json")["data"], *body("ig_user_media_p2.json")["data"]]
    commented = [m for m in media if m.get("comments_count")]
    assert [m["id"] for m in commented] == ["17896622936197745"]  # the real p1's second media: 6 comments
    first_comment = body("ig_media_comments_p1.json")["data"][0]
    with_more_replies = json.loads(text("ig_media_comments_p1.json"))
    with_more_replies["data"][0]["replies"] = {
        "data": [],
        "paging": {"next": f"{GRAPH}/{first_comment['id']}/replies?access_token=access_token&after=after"},
    }
    responses = [
        served(f"/{ig}/", text("ig_user_default_fields.json")),
        served("/me/accounts", EMPTY),
        served(f"/{ig}/media", text("ig_user_media_p1.json")),
        served(f"/{ig}/media", text("ig_user_media_p2.json")),
        served(f"/{commented[0]['id']}/comments", json.dumps(with_more_replies)),
        served(f"/{commented[0]['id']}/comments", text("ig_media_comments_p2.json")),
        served(f"/{first_comment['id']}/replies", text("ig_comment_replies.json")),
        served(f"/{ig}/tags", EMPTY),
    ]
    newest = max(datetime.strptime(m["timestamp"], "%Y-%m-%dT%H:%M:%S%z") for m in media)
    run = replay(tmp_path, monkeypatch, caplog, ig, responses, newest + timedelta(days=1))
    assert run.all_played
    snapshot = run.snapshot
    assert [p.id for p in snapshot.posts] == [m["id"] for m in media]
    assert snapshot.posts[0].text == "" and snapshot.posts[2].text == "ALBUM"  # p1 has no captions
    assert snapshot.requests["GET /{ig-user-id}/media"] == 2  # p2 has only `previous`: the listing ends
    assert snapshot.requests["GET /{ig-media-id}/comments"] == 2  # p2 has no `paging` at all: no third
    assert snapshot.requests["GET /{ig-comment-id}/replies"] == 1
    comments = len(body("ig_media_comments_p1.json")["data"]) + len(body("ig_media_comments_p2.json")["data"])
    replies = len(body("ig_comment_replies.json")["data"])
    assert snapshot.interactions == [] and snapshot.participants == []
    partial = snapshot.collections["interactions"]
    assert partial.state == CollectionState.PARTIAL
    assert f"{comments + replies} comments came without their author" in (partial.reason or "")
    # The second pages were asked with the cursor, and with our own token only.
    second = next(url for url in run.sent if "/media" in url and "after=after" in url)
    assert second.count("access_token=") == 1
    for url in run.sent:
        assert url.count("access_token=") == 1 and f"access_token={TOKEN}" in url
    stored = snapshot.model_dump_json()
    assert "access_token" not in stored and TOKEN not in run.logs
    assert "urllib3.connectionpool" in run.logs  # DEBUG logging of every request was on


def test_the_look_back_window_stops_the_media_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A 20-day window on 20 August 2021: the real p1 (13 August) is inside it, p2 (26 July, 9 June) is not,
    so p2's media are left out and the listing ends there (no third request)."""
    ig = body("ig_user_default_fields.json")["id"]
    responses = [
        served(f"/{ig}/", text("ig_user_default_fields.json")),
        served("/me/accounts", EMPTY),
        served(f"/{ig}/media", text("ig_user_media_p1.json")),
        served(f"/{ig}/media", text("ig_user_media_p2.json")),
        served("/17896622936197745/comments", text("ig_media_comments_p2.json")),
        served(f"/{ig}/tags", EMPTY),
    ]
    run = replay(tmp_path, monkeypatch, caplog, ig, responses, datetime(2021, 8, 20, tzinfo=UTC), lookback_days=20)
    assert [p.id for p in run.snapshot.posts] == [m["id"] for m in body("ig_user_media_p1.json")["data"]]
    assert run.snapshot.requests["GET /{ig-user-id}/media"] == 2  # p1 is all new: p2 is read, and ends the window
    assert run.snapshot.collections["posts"].state == CollectionState.COMPLETE
