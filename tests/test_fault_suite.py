"""The fault suite: every way a platform fails, through the whole nightly pipeline.

Each case runs a healthy baseline audit, then an audit during which the fake platform (a real
HTTP server on 127.0.0.1) misbehaves. For each: the run finishes, the other account is audited,
the earlier report and findings are intact, findings of what could not be read are `unknown`
(never `resolved`), and the cause is in report.json's coverage. Process-level faults (SIGKILL
mid-run, overlapping runs) are in tests/test_crash_safety.py.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httplib2
import pytest
import requests
import yaml
from sqlmodel import select

from auditor.inputs import load_division
from auditor.run import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INCOMPLETE, RunOutcome, execute_run
from auditor.settings import Settings
from connectors.recording import make_vcr
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline, RetryPolicy
from connectors.scrub import install_log_scrubbing
from models.db import make_engine, session
from models.tables import Finding, RegisteredAccount
from tests.contexts import context_for
from tests.fakeplatform import (
    CANARY_TOKEN,
    HANG,
    OUTSIDER_RULE,
    RESET,
    Answer,
    FakePlatform,
    FakePlatformConnector,
    error,
    fake_connector_installed,
    no_sleep,
    ok,
    outsider_rule,
    run_environment,
    standard_script,
    users,
    write_division,
)
from tests.scenarios import CANARIES, NOT_SECRET, SCENARIOS, Scenario, account

REPO = Path(__file__).resolve().parents[1]

FOLLOWERS = "/users/9001/followers"
PROFILE = "/users/fake_school"
POSTS = "/users/9001/posts"
AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
PAGE_1 = ok({"data": users(("5001", "river_parent", "Dana Rivers")), "meta": {"next_token": "p2"}})


@dataclass
class Harness:
    root: Path
    server: FakePlatform
    slept: list[float]
    division: Path

    def audit(self, as_of: datetime | None = None) -> tuple[RunOutcome, dict[str, Any]]:
        outcome = execute_run(load_division(self.division), Settings(), as_of=as_of)
        assert outcome.report_folder is not None
        return outcome, json.loads((outcome.report_folder / "report.json").read_text(encoding="utf-8"))

    def findings(self, run_id: str) -> dict[str, str]:
        engine = make_engine(Settings().database_url)
        with session(engine) as db:
            rows = db.exec(
                select(Finding).where(
                    Finding.run_id == run_id,
                    Finding.rule_id == OUTSIDER_RULE,
                    Finding.account_key == "fake-school",
                )
            )
            return {f.subject: f.status for f in rows}

    def findings_evidence(self, run_id: str) -> list[dict[str, Any]]:
        engine = make_engine(Settings().database_url)
        with session(engine) as db:
            return [f.evidence for f in db.exec(select(Finding).where(Finding.run_id == run_id))]


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    run_environment(monkeypatch, tmp_path)
    install_log_scrubbing()  # as the command line does at start
    with FakePlatform() as server, fake_connector_installed(monkeypatch, server), outsider_rule():
        monkeypatch.setattr(FakePlatformConnector, "timeout", 0.3)
        server.hang_seconds = 1.0
        standard_script(server)
        division = write_division(tmp_path, extra_policy="account_deadline_seconds: 300\n")
        yield Harness(tmp_path, server, no_sleep(monkeypatch), division)


def _reset_in(seconds: int) -> dict[str, str]:
    return {"x-rate-limit-reset": str(int(time.time()) + seconds)}


@dataclass
class Fault:
    name: str
    script: Callable[[], dict[str, list[Answer]]]
    states: dict[str, tuple[str, str | None]]  # collection -> (state, error kind)
    requests: dict[str, int] = field(default_factory=dict)  # path -> requests the run made
    slept: list[float] | None = None  # exact backoff waits, when the case has them
    outsiders: dict[str, str] | None = None  # the baseline's findings afterwards (subject suffix -> status)


DANA, OUTSIDE = "fakeplat:id:5001", "fakeplat:id:5002"
UNKNOWN_BOTH = {DANA: "unknown", OUTSIDE: "unknown"}
BOTH_STAY = {DANA: "persisting", OUTSIDE: "persisting"}

FAULTS = [
    Fault(
        "429 with reset header that fits the deadline: waited, then complete",
        lambda: {
            FOLLOWERS: [
                error(429, **_reset_in(30)),
                ok({"data": users(("5001", "r", "Dana Rivers"), ("5002", "s", "Outside Person"))}),
            ]
        },
        {"participants": ("complete", None)},
        {FOLLOWERS: 2},
        outsiders=BOTH_STAY,
    ),
    Fault(
        "429 with reset beyond the deadline after one page: partial rate-limited",
        lambda: {FOLLOWERS: [PAGE_1, error(429, **_reset_in(900))]},
        {"participants": ("partial", "rate-limited"), "posts": ("complete", None)},
        {FOLLOWERS: 2},
        slept=[],
        outsiders={DANA: "persisting", OUTSIDE: "unknown"},
    ),
    Fault(
        "429 without reset headers: backoff, then partial rate-limited",
        lambda: {FOLLOWERS: [PAGE_1, error(429)]},
        {"participants": ("partial", "rate-limited")},
        {FOLLOWERS: 5},
        slept=[1.0, 2.0, 4.0],
        outsiders={DANA: "persisting", OUTSIDE: "unknown"},
    ),
    Fault(
        "X usage-cap 429: never retried",
        lambda: {FOLLOWERS: [error(429, {"title": "UsageCapExceeded", "type": "usage-capped"})]},
        {"participants": ("failed", "quota"), "posts": ("complete", None)},
        {FOLLOWERS: 1},
        slept=[],
        outsiders=UNKNOWN_BOTH,
    ),
    Fault(
        "5xx burst then success",
        lambda: {
            FOLLOWERS: [
                error(503),
                error(502),
                error(500),
                ok({"data": users(("5002", "s", "Outside Person"))}),
            ]
        },
        {"participants": ("complete", None)},
        {FOLLOWERS: 4},
        slept=[1.0, 2.0, 4.0],
        outsiders={DANA: "resolved", OUTSIDE: "persisting"},
    ),
    Fault(
        "401 on the profile: every collection failed auth",
        lambda: {PROFILE: [error(401, {"title": "Unauthorized", "detail": "Unauthorized"})]},
        {"profile": ("failed", "auth"), "participants": ("failed", "auth"), "posts": ("failed", "auth")},
        {PROFILE: 1, FOLLOWERS: 0},
        outsiders=UNKNOWN_BOTH,
    ),
    Fault(
        "permission 403 on followers: unavailable, not retried",
        lambda: {FOLLOWERS: [error(403, {"title": "Forbidden", "reason": "client-not-enrolled"})]},
        {"participants": ("unavailable", "permission"), "posts": ("complete", None)},
        {FOLLOWERS: 1},
        outsiders=UNKNOWN_BOTH,
    ),
    Fault(
        "404: the account was deleted",
        lambda: {PROFILE: [error(404, {"title": "Not Found Error", "type": "resource-not-found"})]},
        {"profile": ("failed", "not-found"), "participants": ("failed", "not-found")},
        {PROFILE: 1},
        outsiders=UNKNOWN_BOTH,
    ),
    Fault(
        "HTTP 200 with an error body (Graph code 190)",
        lambda: {
            FOLLOWERS: [
                ok(
                    {
                        "error": {
                            "message": "Error validating access token",
                            "type": "OAuthException",
                            "code": 190,
                            "error_subcode": 463,
                        }
                    }
                )
            ]
        },
        {"participants": ("failed", "auth")},
        {FOLLOWERS: 1},
        outsiders=UNKNOWN_BOTH,
    ),
    Fault(
        "truncated JSON",
        lambda: {FOLLOWERS: [Answer(200, b'{"data": [{"id": "5001", "usern', {"Content-Type": "application/json"})]},
        {"participants": ("failed", "malformed")},
        {FOLLOWERS: 1},
        outsiders=UNKNOWN_BOTH,
    ),
    Fault(
        "HTML error page with HTTP 200",
        lambda: {POSTS: [Answer(200, "<html><body><h1>Something went wrong</h1></body></html>")]},
        {"posts": ("failed", "malformed"), "participants": ("complete", None)},
        {POSTS: 1},
        outsiders=BOTH_STAY,
    ),
    Fault(
        "HTML 502 from a proxy: retried, then failed",
        lambda: {POSTS: [Answer(502, "<html><body>502 Bad Gateway</body></html>")]},
        {"posts": ("failed", "retryable")},
        {POSTS: 4},
        outsiders=BOTH_STAY,
    ),
    Fault(
        "missing fields",
        lambda: {FOLLOWERS: [ok({"meta": {"result_count": 0}})]},
        {"participants": ("failed", "malformed")},
        outsiders=UNKNOWN_BOTH,
    ),
    Fault(
        "wrong types",
        lambda: {FOLLOWERS: [ok({"data": "5001,5002"})]},
        {"participants": ("failed", "malformed")},
        outsiders=UNKNOWN_BOTH,
    ),
    Fault(
        "timeout: retried, then failed",
        lambda: {FOLLOWERS: [HANG]},
        {"participants": ("failed", "retryable"), "posts": ("complete", None)},
        {FOLLOWERS: 4},
        outsiders=UNKNOWN_BOTH,
    ),
    Fault(
        "connection reset once, then success",
        lambda: {
            FOLLOWERS: [
                RESET,
                ok({"data": users(("5001", "r", "Dana Rivers"), ("5002", "s", "Outside Person"))}),
            ]
        },
        {"participants": ("complete", None)},
        {FOLLOWERS: 2},
        slept=[1.0],
        outsiders=BOTH_STAY,
    ),
    Fault(
        "connection reset every time",
        lambda: {FOLLOWERS: [RESET]},
        {"participants": ("failed", "retryable")},
        {FOLLOWERS: 4},
        outsiders=UNKNOWN_BOTH,
    ),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_the_run_survives(harness: Harness, fault: Fault, caplog: pytest.LogCaptureFixture) -> None:
    baseline, _ = harness.audit()
    assert baseline.exit_code in (EXIT_CLEAN, EXIT_FINDINGS)
    assert harness.findings(baseline.run_id) == {DANA: "new", OUTSIDE: "new"}
    assert baseline.report_folder is not None
    before = {p.name: p.read_bytes() for p in baseline.report_folder.iterdir()}

    harness.server.requests.clear()
    harness.slept.clear()
    for path, answers in fault.script().items():
        harness.server.script(path, *answers)
    with caplog.at_level(logging.DEBUG):
        outcome, report = harness.audit()

    coverage = {entry["account"]: entry for entry in report["coverage"]}
    assert coverage["club-manual"]["state"] == "complete", "the other account is audited whatever happens"
    for collection, (state, kind) in fault.states.items():
        status = coverage["fake-school"]["collections"][collection]
        assert (status["state"], status["error"]) == (state, kind), collection
        if state != "complete":
            assert status["reason"] and status["reason"].startswith(kind or "")
    incomplete = any(state != "complete" for state, _ in fault.states.values())
    assert outcome.exit_code == EXIT_INCOMPLETE if incomplete else outcome.exit_code in (EXIT_CLEAN, EXIT_FINDINGS)
    assert report["run"]["status"] == ("incomplete" if incomplete else "complete")
    assert ("fake-school" in outcome.incomplete_accounts) == incomplete
    for path, count in fault.requests.items():
        assert harness.server.hits(path) == count, path
    if fault.slept is not None:
        assert harness.slept == fault.slept
    if fault.name.startswith("429 with reset header that fits"):
        assert len(harness.slept) == 1 and 29 <= harness.slept[0] <= 32

    # Earlier data intact: the baseline's report is untouched, its findings are never lost.
    assert {p.name: p.read_bytes() for p in baseline.report_folder.iterdir()} == before
    assert (harness.root / "reports" / "latest").resolve() == outcome.report_folder.resolve()
    assert harness.findings(outcome.run_id) == fault.outsiders
    assert harness.findings(baseline.run_id) == {DANA: "new", OUTSIDE: "new"}
    # A clear cause, never a traceback (outside --verbose debugging) or a token.
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and "Traceback" in r.getMessage()]
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and r.exc_text]
    assert CANARY_TOKEN not in caplog.text
    assert CANARY_TOKEN not in json.dumps(report)


def test_a_crashing_connector_does_not_stop_the_other_accounts(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(self: Any, account: Any, cursor: Any) -> Any:
        raise RuntimeError(f"bug in the connector (token {CANARY_TOKEN})")

    monkeypatch.setattr(FakePlatformConnector, "pull", explode)
    with caplog.at_level(logging.INFO):
        outcome, report = harness.audit()
    coverage = {entry["account"]: entry for entry in report["coverage"]}
    assert coverage["club-manual"]["state"] == "complete"
    assert coverage["fake-school"]["state"] == "failed"
    assert "RuntimeError" in coverage["fake-school"]["collections"]["profile"]["reason"]
    assert outcome.exit_code == EXIT_INCOMPLETE
    assert CANARY_TOKEN not in caplog.text + json.dumps(report)


def test_people_outside_the_directory_are_stored_as_keyed_hashes(harness: Harness) -> None:
    from models.tables import Participant, Snapshot

    staff = harness.division / "directory" / "staff.csv"
    staff.write_text(
        staff.read_text(encoding="utf-8").replace(
            "Alex,Principal,active,", "Alex,Principal,active,fakeplat:river_parent"
        ),
        encoding="utf-8",
    )
    outcome, _ = harness.audit()
    engine = make_engine(Settings().database_url)
    with session(engine) as db:
        participants = db.exec(select(Participant)).all()
        snapshots = db.exec(select(Snapshot)).all()
    stored = json.dumps([p.model_dump() for p in participants]) + json.dumps([s.data for s in snapshots])
    for name in ("Outside Person", "stranger_77", "5002", "Pat Outsider", "pat_outsider"):
        assert name not in stored
    outsiders = [p for p in participants if p.handle != "river_parent"]
    assert len(outsiders) == 2 and {p.handle for p in outsiders} == {None}
    assert all(p.platform_id and p.platform_id.startswith("hmac:") for p in outsiders)
    # A directory person is kept as observed.
    assert [(p.platform_id, p.display_name) for p in participants if p.handle == "river_parent"] == [
        ("5001", "Dana Rivers")
    ]
    # The same person gives the same value next time: membership can still be compared.
    harness.audit()
    with session(engine) as db:
        ids = [p.platform_id for p in db.exec(select(Participant)).all()]
    assert len(ids) == 2 * len(participants) and len(set(ids)) == len(participants)
    # The findings still name who they are about: the report needs it.
    assert "Outside Person" in json.dumps(harness.findings_evidence(outcome.run_id))


def _many_accounts(harness: Harness, count: int) -> None:
    """`count` fake-platform accounts, each with its own followers (some shared, some not)."""
    registry = harness.division / "registry" / "accounts.yaml"
    text = registry.read_text(encoding="utf-8")
    for n in range(count):
        handle, user_id = f"school_{n}", str(9100 + n)
        text += (
            f"  - key: school-{n}\n    platform: fakeplat\n    handle: {handle}\n    school: School {n % 3}\n"
            "    purpose: News\n    kind: joint\n    audience: public\n    holders: [E1, E2]\n    admins: [E1, E2]\n"
        )
        harness.server.script(f"/users/{handle}", ok({"data": {"id": user_id, "username": handle, "name": handle}}))
        followers = [(str(5000 + k), f"person_{k}", f"Person Number{k}") for k in range(n, n + 3)]
        harness.server.script(f"/users/{user_id}/followers", ok({"data": users(*followers)}))
        harness.server.script(f"/users/{user_id}/posts", ok({"data": [{"id": f"p{n}", "text": "News"}]}))
    registry.write_text(text, encoding="utf-8")


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what legitimately differs between two runs (ids, clocks)."""
    findings = [
        {k: v for k, v in f.items() if k not in ("first_seen_run", "last_seen_run")} for f in report["findings"]
    ]
    return {
        "coverage": report["coverage"],
        "findings": findings,
        "summary": report["summary"],
        "spend": report["run"]["spend"],
    }


def test_concurrent_run_equals_sequential_run_and_respects_the_platform_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = []
    for name, concurrency in (("sequential", "{default: 1}"), ("concurrent", "{default: 4, fakeplat: 2}")):
        root = tmp_path / name
        root.mkdir()
        run_environment(monkeypatch, root)
        with FakePlatform() as server, fake_connector_installed(monkeypatch, server), outsider_rule():
            server.delay = 0.05
            standard_script(server)
            division = write_division(root, extra_policy=f"concurrency: {concurrency}\n")
            harness = Harness(root, server, no_sleep(monkeypatch), division)
            _many_accounts(harness, 6)
            outcome, report = harness.audit(as_of=AS_OF)
            assert outcome.exit_code != EXIT_INCOMPLETE
            assert len(report["coverage"]) == 8
            expected_peak = 1 if name == "sequential" else 2
            assert server.max_in_flight == expected_peak, f"{name}: at most {expected_peak} requests at once"
            reports.append(json.loads(json.dumps(_comparable(report)).replace(str(root), "<root>")))
    assert reports[0] == reports[1]


# --- through the real connectors ----------------------------------------------------------------
#
# Recorded faults (each connector's scenario cassettes) go through the whole pipeline; timeouts and
# connection resets, which vcrpy cannot replay, are raised by the HTTP transport itself.


def _registry_entry(account: RegisteredAccount) -> str:
    entry = {
        "key": account.key,
        "platform": account.platform,
        "school": "Test School",
        "purpose": "School news",
        "kind": "joint",
        "audience": account.audience,
        "holders": ["E1", "E2"],
        "admins": ["E1", "E2"],
    }
    if account.handle:
        entry["handle"] = account.handle
    if account.platform_id:
        entry["platform_id"] = account.platform_id
    return yaml.safe_dump([entry], sort_keys=False)


def _real_division(root: Path, account: RegisteredAccount) -> Path:
    division = write_division(root, with_fake=False)
    registry = division / "registry" / "accounts.yaml"
    entry = "".join(f"  {line}\n" for line in _registry_entry(account).splitlines())
    registry.write_text(registry.read_text(encoding="utf-8") + entry, encoding="utf-8")
    return division


def _real_environment(monkeypatch: pytest.MonkeyPatch, root: Path, scenario: Scenario | None = None) -> None:
    run_environment(monkeypatch, root)
    for name in [n for n in os.environ if n.startswith("ACCOUNT_")]:
        monkeypatch.delenv(name)
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    if scenario is not None:
        for name, value in {**scenario.env, **scenario.public}.items():
            monkeypatch.setenv(name, value)
        for name in scenario.unset:
            monkeypatch.delenv(name)
    install_log_scrubbing()


def _installed(platform: str) -> bool:
    return platform in {cls.name for cls in ConnectorRegistry.installed().values()}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s.platform}-{s.cassette}" for s in SCENARIOS])
def test_recorded_platform_faults_through_the_pipeline(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if not _installed(scenario.platform):
        pytest.skip(f"the {scenario.platform} connector is not installed")
    if scenario.cursor:
        pytest.skip("a nightly scenario needs an earlier run's store: tests/auditor/test_incremental_run.py")
    if scenario.lookup or scenario.search or scenario.following:
        pytest.skip("a discovery lookup or search, or a following read, not a pull: tests of their own")
    _real_environment(monkeypatch, tmp_path, scenario)
    no_sleep(monkeypatch)
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    shutil.copy(REPO / "cassettes" / scenario.platform / scenario.cassette, cassettes / f"{scenario.account.key}.yaml")
    monkeypatch.setenv("AUDITOR_CASSETTE_DIR", str(cassettes))
    division = _real_division(tmp_path, scenario.account)

    # What the connector alone makes of the recording is what the report must say.
    cls = ConnectorRegistry.installed()[scenario.platform]
    context = context_for(
        cls,
        policy=load_division(division).policy,
        as_of=AS_OF,
        deadline=Deadline(900),
        full=True,
        sleep=lambda _s: None,
    )
    with make_vcr(cassettes).use_cassette(f"{scenario.account.key}.yaml"):
        direct = cls(context).pull(scenario.account, {})

    with caplog.at_level(logging.INFO):
        first = execute_run(load_division(division), Settings(), full=True, as_of=AS_OF)
    assert first.report_folder is not None
    earlier = {p.name: p.read_bytes() for p in first.report_folder.iterdir()}
    second = execute_run(load_division(division), Settings(), full=True, as_of=AS_OF)
    assert second.report_folder is not None
    report = json.loads((second.report_folder / "report.json").read_text(encoding="utf-8"))

    coverage = {entry["account"]: entry for entry in report["coverage"]}
    assert coverage["club-manual"]["state"] == "complete"
    collections = coverage[scenario.account.key]["collections"]
    for name, status in direct.collections.items():
        assert (collections[name]["state"], collections[name]["error"]) == (status.state.value, status.error), name
        if status.state.value in ("failed", "partial", "unavailable"):
            assert collections[name]["reason"], f"{name}: the report must say why"
    incomplete = any(s["state"] in ("failed", "partial", "unavailable") for s in collections.values())
    assert second.exit_code == EXIT_INCOMPLETE if incomplete else second.exit_code in (EXIT_CLEAN, EXIT_FINDINGS)
    assert {p.name: p.read_bytes() for p in first.report_folder.iterdir()} == earlier
    if incomplete:
        statuses = {f["status"] for f in report["findings"] if f["account"] == scenario.account.key}
        assert "resolved" not in statuses, "a finding of an account not fully audited is never resolved"
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and r.exc_text]
    secrets = [v for k, v in {**CANARIES, **scenario.env}.items() if k not in NOT_SECRET]
    assert not [s for s in secrets if s in caplog.text + json.dumps(report)]


REAL_ACCOUNTS = {
    "twitter": account("phrd-x", "twitter", "@PrairieHillsSD", "2931447021"),
    "facebook": account("hhs-drama-fb", "facebook", "", "108000000000202"),
    "youtube": account("hhs-science-yt", "youtube", "", "UChhsScienceClub0000000A"),
}


def _break_transport(monkeypatch: pytest.MonkeyPatch, fault: str) -> list[str]:
    """Every HTTP request of requests (X, Facebook) and httplib2 (YouTube) times out or is reset."""
    attempts: list[str] = []

    def requests_send(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(str(request.url))
        if fault == "timeout":
            raise requests.exceptions.ReadTimeout("HTTPSConnectionPool: Read timed out. (read timeout=30)")
        raise requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))

    def httplib2_request(http: Any, uri: str, *args: Any, **kwargs: Any) -> Any:
        attempts.append(uri)
        if fault == "timeout":
            raise TimeoutError("timed out")
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", requests_send)
    monkeypatch.setattr(httplib2.Http, "request", httplib2_request)
    return attempts


@pytest.mark.parametrize("fault", ["timeout", "reset"])
@pytest.mark.parametrize("platform", sorted(REAL_ACCOUNTS))
def test_timeouts_and_resets_through_the_real_connectors(
    platform: str, fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if not _installed(platform):
        pytest.skip(f"the {platform} connector is not installed")
    target = REAL_ACCOUNTS[platform]
    _real_environment(monkeypatch, tmp_path)
    slept = no_sleep(monkeypatch)
    division = _real_division(tmp_path, target)
    attempts = _break_transport(monkeypatch, fault)

    with caplog.at_level(logging.INFO):
        outcome = execute_run(load_division(division), Settings(), full=True, as_of=AS_OF)

    assert outcome.exit_code == EXIT_INCOMPLETE
    assert outcome.report_folder is not None
    report = json.loads((outcome.report_folder / "report.json").read_text(encoding="utf-8"))
    coverage = {entry["account"]: entry for entry in report["coverage"]}
    assert coverage["club-manual"]["state"] == "complete"
    profile = coverage[target.key]["collections"]["profile"]
    assert (profile["state"], profile["error"]) == ("failed", "retryable"), profile
    # Retried with backoff, then given up: attempts counted per endpoint, waits logged.
    attempted = report["run"]["spend"]["requests"][platform]
    assert RetryPolicy().max_attempts in attempted.values(), attempted
    assert slept[: RetryPolicy().max_attempts - 1] == [1.0, 2.0, 4.0]
    assert len(attempts) >= RetryPolicy().max_attempts
    assert "retrying" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and r.exc_text]
    secrets = [v for k, v in CANARIES.items() if k not in NOT_SECRET]
    assert not [s for s in secrets if s in caplog.text + json.dumps(report)]
