"""Facebook Pages connector: what the report would show for each recorded Graph scenario."""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from facebook_business.exceptions import FacebookRequestError

from auditor.policy import Policy
from connectors.base import ConnectorContext
from connectors.facebook import FacebookConnector
from connectors.recording import make_vcr
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline, PlatformError
from connectors.scrub import forget_secrets, install_log_scrubbing
from models.snapshot import AccountSnapshot, Capability, CollectionState, ErrorKind
from models.tables import RegisteredAccount
from tests.contexts import context_for

REPO = Path(__file__).resolve().parents[2]
CASSETTES = REPO / "cassettes" / "facebook"
AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
ITS_SYSTEM_USER = "122100000000001"


@pytest.fixture(autouse=True)
def graph_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """App credentials as an operator sets them; no per-account variables unless a test adds them."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in list(os.environ):
        if name.startswith(("ACCOUNT_", "FACEBOOK_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FACEBOOK_APP_ID", "000000000000000")
    monkeypatch.setenv("FACEBOOK_APP_SECRET", "placeholder-app-secret")
    monkeypatch.setenv("FACEBOOK_ACCESS_TOKEN", "placeholder-system-user-token")
    yield
    forget_secrets()


def page(key: str, page_id: str) -> RegisteredAccount:
    return RegisteredAccount(
        key=key,
        platform="facebook",
        connector="facebook",
        platform_id=page_id,
        school="Test School",
        purpose="test",
        kind="joint",
        audience="public",
    )


def context(
    sleep: Callable[[float], None] | None = None, as_of: datetime = AS_OF, policy: Policy | None = None
) -> ConnectorContext:
    return context_for(
        FacebookConnector,
        policy=policy or Policy(),
        as_of=as_of,
        deadline=Deadline(900),
        full=True,
        sleep=sleep or (lambda seconds: None),
    )


def pull(
    cassette: str, account: RegisteredAccount, ctx: ConnectorContext | None = None, cursor: dict[str, str] | None = None
) -> AccountSnapshot:
    with make_vcr(CASSETTES).use_cassette(cassette) as recorded:
        snapshot = FacebookConnector(ctx or context()).pull(account, cursor or {})
    assert recorded.all_played, "every recorded Graph answer is asked for"
    return snapshot


def states(snapshot: AccountSnapshot) -> dict[str, str]:
    return {name: status.state.value for name, status in snapshot.collections.items()}


def by_kind(snapshot: AccountSnapshot) -> Counter[str]:
    return Counter(i.kind for i in snapshot.interactions)


# --- registration -----------------------------------------------------------------------------


def test_connector_is_found_through_its_entry_point() -> None:
    assert ConnectorRegistry.installed()["facebook"] is FacebookConnector
    assert Capability.PARTICIPANTS not in FacebookConnector.capabilities
    limitation = FacebookConnector.limitations[Capability.PARTICIPANTS]
    assert "followers" in limitation and "April 2024" in limitation and "manual" in limitation


# --- a Business-managed Page ------------------------------------------------------------------


def test_business_page_admins_are_the_assigned_users_with_their_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_RBE_BUSINESS_PAGE_FACEBOOK_BUSINESS_ID", "190000000000042")
    snapshot = pull("business_page.yaml", page("rbe-business-page", "108000000000201"))

    admins = {a.identity.id: a for a in snapshot.admins}
    assert set(admins) == {ITS_SYSTEM_USER, "122100000000009", "122100000000011", "198000000000077"}
    assert admins[ITS_SYSTEM_USER].is_admin and "MANAGE" in admins[ITS_SYSTEM_USER].tasks
    assert admins[ITS_SYSTEM_USER].role == "system user"
    assert admins["122100000000009"].identity.display_name == "Anne Tremblay" and admins["122100000000009"].is_admin
    fox = admins["122100000000011"]
    assert not fox.is_admin and fox.tasks == ["ANALYZE", "MODERATE", "CREATE_CONTENT"]  # no MANAGE: not an admin
    assert admins["198000000000077"].role == "agency" and not admins["198000000000077"].is_admin
    assert all(a.source == "observed" for a in snapshot.admins)

    assert snapshot.profile is not None
    assert snapshot.profile.counts == {"followers": 1843, "fans": 1790}
    assert snapshot.profile.published is True and snapshot.profile.handle == "RiverbendElementaryPHRD"
    assert states(snapshot) == {
        "participants": "not_supported",
        "profile": "complete",
        "admins": "complete",
        "posts": "complete",
        "interactions": "complete",
    }


def test_business_page_posts_comments_and_replies_over_two_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_RBE_BUSINESS_PAGE_FACEBOOK_BUSINESS_ID", "190000000000042")
    snapshot = pull("business_page.yaml", page("rbe-business-page", "108000000000201"))

    assert [p.id.split("_")[1] for p in snapshot.posts] == ["1200000000000301", "1200000000000302", "1200000000000303"]
    assert snapshot.posts[0].hashtags == ["#RiverbendFair"]
    assert snapshot.requests["GET /{page-id}/posts"] == 2  # time-paged feed: both pages read
    # Comments come nested in the posts pages; only the first post has more than they held: its 2 pages.
    assert snapshot.requests["GET /{post-id}/comments"] == 2

    # The Page's own reply is not a person's interaction; everyone else's is.
    assert by_kind(snapshot) == Counter({"comment": 5, "reply": 1, "visitor_post": 1, "tag": 1})
    reply = next(i for i in snapshot.interactions if i.kind == "reply")
    assert reply.actor.display_name == "Karen Fox" and reply.actor.id == "61550000000011"
    assert reply.target is not None and reply.target.id == "61550000100003"  # the parent comment's author
    assert reply.thread_id == "108000000000201_1200000000000301"
    on_visitor_post = next(i for i in snapshot.interactions if i.actor.display_name == "Anne Tremblay")
    assert on_visitor_post.kind == "comment"
    assert on_visitor_post.target is not None and on_visitor_post.target.id == "61550000200002"  # the visitor
    on_page_post = next(i for i in snapshot.interactions if i.actor.display_name == "Emma Martin")
    assert on_page_post.target is None  # None = the Page itself
    tag = next(i for i in snapshot.interactions if i.kind == "tag")
    assert tag.actor.display_name == "Riverbend Community Food Bank"

    assert {p.display_name for p in snapshot.participants} == {
        "Marcus Reid",
        "Emma Martin",
        "Karen Fox",
        "Jordan Pike",
        "Anne Tremblay",
        "Riverbend Community Food Bank",
    }
    assert snapshot.cursor == {"posts_since": AS_OF.isoformat()}


def test_business_page_without_business_id_is_reported_partial() -> None:
    """Without the Business id only /roles is read, and it lists nobody: the admins are not known."""
    with make_vcr(CASSETTES, match_on=("method", "path")).use_cassette("business_page.yaml"):
        snapshot = FacebookConnector(context()).pull(page("rbe-business-page", "108000000000201"), {})
    status = snapshot.collections["admins"]
    assert status.state == CollectionState.PARTIAL
    assert status.reason is not None and "ACCOUNT_RBE_BUSINESS_PAGE_FACEBOOK_BUSINESS_ID" in status.reason
    assert "GET /{page-id}/assigned_users" not in snapshot.requests


# --- a classic Page -----------------------------------------------------------------------------


def test_classic_page_admins_come_from_roles() -> None:
    snapshot = pull("classic_page.yaml", page("hhs-drama-fb", "108000000000202"))
    roles = {a.identity.id: (a.role, a.is_admin) for a in snapshot.admins}
    assert roles == {
        "61550000000003": ("Admin", True),
        "61550000000002": ("Editor", False),
        "61550000009999": ("Admin", True),
    }
    assert states(snapshot)["admins"] == "complete"
    assert any("FACEBOOK_BUSINESS_ID" in note for note in snapshot.notes)  # says what was not read
    assert snapshot.posts[0].hashtags == ["#HHSDrama"] and snapshot.interactions == []
    assert "GET /{page-id}/assigned_users" not in snapshot.requests


def test_an_older_cursor_never_narrows_the_look_back_window() -> None:
    earlier = {"posts_since": (AS_OF - timedelta(days=90)).isoformat()}
    ctx = context()
    ctx.full = False
    snapshot = pull("classic_page.yaml", page("hhs-drama-fb", "108000000000202"), ctx, cursor=earlier)
    assert states(snapshot)["posts"] == "complete" and len(snapshot.posts) == 1


# --- errors -------------------------------------------------------------------------------------


def test_missing_permissions_make_collections_unavailable_and_name_the_permission() -> None:
    snapshot = pull("permission_error.yaml", page("hhs-athletics-fb", "108000000000203"))
    admins, interactions = snapshot.collections["admins"], snapshot.collections["interactions"]
    assert admins.state == CollectionState.UNAVAILABLE and admins.error == ErrorKind.PERMISSION
    assert admins.reason is not None and "pages_manage_metadata" in admins.reason and "#200" in admins.reason
    assert interactions.state == CollectionState.UNAVAILABLE
    assert interactions.reason is not None and "pages_read_user_content" in interactions.reason
    assert states(snapshot)["posts"] == "complete" and states(snapshot)["profile"] == "complete"
    assert snapshot.requests["GET /{page-id}/roles"] == 1  # a permission error is never retried


def test_password_change_kills_the_token_and_is_recorded_as_evidence() -> None:
    snapshot = pull("token_password_changed.yaml", page("rbe-library-fb", "108000000000204"))
    for name in ("profile", "admins", "posts", "interactions"):
        status = snapshot.collections[name]
        assert status.state == CollectionState.FAILED and status.error == ErrorKind.AUTH
        assert status.reason is not None and "password" in status.reason
    assert "ACCOUNT_RBE_LIBRARY_FB_FACEBOOK_PAGE_TOKEN" in (snapshot.collections["profile"].reason or "")
    assert snapshot.password_changed_at == AS_OF
    assert any("password changed" in note for note in snapshot.notes)
    assert snapshot.requests == {"GET /{page-id}": 1}


def test_throttled_call_waits_as_graph_estimates_then_succeeds() -> None:
    slept: list[float] = []
    snapshot = pull("throttled.yaml", page("hhs-robotics-fb", "108000000000205"), context(sleep=slept.append))
    assert len(slept) == 1 and 115 <= slept[0] <= 125  # estimated_time_to_regain_access: 2 minutes
    assert snapshot.requests["GET /{page-id}/roles"] == 2
    assert states(snapshot)["admins"] == "complete"
    assert [a.identity.id for a in snapshot.admins] == ["61550000000002"]


def test_no_token_fails_every_collection_without_calling_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEBOOK_ACCESS_TOKEN")
    snapshot = FacebookConnector(context()).pull(page("hhs-drama-fb", "108000000000202"), {})
    assert snapshot.requests == {}
    for name in ("profile", "admins", "posts", "interactions"):
        status = snapshot.collections[name]
        assert status.error == ErrorKind.AUTH and "ACCOUNT_HHS_DRAMA_FB_FACEBOOK_PAGE_TOKEN" in (status.reason or "")


def graph_error(code: int, subcode: int | None = None, message: str = "", status: int = 400, **extra: Any) -> Any:
    body: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    if subcode is not None:
        body["error_subcode"] = subcode
    body.update(extra)
    request = {"method": "GET", "path": "https://graph.facebook.com/v26.0/1080/comments", "params": {}}
    return FacebookRequestError("Call was not successful", request, status, {}, json.dumps({"error": body}))


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (graph_error(4, message="(#4) Application request limit reached", status=403), ErrorKind.RATE_LIMITED),
        (graph_error(17, message="(#17) User request limit reached"), ErrorKind.RATE_LIMITED),
        (graph_error(32, message="(#32) Page request limit reached"), ErrorKind.RATE_LIMITED),
        (graph_error(613, message="(#613) Calls to this api have exceeded the rate limit."), ErrorKind.RATE_LIMITED),
        (graph_error(80001, message="(#80001) There have been too many calls"), ErrorKind.RATE_LIMITED),
        (graph_error(10, message="(#10) Application does not have permission for this action"), ErrorKind.PERMISSION),
        (graph_error(200, message="(#200) Permissions error", status=403), ErrorKind.PERMISSION),
        (graph_error(299, message="(#299) Requires extended permission"), ErrorKind.PERMISSION),
        (graph_error(100, message="(#100) Tried accessing nonexisting field (colour)"), ErrorKind.BAD_REQUEST),
        (graph_error(190, 463, "Error validating access token: Session has expired"), ErrorKind.AUTH),
        (graph_error(1, message="An unknown error occurred", status=500), ErrorKind.RETRYABLE),
        (graph_error(2, message="Service temporarily unavailable", status=503), ErrorKind.RETRYABLE),
        (graph_error(368, message="Temporarily blocked", is_transient=True), ErrorKind.RETRYABLE),
        (
            graph_error(803, message="(#803) Some of the aliases you requested do not exist: nosuchpage"),
            ErrorKind.NOT_FOUND,
        ),
        (requests.ConnectTimeout("connect timeout"), ErrorKind.RETRYABLE),
    ],
)
def test_graph_errors_are_classified(error: BaseException, kind: ErrorKind) -> None:
    classified = FacebookConnector(context()).classify_error(error)
    assert classified.kind == kind


def test_expired_token_says_expired_and_names_the_variable() -> None:
    connector = FacebookConnector(context())
    connector._token_variable = "ACCOUNT_X_FACEBOOK_PAGE_TOKEN"
    classified = connector.classify_error(graph_error(190, 463, "Error validating access token: Session has expired"))
    assert "expired" in classified.describe() and "ACCOUNT_X_FACEBOOK_PAGE_TOKEN" in classified.describe()


# Graph's answer to a user or system-user token sent without appsecret_proof to an endpoint under Page
# Public Content Access (as quoted in sns-sdks/python-facebook#22 and jpryda/facebook-multi-scraper#4).
APP_SECRET_PROOF_MESSAGE = "(#100) Pages Public Content Access requires either app secret proof or an app token"


def test_app_secret_proof_error_is_a_configuration_problem_with_its_fix() -> None:
    connector = FacebookConnector(context())
    connector._token_variable = "ACCOUNT_X_FACEBOOK_PAGE_TOKEN"
    classified = connector.classify_error(graph_error(100, message=APP_SECRET_PROOF_MESSAGE))
    assert classified.kind == ErrorKind.PERMISSION and classified.code == "#100"
    assert classified.fix is not None
    assert "FACEBOOK_APP_SECRET" in classified.fix and "ACCOUNT_X_FACEBOOK_PAGE_TOKEN" in classified.fix


def test_app_secret_proof_error_leaves_the_page_unavailable_and_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACEBOOK_APP_SECRET")  # the operator never set it: no appsecret_proof is sent
    error = {"message": APP_SECRET_PROOF_MESSAGE, "type": "OAuthException", "code": 100, "fbtrace_id": "AbCdEf"}
    interaction = {
        "request": {
            "body": None,
            "headers": {},
            "method": "GET",
            "uri": "https://graph.facebook.com/v26.0/108000000000202/",
        },
        "response": {
            "status": {"code": 400, "message": "Bad Request"},
            "headers": {
                "Content-Type": ["application/json; charset=UTF-8"],
                "WWW-Authenticate": [f'OAuth "Facebook Platform" "invalid_request" "{APP_SECRET_PROOF_MESSAGE}"'],
            },
            "body": {"string": json.dumps({"error": error})},
        },
    }
    (tmp_path / "proof.yaml").write_text(yaml.safe_dump({"interactions": [interaction], "version": 1}))
    with make_vcr(tmp_path, match_on=("method", "path")).use_cassette("proof.yaml") as recorded:
        snapshot = FacebookConnector(context()).pull(page("hhs-drama-fb", "108000000000202"), {})
    assert recorded.all_played and snapshot.requests == {"GET /{page-id}": 1}  # not retried
    for name in ("profile", "admins", "posts", "interactions"):
        status = snapshot.collections[name]
        assert status.state == CollectionState.UNAVAILABLE and status.error == ErrorKind.PERMISSION
        assert "FACEBOOK_APP_SECRET" in (status.reason or "")
        assert "ACCOUNT_HHS_DRAMA_FB_FACEBOOK_PAGE_TOKEN" in (status.reason or "")


def test_an_already_classified_error_is_kept_as_it_is() -> None:
    """The resilience layer hands back PlatformErrors: classifying one again must not turn it into "malformed"."""
    throttled = PlatformError(ErrorKind.RATE_LIMITED, "Graph throttled the debug_token call", status=400, code="#4")
    assert FacebookConnector(context()).classify_error(throttled) is throttled


def test_throttling_wait_comes_from_the_business_use_case_header() -> None:
    usage = {
        "1080": [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 3,
                "total_time": 4,
                "estimated_time_to_regain_access": 7,
            }
        ]
    }
    error = FacebookRequestError(
        "Call was not successful",
        {"path": "/v26.0/1080/posts"},
        400,
        {"X-Business-Use-Case-Usage": json.dumps(usage)},
        json.dumps({"error": {"message": "(#80001) too many calls", "code": 80001, "fbtrace_id": "x"}}),
    )
    before = datetime.now(UTC)
    classified = FacebookConnector(context()).classify_error(error)
    assert classified.retry_at is not None
    assert timedelta(minutes=6) < classified.retry_at - before <= timedelta(minutes=7, seconds=5)


# --- secrets ------------------------------------------------------------------------------------

CANARY_TOKEN = "canaryPAGEtoken0123456789"
CANARY_SECRET = "canaryAPPsecret9876543210"


def test_canary_token_never_leaks_into_logs_snapshot_or_errors(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ACCOUNT_RBE_BUSINESS_PAGE_FACEBOOK_PAGE_TOKEN", CANARY_TOKEN)
    monkeypatch.setenv("ACCOUNT_RBE_BUSINESS_PAGE_FACEBOOK_BUSINESS_ID", "190000000000042")
    monkeypatch.setenv("ACCOUNT_HHS_ATHLETICS_FB_FACEBOOK_PAGE_TOKEN", CANARY_TOKEN)
    monkeypatch.setenv("FACEBOOK_APP_SECRET", CANARY_SECRET)
    sent: list[str] = []
    original_send = requests.Session.send

    def spy(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        sent.append(str(request.url))
        return original_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", spy)
    caplog.set_level(logging.DEBUG)
    for noisy in ("urllib3", "requests", "vcr", "facebook_business"):  # the CLI quietens these; a user may not
        caplog.set_level(logging.DEBUG, logger=noisy)
    install_log_scrubbing()
    snapshots = [
        pull("business_page.yaml", page("rbe-business-page", "108000000000201")),
        pull("permission_error.yaml", page("hhs-athletics-fb", "108000000000203")),
    ]
    proofs = {part.split("appsecret_proof=")[1].split("&")[0] for part in sent if "appsecret_proof=" in part}

    assert sent and all(CANARY_TOKEN in url for url in sent)  # the canary really was used on every request
    assert proofs and all(len(proof) == 64 for proof in proofs)
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # DEBUG logging of requests was on
    written = caplog.text + "".join(s.model_dump_json() for s in snapshots)
    for secret in (CANARY_TOKEN, CANARY_SECRET, *proofs):
        assert secret not in written


def test_no_cassette_holds_a_token() -> None:
    for cassette in [*CASSETTES.glob("*.yaml"), *(REPO / "cassettes" / "demo").glob("*fb*.yaml")]:
        text = cassette.read_text(encoding="utf-8")
        for line in text.splitlines():
            for parameter in ("access_token=", "appsecret_proof="):
                if parameter in line:
                    assert all(part.startswith("REDACTED") for part in line.split(parameter)[1:]), cassette.name
        assert "EAA" not in text and "Bearer " not in text, cassette.name


def test_throttle_that_does_not_fit_the_deadline_fails_the_collection_with_its_reset_time() -> None:
    slept: list[float] = []
    ctx = context(sleep=slept.append)
    ctx.deadline = Deadline(30)  # Graph asks for 2 minutes: no time for that
    with make_vcr(CASSETTES).use_cassette("throttled.yaml"):
        snapshot = FacebookConnector(ctx).pull(page("hhs-robotics-fb", "108000000000205"), {})
    admins = snapshot.collections["admins"]
    assert slept == []
    assert admins.state == CollectionState.FAILED and admins.error == ErrorKind.RATE_LIMITED
    assert admins.retry_after is not None and admins.retry_after > datetime.now(UTC) + timedelta(seconds=90)
    assert states(snapshot)["posts"] == "complete"  # the other collections still ran


def test_demo_page_replays_completely_without_the_its_admin() -> None:
    demo = page("hhs-main-fb", "108000000000101")
    with make_vcr(REPO / "cassettes" / "demo").use_cassette("hhs-main-fb.yaml") as recorded:
        snapshot = FacebookConnector(context(policy=Policy(lookback_days=30))).pull(demo, {})
    assert recorded.all_played
    assert not snapshot.failed_collections()
    assert "61550000009999" not in {a.identity.id for a in snapshot.admins}
    assert {a.identity.id for a in snapshot.admins if a.is_admin} == {"61550000000002", "61550000000008"}
    reply = next(i for i in snapshot.interactions if i.kind == "reply")
    assert (reply.actor.id, reply.target and reply.target.id) == ("61550000000008", "61550000100002")


def test_recording_a_cassette_scrubs_the_token_from_urls_and_paging_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Record against a local stand-in for Graph that echoes the token in paging.next, as Graph does."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    from facebook_business.session import FacebookSession

    class FakeGraph(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            echo = f"access_token={query.get('access_token')}&appsecret_proof={query.get('appsecret_proof')}"
            if url.path.endswith("/posts") and "until" not in query:
                next_url = f"http://graph.test/v26.0/1080/posts?{echo}&until=1792900000&__paging_token=enc_x"
                body: dict[str, Any] = {"data": [], "paging": {"next": next_url}}
            elif url.path.endswith("/1080/"):
                body = {"id": "1080", "name": "Local Page", "link": f"https://www.facebook.com/1080?{echo}"}
            else:
                body = {"data": []}
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGraph)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(FacebookSession, "GRAPH", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("ACCOUNT_LOCAL_FB_FACEBOOK_PAGE_TOKEN", CANARY_TOKEN)
    monkeypatch.setenv("FACEBOOK_APP_SECRET", CANARY_SECRET)
    try:
        with make_vcr(tmp_path, record_mode="all").use_cassette("recorded.yaml"):
            snapshot = FacebookConnector(context()).pull(page("local-fb", "1080"), {})
    finally:
        server.shutdown()
    text = (tmp_path / "recorded.yaml").read_text(encoding="utf-8")
    assert snapshot.requests["GET /{page-id}/posts"] == 2  # the second page came from the echoed link
    assert "until=1792900000" in text and "access_token=REDACTED" in text  # the link is kept, its token not
    assert CANARY_TOKEN not in text and CANARY_SECRET not in text
    assert "appsecret_proof=REDACTED" in text and not re.search(r"appsecret_proof=[0-9a-f]{64}", text)


def test_an_unread_window_keeps_the_previous_cursor() -> None:
    previous = {"posts_since": (AS_OF - timedelta(days=40)).isoformat()}
    ctx = context()
    ctx.full = False
    snapshot = pull("permission_error.yaml", page("hhs-athletics-fb", "108000000000203"), ctx, cursor=previous)
    assert states(snapshot)["interactions"] == "unavailable"
    assert snapshot.cursor == previous


def test_the_sdk_is_used_without_a_global_api_or_crash_reporter() -> None:
    import sys

    from facebook_business.api import FacebookAdsApi

    hook = sys.excepthook
    pull("classic_page.yaml", page("hhs-drama-fb", "108000000000202"))
    assert FacebookAdsApi.get_default_api() is None
    assert sys.excepthook is hook


def test_a_throttle_midway_keeps_what_was_read_and_reports_partial(tmp_path: Path) -> None:
    """/roles answered, then /agencies hit the Pages limit for an hour: the roles read are kept."""
    cassette = yaml.safe_load((CASSETTES / "classic_page.yaml").read_text(encoding="utf-8"))
    agencies = next(i for i in cassette["interactions"] if "/agencies" in i["request"]["uri"])
    usage = {
        "108000000000202": [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 2,
                "total_time": 2,
                "estimated_time_to_regain_access": 60,
            }
        ]
    }
    agencies["response"]["status"] = {"code": 400, "message": "Bad Request"}
    agencies["response"]["headers"]["x-business-use-case-usage"] = [json.dumps(usage)]
    agencies["response"]["body"]["string"] = json.dumps(
        {
            "error": {
                "message": "(#80001) There have been too many calls to this Page account.",
                "type": "OAuthException",
                "code": 80001,
                "fbtrace_id": "AbCd",
            }
        }
    )
    (tmp_path / "midway.yaml").write_text(yaml.safe_dump(cassette), encoding="utf-8")
    ctx = context()
    ctx.deadline = Deadline(60)
    with make_vcr(tmp_path).use_cassette("midway.yaml"):
        snapshot = FacebookConnector(ctx).pull(page("hhs-drama-fb", "108000000000202"), {})
    admins = snapshot.collections["admins"]
    assert admins.state == CollectionState.PARTIAL and admins.error == ErrorKind.RATE_LIMITED
    assert {a.identity.id for a in snapshot.admins} == {"61550000000003", "61550000000002", "61550000009999"}
    assert admins.retry_after is not None and admins.retry_after > datetime.now(UTC) + timedelta(minutes=59)


# --- --dry-run: the estimate against what the recorded pulls asked for -------------------------------


@pytest.mark.parametrize(
    ("cassette", "key", "page_id"),
    [
        ("business_page.yaml", "rbe-business-page", "108000000000201"),
        ("classic_page.yaml", "hhs-drama", "108000000000202"),
    ],
)
def test_estimate_predicts_the_requests_of_a_pull(
    monkeypatch: pytest.MonkeyPatch, cassette: str, key: str, page_id: str
) -> None:
    """A first run: one request per edge, comments nested (the recordings' posts fit one page, their comments
    a posts answer, except one post of the business Page); the next full run re-reads the window as this one
    did; a nightly run one page of each feed."""
    monkeypatch.setenv("ACCOUNT_RBE_BUSINESS_PAGE_FACEBOOK_BUSINESS_ID", "190000000000042")
    account = page(key, page_id)
    first = FacebookConnector(context()).estimate(account, {}, None)
    snapshot = pull(cassette, account)
    again = FacebookConnector(context()).estimate(account, snapshot.cursor, snapshot)

    assert again.requests == snapshot.requests
    made_by_edge = {edge: 1 for edge in snapshot.requests} | {"GET /{post-id}/comments": 0}
    assert {k: v for k, v in first.requests.items()} == {k: v for k, v in made_by_edge.items() if v}
    nightly = context_for(
        FacebookConnector, policy=Policy(), as_of=AS_OF + timedelta(days=1), deadline=Deadline(900), full=False
    )
    tonight = FacebookConnector(nightly).estimate(account, snapshot.cursor, snapshot)
    assert "GET /{post-id}/comments" not in tonight.requests and tonight.requests["GET /{page-id}/posts"] == 1
