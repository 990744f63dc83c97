"""The `web` connector replayed from cassettes/web/: WordPress sites through their REST API, RSS and Atom
feeds through feedparser, and what the rules make of a site's snapshot."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.policy import Policy
from connectors.recording import make_vcr
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline
from connectors.web import WebConnector
from models.snapshot import AccountSnapshot, CollectionState, ErrorKind
from models.tables import RegisteredAccount
from tests.contexts import context_for

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "web"
AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
SITE = "https://hhsnews.phrd.ab.ca"


def account(handle: str = SITE, how: str | None = None, key: str = "hhs-news-web") -> RegisteredAccount:
    return RegisteredAccount(
        key=key,
        platform="web",
        connector="web",
        handle=handle,
        platform_id=how,
        school="Hillside High School",
        purpose="School news blog",
        kind="joint",
        audience="public",
    )


class Run:
    """One pull replayed from a cassette, with a fake sleep that records the waits."""

    def __init__(self, cassette: str, registration: RegisteredAccount | None = None) -> None:
        self.sleeps: list[float] = []
        context = context_for(
            WebConnector, policy=Policy(), as_of=AS_OF, deadline=Deadline(600), sleep=self.sleeps.append
        )
        with make_vcr(CASSETTES).use_cassette(cassette) as recording:
            self.snapshot: AccountSnapshot = WebConnector(context).pull(registration or account(), {})
            self.all_played = recording.all_played

    def state(self, collection: str) -> CollectionState:
        return self.snapshot.collections[collection].state

    def reason(self, collection: str) -> str:
        return self.snapshot.collections[collection].reason or ""


def test_registered_through_the_entry_point() -> None:
    assert ConnectorRegistry.installed()["web"] is WebConnector
    assert ConnectorRegistry.installed()["blog"] is WebConnector


def test_wordpress_site_posts_comments_and_commenters() -> None:
    run = Run("wordpress-site.yaml")
    snapshot = run.snapshot
    assert run.all_played
    assert snapshot.profile is not None and snapshot.profile.name == "Hillside High School News"
    # Newest first until the look-back window is passed: the September post is not read, nor its comments.
    assert [p.id for p in snapshot.posts] == ["412", "405"]
    retakes = snapshot.posts[0]
    assert retakes.url == f"{SITE}/2026/11/12/grad-photo-retakes/"
    assert retakes.created_at == datetime(2026, 11, 12, 17, 30, tzinfo=UTC)
    assert retakes.text.startswith("Grad photo retakes on Thursday\n\nMissed your grad photo?")
    assert "<strong>" not in retakes.text
    assert retakes.author is not None and retakes.author.handle == SITE  # published by the site: its own post
    assert snapshot.posts[1].text.startswith("Winter concert tickets \u2013 on sale now")  # &#8211; decoded
    by_id = {i.url.rsplit("-", 1)[-1]: i for i in snapshot.interactions if i.url}
    reply = by_id["91"]
    assert (reply.kind, reply.actor.display_name, reply.target and reply.target.display_name) == (
        "reply",
        "Sarah Lindqvist",
        "Noah Nguyen",
    )
    assert reply.post_id == reply.thread_id == "412"
    assert reply.text == "Yes Noah, in the gym after lunch."
    assert by_id["88"].kind == "comment" and by_id["88"].target is None  # addresses the post
    assert {p.display_name for p in snapshot.participants} == {"Noah Nguyen", "Sarah Lindqvist", "Linda Kowalski"}
    assert all(p.id is None and p.handle is None for p in snapshot.participants)  # known by name only
    for collection in ("profile", "posts", "interactions", "participants"):
        assert run.state(collection) == CollectionState.COMPLETE, collection
    assert run.state("admins") == CollectionState.NOT_SUPPORTED
    assert "declared admins" in run.reason("admins")
    assert snapshot.requests == {"GET /wp-json": 1, "GET /wp/v2/posts": 1, "GET /wp/v2/comments": 1}


def test_wordpress_paging_follows_the_total_pages_header() -> None:
    run = Run("wordpress-paged.yaml")  # a busy site: 101 posts in the window, 100 a page
    assert run.all_played
    ids = [p.id for p in run.snapshot.posts]
    assert len(ids) == 101 and ids[:2] == ["412", "405"] and ids[-1] == "300"  # page 2 holds the window's last
    assert run.snapshot.requests == {"GET /wp-json": 1, "GET /wp/v2/posts": 2, "GET /wp/v2/comments": 2}
    # Comments are asked for 100 posts at a time (`post=412,405,...`): both batches were read.
    assert {i.post_id for i in run.snapshot.interactions} == {"412", "300"}
    for collection in ("posts", "interactions", "participants"):
        assert run.state(collection) == CollectionState.COMPLETE, collection


def test_wordpress_stops_at_the_page_cap_as_partial(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connectors.web.connector.MAX_PAGES", 1)
    context = context_for(WebConnector, policy=Policy(), as_of=AS_OF, deadline=Deadline(600))
    with make_vcr(CASSETTES).use_cassette("wordpress-paged.yaml"):
        snapshot = WebConnector(context).pull(account(), {})
    assert len(snapshot.posts) == 100
    assert snapshot.collections["posts"].state == CollectionState.PARTIAL
    assert "stopped after 1 pages of 102" in (snapshot.collections["posts"].reason or "")
    # Comments of posts never read are missing: the comments and commenters cannot be complete either.
    assert snapshot.collections["interactions"].state == CollectionState.PARTIAL
    assert snapshot.collections["participants"].state == CollectionState.PARTIAL


def test_wordpress_refusing_anonymous_reads_is_auth_with_a_fix() -> None:
    run = Run("wordpress-forbidden.yaml")
    status = run.snapshot.collections["posts"]
    assert (status.state, status.error) == (CollectionState.FAILED, ErrorKind.AUTH)
    assert "rest_forbidden" in (status.reason or "")
    assert "Sorry, you are not allowed to do that." in (status.reason or "")
    assert "platform_id: feed" in (status.reason or "")
    # Without the posts, nothing can be said about comments: never an empty-but-complete listing.
    for collection in ("interactions", "participants"):
        assert run.state(collection) == CollectionState.FAILED
    assert run.snapshot.requests["GET /wp/v2/posts"] == 1  # an auth failure is not retried


def test_a_site_without_the_rest_api_is_not_found_with_a_fix() -> None:
    registration = account("https://www.hillside.phrd.ab.ca")
    run = Run("wordpress-no-api.yaml", registration)
    status = run.snapshot.collections["posts"]
    assert (status.state, status.error) == (CollectionState.FAILED, ErrorKind.NOT_FOUND)
    assert "the site may not be WordPress" in (status.reason or "")
    assert "<html" not in (status.reason or "")


def test_maintenance_503_and_429_are_retried_through_the_shared_layer() -> None:
    run = Run("wordpress-transient.yaml")
    assert run.all_played
    assert [p.id for p in run.snapshot.posts] == ["412", "405"]
    assert run.state("interactions") == CollectionState.COMPLETE
    assert len(run.sleeps) == 2
    assert run.sleeps[0] == pytest.approx(6.0, abs=1.5)  # Retry-After: 5 (+1 s for skew)
    assert run.sleeps[1] == pytest.approx(21.0, abs=1.5)  # Retry-After: 20
    assert run.snapshot.requests["GET /wp/v2/posts"] == 2


def test_rss_feed_posts() -> None:
    run = Run("feed-rss.yaml", account(f"{SITE}/feed/", "feed"))
    snapshot = run.snapshot
    assert run.all_played
    assert snapshot.profile is not None and snapshot.profile.name == "Hillside High School News"
    assert [p.url for p in snapshot.posts] == [
        f"{SITE}/2026/11/12/grad-photo-retakes/",
        f"{SITE}/2026/11/06/lost-and-found/",
    ]  # the September item is outside the window
    first = snapshot.posts[0]
    assert first.id == f"{SITE}/?p=412"
    assert first.created_at == datetime(2026, 11, 12, 17, 30, tzinfo=UTC)
    assert first.author is not None and first.author.display_name == "Margaret Chen"
    assert first.author.handle == f"{SITE}/feed/"  # the writer publishes as the site: the account's own post
    assert first.text.startswith("Grad photo retakes on Thursday\n\nMissed your grad photo?")
    assert run.state("posts") == CollectionState.COMPLETE
    for collection in ("interactions", "participants"):
        assert run.state(collection) == CollectionState.NOT_SUPPORTED
        assert "platform_id: wordpress" in run.reason(collection)


def test_atom_feed_posts() -> None:
    run = Run("feed-atom.yaml", account("https://hhsdrama.blogspot.com/feeds/posts/default", "feed"))
    snapshot = run.snapshot
    assert snapshot.profile is not None and snapshot.profile.name == "Hillside Drama Society"
    assert snapshot.profile.url == "https://hhsdrama.blogspot.com/"
    (post,) = snapshot.posts  # the June entry is outside the window
    assert post.url == "https://hhsdrama.blogspot.com/2026/11/auditions-for-spring-play.html"
    assert post.created_at == datetime(2026, 11, 10, 16, 5, tzinfo=UTC)  # -07:00 in UTC
    assert post.text == "Auditions for the spring play\n\nAuditions for Our Town are on November 24 in the theatre."
    assert post.author is not None and post.author.display_name == "Sarah Lindqvist"


def test_a_truncated_feed_keeps_what_was_read_and_is_partial() -> None:
    run = Run("feed-malformed.yaml", account(f"{SITE}/feed/", "feed"))
    # Both whole items are kept; the cut-off one has no date, so it cannot be shown to be outside the window.
    titles = [p.text.split("\n")[0] for p in run.snapshot.posts]
    assert titles == ["Grad photo retakes on Thursday", "Lost and found", "Welcome back!"]
    assert run.snapshot.posts[2].created_at is None
    assert run.state("posts") == CollectionState.PARTIAL
    assert "not well-formed XML" in run.reason("posts") and "later ones may be missing" in run.reason("posts")


def test_a_page_that_is_not_a_feed_is_malformed() -> None:
    run = Run("feed-not-a-feed.yaml", account(f"{SITE}/feed/", "feed"))
    for collection in ("profile", "posts"):
        status = run.snapshot.collections[collection]
        assert (status.state, status.error) == (CollectionState.FAILED, ErrorKind.MALFORMED), collection
    assert not run.snapshot.posts


@pytest.mark.parametrize(
    ("handle", "how", "wanted"),
    [("hhsnews.phrd.ab.ca", None, "http(s) URL"), (SITE, "blogger", "not a way to read a website")],
)
def test_an_unusable_registration_fails_every_collection_without_a_request(
    handle: str, how: str | None, wanted: str
) -> None:
    context = context_for(WebConnector, policy=Policy(), as_of=AS_OF, deadline=Deadline(600))
    snapshot = WebConnector(context).pull(account(handle, how), {})
    assert not snapshot.requests
    for collection in ("profile", "posts", "interactions", "participants"):
        status = snapshot.collections[collection]
        assert status.error == ErrorKind.BAD_REQUEST and wanted in (status.reason or "")


def test_the_existing_rules_run_on_a_sites_snapshot(tmp_path: Path) -> None:
    """No rule knows the `web` platform, yet staff-student interaction and confidential content apply to a
    blog's comments and a feed's posts through the whole run (inputs, store, rules, report)."""
    repo = CASSETTES.parents[1]
    division = tmp_path / "division"
    shutil.copytree(repo / "auditor" / "demo", division)
    shutil.rmtree(division / "registry")
    (division / "registry").mkdir()
    activities = division / "activities.yaml"  # its accounts are not registered here
    activities.write_text(activities.read_text().replace("accounts: [rbe-reading-group]", "accounts: []"))
    common = (
        "    school: Hillside High School\n    purpose: School news\n    kind: joint\n    audience: public\n"
        "    holders: [E1001, E1002]\n    admins: [E1001, E1002]\n    its_admin: phrd-its\n"
        "    reviewed_by: Director of ITS\n    reviewed_on: 2026-09-01\n    password_reset_on: 2026-09-01\n"
    )
    (division / "registry" / "web.yaml").write_text(
        "accounts:\n"
        f"  - key: hhs-news-web\n    platform: web\n    handle: {SITE}\n    platform_id: wordpress\n{common}"
        f"  - key: hhs-news-feed\n    platform: web\n    handle: {SITE}/feed/\n    platform_id: feed\n{common}"
    )
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    shutil.copy(CASSETTES / "wordpress-site.yaml", cassettes / "hhs-news-web.yaml")
    shutil.copy(CASSETTES / "feed-rss.yaml", cassettes / "hhs-news-feed.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "FACEBOOK_", "YOUTUBE_", "ACCOUNT_"))}
    env.update(
        PYTHONPATH=str(repo),
        DATABASE_URL=f"sqlite:///{tmp_path / 'auditor.db'}",
        AUDITOR_REPORT_DIR=str(tmp_path / "reports"),
        AUDITOR_LOCK_FILE=str(tmp_path / "auditor.lock"),
        AUDITOR_HMAC_KEY_FILE=str(tmp_path / "hmac.key"),
        AUDITOR_CASSETTE_DIR=str(cassettes),
    )
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "run", "--division", str(division), "--as-of", "2026-11-15T06:00:00"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 0: nothing at the policy's fail threshold
    report = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text())
    assert {c["state"] for c in report["coverage"]} == {"complete"}
    found = {(f["rule"], f["account"]): f for f in report["findings"]}
    interaction = found[("staff-student-interaction", "hhs-news-web")]
    assert interaction["subject"] == (
        f"{SITE}/2026/11/12/grad-photo-retakes/#comment-91|web:name:sarah lindqvist|web:name:noah nguyen"
    )
    assert interaction["confidence"] == "likely"  # commenters are matched by name only
    confidential = found[("confidential-content", "hhs-news-feed")]
    assert confidential["subject"] == f"post:{SITE}/?p=408"
    assert "300100009" not in json.dumps(confidential)  # the student number is masked in the report
    assert ("platform-not-approved", "hhs-news-web") not in found  # the demo policy approves web
