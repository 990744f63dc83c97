"""Instagram connector: what the report would show for each recorded Graph scenario (cassettes/instagram/)."""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from auditor.policy import Policy
from connectors.base import ConnectorContext
from connectors.instagram import InstagramConnector
from connectors.instagram.settings import InstagramOptions
from connectors.recording import make_vcr
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline
from connectors.scrub import forget_secrets, install_log_scrubbing
from models.snapshot import AccountSnapshot, Capability, CollectionState, ErrorKind
from models.tables import RegisteredAccount
from tests.auditor.rules.world import World
from tests.contexts import context_for

REPO = Path(__file__).resolve().parents[2]
CASSETTES = REPO / "cassettes" / "instagram"
AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
ITS = "61550000009999"


@pytest.fixture(autouse=True)
def graph_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in list(os.environ):
        if name.startswith(("ACCOUNT_", "FACEBOOK_", "INSTAGRAM_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FACEBOOK_APP_ID", "000000000000000")
    monkeypatch.setenv("FACEBOOK_APP_SECRET", "placeholder-app-secret")
    monkeypatch.setenv("FACEBOOK_ACCESS_TOKEN", "placeholder-system-user-token")
    yield
    forget_secrets()


def account(key: str, ig_id: str) -> RegisteredAccount:
    return RegisteredAccount(
        key=key, platform="instagram", connector="instagram", platform_id=ig_id, school="Test School",
        purpose="test", kind="joint", audience="public",
    )  # fmt: skip


def context(
    sleep: Callable[[float], None] | None = None, deadline: float = 900, policy: Policy | None = None
) -> ConnectorContext:
    return context_for(
        InstagramConnector,
        policy=policy or Policy(lookback_days=30),
        as_of=AS_OF,
        deadline=Deadline(deadline),
        full=True,
        sleep=sleep or (lambda seconds: None),
    )


def pull(cassette: str, registered: RegisteredAccount, ctx: ConnectorContext | None = None) -> AccountSnapshot:
    with make_vcr(CASSETTES).use_cassette(cassette) as recorded:
        snapshot = InstagramConnector(ctx or context()).pull(registered, {})
    assert recorded.all_played, "every recorded Graph answer is asked for"
    return snapshot


def states(snapshot: AccountSnapshot) -> dict[str, str]:
    return {name: status.state.value for name, status in snapshot.collections.items()}


def test_connector_is_found_through_its_entry_point_and_says_what_instagram_does_not_give() -> None:
    installed = ConnectorRegistry.installed()
    assert installed["instagram"] is InstagramConnector
    assert installed["ig"] is InstagramConnector
    assert Capability.PARTICIPANTS not in InstagramConnector.capabilities
    assert "followers" in InstagramConnector.limitations[Capability.PARTICIPANTS]


def test_clean_account_profile_linked_page_admins_and_posts() -> None:
    snapshot = pull("clean_account.yaml", account("hhs-art-ig", "17841460000000101"))
    profile = snapshot.profile
    assert profile is not None
    assert (profile.id, profile.handle, profile.name) == ("17841460000000101", "hillsidehs.art", "Hillside High Art")
    assert profile.url == "https://www.instagram.com/hillsidehs.art/"
    assert profile.counts == {"followers": 412, "follows": 12, "media": 57}
    assert profile.closed is False
    admins = {a.identity.key: a for a in snapshot.admins}
    assert set(admins) == {"facebook:id:61550000000003", "facebook:id:61550000000002", f"facebook:id:{ITS}"}
    assert all(a.is_admin and a.source == "observed" for a in admins.values())
    assert [p.id for p in snapshot.posts] == ["17900000000000111", "17900000000000112"]
    assert snapshot.posts[0].hashtags == ["#HHSArt"] and snapshot.posts[1].text == ""  # no caption: none invented
    assert snapshot.posts[0].url == "https://www.instagram.com/p/DCa1Art0111/"
    assert snapshot.interactions == [] and snapshot.participants == []  # the account's own comment is no person's
    assert states(snapshot) == {
        "participants": "not_supported",
        "profile": "complete",
        "admins": "complete",
        "posts": "complete",
        "interactions": "complete",
    }
    # The media without comments costs no comments request.
    assert snapshot.requests["GET /{ig-media-id}/comments"] == 1


def test_staff_reply_to_student_is_a_reply_from_staff_to_the_student() -> None:
    snapshot = pull("staff_reply_to_student.yaml", account("hhs-main-ig", "17841460000000102"))
    comment, reply = snapshot.interactions
    assert (comment.kind, comment.actor.handle, comment.target) == ("comment", "noah.nguyen.07", None)
    assert reply.kind == "reply"
    assert (reply.actor.id, reply.actor.handle) == ("17841460000000002", "mr.okafor.teaches")
    assert reply.target is not None and reply.target.handle == "noah.nguyen.07"
    assert reply.thread_id == "17900000000000211" and reply.post_id == "17860000000000222"
    assert reply.url == "https://www.instagram.com/p/DCb2News211/c/17860000000000222/"
    assert reply.created_at == datetime(2026, 11, 10, 22, 41, 37, tzinfo=UTC)
    assert "room 214" in reply.text
    assert snapshot.participants == []  # the core takes the commenters as participants (next test)
    # The token's Pages do not include the linked one: admins are the registry's, and the reason says so.
    admins = snapshot.collections["admins"]
    assert admins.state == CollectionState.NOT_SUPPORTED and "declared" in (admins.reason or "")
    assert snapshot.admins == []


def test_outsider_comment_and_tag_make_them_participants() -> None:
    snapshot = pull("outsider_comment.yaml", account("rbe-main-ig", "17841460000000103"))
    kinds = Counter((i.kind, i.actor.handle) for i in snapshot.interactions)
    assert kinds == Counter({("comment", "riverbend_pizza_deals"): 1, ("tag", "riverbend_cafe"): 1})
    tag = next(i for i in snapshot.interactions if i.kind == "tag")
    assert tag.target is None and tag.url == "https://www.instagram.com/p/DCc3Tag391/"
    # No API lists followers: the connector declares that commenters and taggers take part, and the
    # participant rule counts them as outsiders (nobody in the directory declares them).
    assert snapshot.participants == [] and InstagramConnector.participants_from_interactions
    world = World()
    world.account_is(key="rbe-main-ig", platform="instagram", connector="instagram", handle="riverbend.elem",
                     platform_id="17841460000000103")  # fmt: skip
    world.snapshot = snapshot
    (summary,) = world.run("non-school-participant")
    assert summary.subject == "summary"
    assert (summary.evidence["participants_checked"], summary.evidence["outside_school_body"]) == (2, 2)


def test_confidential_caption_reaches_the_rules_as_the_accounts_own_post() -> None:
    from auditor.rules._pii import detectors, find_and_mask

    snapshot = pull("confidential_post.yaml", account("hhs-counsel-ig", "17841460000000104"))
    (post,) = snapshot.posts
    assert post.author is not None and post.author.id == "17841460000000104"  # the account's own
    masked, kinds = find_and_mask(post.text, detectors(Policy().student_number_pattern, []))
    assert kinds and "300100004" not in masked


def test_two_media_pages_two_comment_pages_and_a_replies_edge() -> None:
    snapshot = pull("paging.yaml", account("hhs-sports-ig", "17841460000000105"))
    assert [p.id for p in snapshot.posts] == ["17900000000000511", "17900000000000512", "17900000000000513"]
    assert snapshot.requests == {
        "GET /{ig-user-id}": 1,
        "GET /me/accounts": 1,
        "GET /{page-id}/roles": 1,
        "GET /{ig-user-id}/media": 2,
        "GET /{ig-media-id}/comments": 3,  # two pages for the first media, none for the one without comments
        "GET /{ig-comment-id}/replies": 1,
        "GET /{ig-user-id}/tags": 1,
    }
    replies = [i for i in snapshot.interactions if i.kind == "reply"]
    assert [(r.actor.handle, r.target.handle if r.target else None) for r in replies] == [
        ("coach.tom.b", "marcus.reid.dad"),
        ("marcus.reid.dad", "marcus.reid.dad"),
    ]
    assert sum(1 for i in snapshot.interactions if i.kind == "comment") == 3
    assert all(state != "partial" for state in states(snapshot).values())


def test_the_policy_section_caps_the_pages_read_and_the_collection_says_partial() -> None:
    """policy.yaml `connectors: {instagram: {page_cap: 1}}`: one media page of two, reported partial, not complete."""
    assert InstagramOptions().page_cap == 50
    capped = context(policy=Policy(lookback_days=30, connectors={"instagram": {"page_cap": 1}}))
    with make_vcr(CASSETTES).use_cassette("paging.yaml", allow_playback_repeats=False):
        snapshot = InstagramConnector(capped).pull(account("hhs-sports-ig", "17841460000000105"), {})
    assert snapshot.requests["GET /{ig-user-id}/media"] == 1
    posts = snapshot.collections["posts"]
    assert posts.state == CollectionState.PARTIAL and "connectors.instagram.page_cap" in (posts.reason or "")
    assert [p.id for p in snapshot.posts] == ["17900000000000511", "17900000000000512"]


def test_revoked_token_fails_every_collection_and_names_the_variable() -> None:
    snapshot = pull("revoked_token.yaml", account("hhs-band-ig", "17841460000000106"))
    for name in ("profile", "admins", "posts", "interactions"):
        status = snapshot.collections[name]
        assert (status.state, status.error) == (CollectionState.FAILED, ErrorKind.AUTH)
        assert "190/458" in (status.reason or "") and "ACCOUNT_HHS_BAND_IG_INSTAGRAM_TOKEN" in (status.reason or "")
    assert snapshot.requests == {"GET /{ig-user-id}": 1}  # a dead token is never retried


def test_every_throttling_code_waits_and_the_business_use_case_header_sets_the_wait() -> None:
    slept: list[float] = []
    snapshot = pull("throttled.yaml", account("hhs-robotics-ig", "17841460000000107"), context(slept.append))
    assert all(state in ("complete", "not_supported") for state in states(snapshot).values())
    assert snapshot.requests == {
        "GET /{ig-user-id}": 2,  # 4
        "GET /me/accounts": 2,  # 17
        "GET /{page-id}/roles": 2,  # 32
        "GET /{ig-user-id}/media": 2,  # 613
        "GET /{ig-media-id}/comments": 2,  # 80002, with estimated_time_to_regain_access 2 minutes
        "GET /{ig-user-id}/tags": 1,
    }
    assert len(slept) == 5 and 115 <= slept[-1] <= 125
    assert [i.actor.handle for i in snapshot.interactions] == ["ava.k.07"]


def test_a_throttle_that_does_not_fit_the_deadline_leaves_the_collection_with_its_reset_time() -> None:
    slept: list[float] = []
    with make_vcr(CASSETTES).use_cassette("throttled.yaml"):
        snapshot = InstagramConnector(context(slept.append, deadline=60)).pull(
            account("hhs-robotics-ig", "17841460000000107"), {}
        )
    interactions = snapshot.collections["interactions"]
    assert interactions.error == ErrorKind.RATE_LIMITED and interactions.state == CollectionState.FAILED
    assert interactions.retry_after is not None and "#80002" in (interactions.reason or "")


def test_no_token_fails_every_collection_without_calling_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEBOOK_ACCESS_TOKEN")
    snapshot = InstagramConnector(context()).pull(account("hhs-art-ig", "17841460000000101"), {})
    assert snapshot.requests == {}
    for name in ("profile", "admins", "posts", "interactions"):
        status = snapshot.collections[name]
        assert status.error == ErrorKind.AUTH and "ACCOUNT_HHS_ART_IG_INSTAGRAM_TOKEN" in (status.reason or "")


def test_a_registration_without_the_ig_user_id_is_bad_input_not_a_quiet_account() -> None:
    registered = account("hhs-art-ig", "17841460000000101").model_copy(update={"platform_id": None})
    snapshot = InstagramConnector(context()).pull(registered, {})
    status = snapshot.collections["profile"]
    assert status.error == ErrorKind.BAD_REQUEST and "platform_id" in (status.reason or "")
    assert snapshot.collections["posts"].state == CollectionState.FAILED


def test_a_missing_instagram_permission_names_the_instagram_permission() -> None:
    import json

    from facebook_business.exceptions import FacebookRequestError

    body = {"error": {"message": "(#10) Application does not have permission for this action", "code": 10,
                      "type": "OAuthException", "fbtrace_id": "AbCdEf"}}  # fmt: skip
    request = {"method": "GET", "path": "https://graph.facebook.com/v26.0/17900000000000211/comments", "params": {}}
    error = FacebookRequestError("Call was not successful", request, 403, {}, json.dumps(body))
    classified = InstagramConnector(context()).classify_error(error)
    assert classified.kind == ErrorKind.PERMISSION and "instagram_manage_comments" in classified.detail


CANARY = "canaryIGtoken0123456789abc"


def test_canary_token_never_leaks_into_logs_snapshot_or_errors(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ACCOUNT_HHS_SPORTS_IG_INSTAGRAM_TOKEN", CANARY)
    monkeypatch.setenv("ACCOUNT_HHS_BAND_IG_INSTAGRAM_TOKEN", CANARY)
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
    snapshots = [
        pull("paging.yaml", account("hhs-sports-ig", "17841460000000105")),
        pull("revoked_token.yaml", account("hhs-band-ig", "17841460000000106")),
    ]
    assert sent and all(url.count("access_token=") == 1 and f"access_token={CANARY}" in url for url in sent)
    # The paging links Graph writes (`access_token=access_token`) are never followed as they are.
    assert not any("access_token=access_token" in url for url in sent)
    written = caplog.text + "".join(s.model_dump_json() for s in snapshots)
    assert CANARY not in written and "access_token" not in "".join(s.model_dump_json() for s in snapshots)


def test_no_cassette_holds_a_token() -> None:
    for cassette in [*CASSETTES.glob("*.yaml"), *(REPO / "cassettes" / "demo").rglob("*-ig.yaml")]:
        text = cassette.read_text(encoding="utf-8")
        for line in text.splitlines():
            if "uri:" in line:
                assert "access_token=" not in line and "appsecret_proof=" not in line, cassette.name
        assert "EAA" not in text and "Bearer " not in text, cassette.name


def test_dry_run_predicts_the_requests_a_pull_makes() -> None:
    """First pull: one request of each listing; afterwards, what the previous pull read (`auditor run --dry-run`)."""
    registered = account("hhs-sports-ig", "17841460000000105")
    connector = InstagramConnector(context())
    first = connector.estimate(registered, {}, None)
    assert first.requests == {
        "GET /{ig-user-id}": 1,
        "GET /me/accounts": 1,
        "GET /{page-id}/roles": 1,
        "GET /{ig-user-id}/media": 1,
        "GET /{ig-user-id}/tags": 1,
    }
    previous = pull("paging.yaml", registered)
    again = connector.estimate(registered, {}, previous)
    assert again.requests == previous.requests  # two media pages, three comment pages, one replies page
