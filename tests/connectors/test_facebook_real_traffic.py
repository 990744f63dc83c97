"""The Facebook connector against every real Graph recording in shared/reference/real-traffic/facebook/.

Each recorded body is served, read-only and as recorded, to the request that produced it, replayed
through vcrpy matching on method and path only (the recordings are from v2.x-v11 and other Pages;
the connector asks v26.0). They carry what hand-built cassettes lack: comments without `id` or
`from`, errors without `error_subcode`, cursor paging whose last page has `cursors.after` and only
`previous`, time paging whose last page has only `previous`, and `paging.next` URLs holding an
`access_token`. An edge the connector asks for but no recording answers is served as an empty page.
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
from connectors.facebook import FacebookConnector
from connectors.facebook.paging import next_page_params
from connectors.recording import make_vcr
from connectors.resilience import Deadline
from connectors.scrub import forget_secrets, install_log_scrubbing
from models.snapshot import AccountSnapshot, CollectionState, ErrorKind
from models.tables import RegisteredAccount
from tests.contexts import context_for
from tests.real_traffic import real_traffic

REAL = real_traffic("facebook")
GRAPH = "https://graph.facebook.com/v26.0"
TOKEN = "replayPageToken0Qx7"  # the token the connector sends; the recordings hold the placeholder `access_token`
JSON = dict[str, Any]

# Recordings of requests the connector never makes, and why.
NOT_REQUESTED = {
    "group_node.json": "Groups API removed on 22 April 2024: groups are audited through the manual connector",
    "group_feed_p1.json": "Groups API removed on 22 April 2024: groups are audited through the manual connector",
    "groups_by_ids.json": "Groups API removed on 22 April 2024: groups are audited through the manual connector",
    "posts_by_ids.json": "multi-id reads (GET /?ids=): posts come from the Page's own feeds",
    "me_accounts_with_tasks_p1.json": "GET /me/accounts: Pages are read by their registered id, with their own token",
    "me_accounts_legacy_perms.json": "GET /v2.0/me/accounts (before tasks existed): not asked, and a retired shape",
    "me_businesses.json": "GET /me/businesses: the Business id is configured (ACCOUNT_<KEY>_FACEBOOK_BUSINESS_ID)",
    "page_admins_legacy_v2_0.json": "GET /v2.0/{page-id}/admins: retired, replaced by /roles which the connector reads",
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
    monkeypatch.setenv("ACCOUNT_REAL_FACEBOOK_PAGE_TOKEN", TOKEN)
    yield
    forget_secrets()


def text(name: str) -> str:
    return (REAL / name).read_text(encoding="utf-8")


def body(name: str) -> Any:
    return json.loads(text(name))


EMPTY = json.dumps({"data": []})  # what an edge without any item answers


@dataclass
class Replay:
    snapshot: AccountSnapshot
    all_played: bool
    sleeps: list[float]
    sent: list[str]  # every URL the connector sent, token included (never printed)
    logs: str


def served(path: str, data: str, status: int = 200, headers: dict[str, list[str]] | None = None) -> JSON:
    return {
        "request": {"body": None, "headers": {}, "method": "GET", "uri": f"{GRAPH}{path}"},
        "response": {
            "status": {"code": status, "message": "recorded"},
            "headers": headers or {"Content-Type": ["application/json; charset=UTF-8"]},
            "body": {"string": data},
        },
    }


def replay(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    page_id: str,
    responses: list[JSON],
    *,
    as_of: datetime = datetime(2021, 8, 20, tzinfo=UTC),
    lookback_days: int = 60,
) -> Replay:
    """Pull one Page against `responses` (played in order per path), logging at DEBUG."""
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
    sleeps: list[float] = []
    context = context_for(
        FacebookConnector,
        policy=Policy(lookback_days=lookback_days),
        as_of=as_of,
        deadline=Deadline(60),
        full=True,
        sleep=sleeps.append,
    )
    account = RegisteredAccount(
        key="real", platform="facebook", connector="facebook", platform_id=page_id, school="-", purpose="-",
        kind="joint", audience="public",
    )  # fmt: skip
    with make_vcr(tmp_path, match_on=("method", "path")).use_cassette("real.yaml") as recording:
        snapshot = FacebookConnector(context).pull(account, {})
        return Replay(snapshot, recording.all_played, sleeps, sent, caplog.text)


def node_only(node: str, page_id: str) -> list[JSON]:
    """The Page node, then every other edge empty."""
    return [served(f"/{page_id}/", node)] + [
        served(f"/{page_id}/{edge}", EMPTY) for edge in ("roles", "agencies", "posts", "visitor_posts", "tagged")
    ]


def _graph_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


# --- coverage -----------------------------------------------------------------------------------


def test_every_recording_is_covered() -> None:
    covered = set(NOT_REQUESTED) | {name for _case, names in CASES for name in names}
    assert {p.name for p in REAL.glob("*.json")} == covered
    assert not set(NOT_REQUESTED) & {name for _case, names in CASES for name in names}


# --- the Page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["page_node_many_fields.json", "page_node_object_data.json"])
def test_page_node_recordings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    node = body(name)
    run = replay(tmp_path, monkeypatch, caplog, node["id"], node_only(text(name), node["id"]))
    assert run.all_played
    profile = run.snapshot.profile
    assert profile is not None
    assert (profile.id, profile.name, profile.handle, profile.url) == (
        node["id"],
        node["name"],
        node["username"],
        node["link"],
    )
    assert profile.counts == {"fans": node["fan_count"]}  # no followers_count in these recordings: not invented
    assert run.snapshot.collections["profile"].state == CollectionState.COMPLETE


def test_roles_recording_with_cursors_and_no_next_is_one_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`paging.cursors.after` is present on the last page too: only a missing `paging.next` ends a list."""
    recorded = body("page_roles_single_legacy_perms.json")
    responses = node_only(text("page_node_many_fields.json"), "20531316728")
    responses[1] = served("/20531316728/roles", text("page_roles_single_legacy_perms.json"))
    run = replay(tmp_path, monkeypatch, caplog, "20531316728", responses)
    assert run.all_played
    assert run.snapshot.requests["GET /{page-id}/roles"] == 1
    person = recorded["data"][0]
    (admin,) = run.snapshot.admins
    assert (admin.identity.id, admin.identity.display_name, admin.role, admin.is_admin) == (
        person["id"],
        person["name"],
        "Admin",
        True,
    )
    assert run.snapshot.collections["admins"].state == CollectionState.COMPLETE


# --- posts and comments ---------------------------------------------------------------------------


def test_time_paging_link_gives_its_paging_state_and_never_its_token() -> None:
    link = body("page_posts_p1.json")["paging"]["next"]
    assert "access_token=" in link  # as Graph writes it
    assert next_page_params(link) == {"until": "1624385168", "__paging_token": "__paging_token"}


def test_posts_and_comment_recordings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Time-paged posts (the last page has only `previous`), cursor-paged comments without `id` or `from`."""
    node = body("page_node_many_fields.json")
    page_id = node["id"]
    posts_pages = [body("page_posts_p1.json"), body("page_posts_p2.json")]
    comment_pages = [body("post_comments_p1.json"), body("post_comments_p2.json")]
    post_ids = list(dict.fromkeys(p["id"] for page in posts_pages for p in page["data"]))
    responses = [
        served(f"/{page_id}/", text("page_node_many_fields.json")),
        served(f"/{page_id}/roles", text("error_100_missing_permission.json"), status=400),
        served(f"/{page_id}/posts", text("page_posts_p1.json")),
        served(f"/{page_id}/posts", text("page_posts_p2.json")),
        served(f"/{page_id}/visitor_posts", EMPTY),
        served(f"/{page_id}/tagged", EMPTY),
        served(f"/{post_ids[0]}/comments", text("post_comments_p1.json")),
        served(f"/{post_ids[0]}/comments", text("post_comments_p2.json")),
        *[served(f"/{post_id}/comments", EMPTY) for post_id in post_ids[1:]],
    ]
    newest = max(_graph_time(p["created_time"]) for page in posts_pages for p in page["data"])
    run = replay(tmp_path, monkeypatch, caplog, page_id, responses, as_of=newest + timedelta(days=1))
    assert run.all_played
    snapshot = run.snapshot

    assert snapshot.collections["admins"].state == CollectionState.UNAVAILABLE  # the real #100 error
    assert "pages_read_engagement" in (snapshot.collections["admins"].reason or "")
    assert [p.id for p in snapshot.posts] == post_ids  # both pages read, the repeated posts once
    assert snapshot.posts[0].text == posts_pages[0]["data"][0]["message"]
    assert snapshot.requests["GET /{page-id}/posts"] == 2  # p2 has only `previous`: the feed ends there
    assert snapshot.collections["posts"].state == CollectionState.COMPLETE
    # p2 of the comments still has `cursors.after` but no `next`: two requests, not a third.
    assert snapshot.requests["GET /{post-id}/comments"] == 2 + len(post_ids) - 1
    # Comments read without the Page's token come without `from` (and `id`): nobody to attribute them to,
    # and the collection says so instead of reporting a quiet Page.
    comments = sum(len(page["data"]) for page in comment_pages)
    assert snapshot.interactions == [] and snapshot.participants == []
    partial = snapshot.collections["interactions"]
    assert partial.state == CollectionState.PARTIAL
    assert f"{comments} comments came without their author" in (partial.reason or "")

    # The second posts page was asked with the paging state of `paging.next`, and with our own token only:
    # the `access_token` written into the link is never copied into a request, a log or the snapshot.
    second = next(url for url in run.sent if "/posts" in url and "until=" in url)
    assert "until=1624385168" in second and "__paging_token=__paging_token" in second
    for url in run.sent:
        assert url.count("access_token=") == 1 and f"access_token={TOKEN}" in url
    stored = snapshot.model_dump_json()
    assert "access_token" not in stored and "__paging_token" not in stored
    assert snapshot.cursor == {}  # the comments were read partly: the window is read again next time
    assert "urllib3.connectionpool" in run.logs  # DEBUG logging of every request was on
    assert TOKEN not in run.logs and "access_token=access_token" not in run.logs


def test_a_failed_second_page_is_reported_without_its_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The posts link of p1 leads to a token Graph then refuses: the reason holds neither link nor token."""
    page_id = body("page_node_many_fields.json")["id"]
    posts = body("page_posts_p1.json")
    responses = [
        served(f"/{page_id}/", text("page_node_many_fields.json")),
        served(f"/{page_id}/roles", EMPTY),
        served(f"/{page_id}/agencies", EMPTY),
        served(f"/{page_id}/posts", text("page_posts_p1.json")),
        served(f"/{page_id}/posts", text("error_190_463_expired_token.json"), status=400),
    ]
    newest = max(_graph_time(p["created_time"]) for p in posts["data"])
    run = replay(tmp_path, monkeypatch, caplog, page_id, responses, as_of=newest + timedelta(days=1))
    assert run.all_played
    status = run.snapshot.collections["posts"]
    assert status.state == CollectionState.FAILED and status.error == ErrorKind.AUTH
    assert "#190/463" in (status.reason or "") and "expired" in (status.reason or "")
    stored = run.snapshot.model_dump_json()
    assert "access_token" not in stored and TOKEN not in run.logs
    assert "graph.facebook.com/v10.0" not in stored  # the recorded link itself is not stored
    assert run.snapshot.cursor == {}  # an unread window is read again next time


# --- errors ------------------------------------------------------------------------------------------


def _batch_error() -> tuple[int, dict[str, list[str]], str]:
    """The recorded 400 of the batch file: its status, headers (X-App-Usage) and body as Graph sent them."""
    item = body("batch_error_100_with_x_app_usage_headers.json")[0]
    headers = {h["name"]: [h["value"]] for h in item["headers"]}
    return item["code"], headers, item["body"]


@pytest.mark.parametrize(
    ("name", "kind", "state", "says"),
    [
        (
            "error_100_missing_permission.json",
            ErrorKind.PERMISSION,
            CollectionState.UNAVAILABLE,
            "pages_read_engagement",
        ),
        ("error_190_463_expired_token.json", ErrorKind.AUTH, CollectionState.FAILED, "expired"),
        # A 190 without subcode that names permissions: the token is alive, this Page will not take it.
        (
            "error_190_page_permission_impersonate.json",
            ErrorKind.PERMISSION,
            CollectionState.UNAVAILABLE,
            "pages_read_user_content",
        ),
        ("batch_error_100_with_x_app_usage_headers.json", ErrorKind.PERMISSION, CollectionState.UNAVAILABLE, "#100"),
    ],
)
def test_error_recordings_without_subcode_or_with(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    name: str,
    kind: ErrorKind,
    state: CollectionState,
    says: str,
) -> None:
    page_id = "20531316728"
    if name.startswith("batch_"):
        status, headers, data = _batch_error()
        answer = served(f"/{page_id}/", data, status, headers)
    else:
        answer = served(f"/{page_id}/", text(name), 400)
    run = replay(tmp_path, monkeypatch, caplog, page_id, [answer])
    assert run.all_played and run.sleeps == []  # none of these is worth a retry
    profile = run.snapshot.collections["profile"]
    assert (profile.state, profile.error) == (state, kind)
    assert says in (profile.reason or "")
    if kind == ErrorKind.AUTH:
        assert "ACCOUNT_REAL_FACEBOOK_PAGE_TOKEN" in (profile.reason or "")  # the variable to fix
    for collection in ("admins", "posts", "interactions"):  # nothing else could be read: never "clean"
        assert run.snapshot.collections[collection].state != CollectionState.COMPLETE


def test_rate_limit_recording_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    node = body("page_node_object_data.json")
    responses = node_only(text("page_node_object_data.json"), node["id"])
    responses.insert(0, served(f"/{node['id']}/", text("error_4_app_rate_limit.json"), 403))
    run = replay(tmp_path, monkeypatch, caplog, node["id"], responses)
    assert run.all_played and len(run.sleeps) == 1
    assert run.snapshot.requests["GET /{page-id}"] == 2
    assert run.snapshot.collections["profile"].state == CollectionState.COMPLETE


def test_comments_nested_in_the_posts_answer_cost_no_request_unless_graph_has_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A post whose answer nests its comments (the real `comments` with `summary`: none) needs no request of
    its own; a post whose nested comments have a `paging.next` (the real first comments page) has its
    comments edge read, all of it; a post without `comments` (a feed that was not asked for them) too."""
    node = body("page_node_many_fields.json")
    page_id = node["id"]
    quiet = body("post_with_reaction_summaries.json")
    busy, bare = body("page_posts_p1.json")["data"][:2]
    busy = {**busy, "comments": body("post_comments_p1.json")}
    responses = [
        served(f"/{page_id}/", text("page_node_many_fields.json")),
        served(f"/{page_id}/roles", EMPTY),
        served(f"/{page_id}/agencies", EMPTY),
        served(f"/{page_id}/posts", json.dumps({"data": [quiet, busy, bare]})),
        served(f"/{page_id}/visitor_posts", EMPTY),
        served(f"/{page_id}/tagged", EMPTY),
        served(f"/{busy['id']}/comments", text("post_comments_p1.json")),
        served(f"/{busy['id']}/comments", text("post_comments_p2.json")),
        served(f"/{bare['id']}/comments", EMPTY),
    ]
    run = replay(
        tmp_path, monkeypatch, caplog, page_id, responses, as_of=datetime(2021, 8, 20, tzinfo=UTC), lookback_days=36500
    )

    assert run.all_played
    assert [p.id for p in run.snapshot.posts] == [quiet["id"], busy["id"], bare["id"]]
    assert run.snapshot.requests["GET /{post-id}/comments"] == 3  # none for the quiet post
    assert not any(quiet["id"] in url and "/comments" in url for url in run.sent)
    posts_request = next(url for url in run.sent if f"/{page_id}/posts" in url)
    assert "comments.limit%28100%29.summary%28true%29" in posts_request


CASES: list[tuple[str, tuple[str, ...]]] = [
    ("page", ("page_node_many_fields.json", "page_node_object_data.json")),
    ("nested comments", ("post_with_reaction_summaries.json",)),
    ("roles", ("page_roles_single_legacy_perms.json",)),
    (
        "posts and comments",
        ("page_posts_p1.json", "page_posts_p2.json", "post_comments_p1.json", "post_comments_p2.json"),
    ),
    (
        "errors",
        (
            "error_100_missing_permission.json",
            "error_190_463_expired_token.json",
            "error_190_page_permission_impersonate.json",
            "error_4_app_rate_limit.json",
            "batch_error_100_with_x_app_usage_headers.json",
        ),
    ),
    # auditor doctor: tests/connectors/test_credential_checks.py replays these through check_credentials.
    ("debug_token", ("debug_token_user.json", "debug_token_error_190_467.json")),
]
