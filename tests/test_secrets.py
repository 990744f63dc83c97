"""Secret hygiene: canary tokens through every connector scenario and the whole demo run at DEBUG,
and a scan of every tracked file for token shapes.

A canary is a unique value given as the credential. If it shows up in a log line, an exception
message, a snapshot, the database, a report or a cassette, a secret would have leaked there.
Every connector's scenario cassettes must be listed in SCENARIOS, so that a new connector or a
new cassette cannot land without going through this test.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.policy import Policy
from auditor.settings import Settings
from connectors.base import Connector, KnownParticipants, SnapshotBuilder
from connectors.recording import make_vcr
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline
from connectors.scrub import forget_secrets, install_log_scrubbing
from models.snapshot import AccountSnapshot
from tests.contexts import context_for
from tests.scenarios import CANARIES, NOT_SECRET, SCENARIOS, Scenario

NOISY_LOGGERS = (
    "urllib3",
    "requests_oauthlib",
    "oauthlib",
    "tweepy",
    "googleapiclient",
    "httplib2",
    "vcr",
    "facebook_business",
)

REPO = Path(__file__).resolve().parents[1]
CASSETTES = REPO / "cassettes"
AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)


def _installed_platforms() -> set[str]:
    return {cls.name for cls in ConnectorRegistry.installed().values()} - {"manual"}


def _secret_values(extra: dict[str, str] | None = None) -> list[str]:
    values = [v for k, v in CANARIES.items() if k not in NOT_SECRET]
    return values + list((extra or {}).values())


def _assert_clean(text: str, where: str, secrets: list[str]) -> None:
    leaked = [s for s in secrets if s in text]
    assert not leaked, f"{leaked} leaked into {where}"
    for shape in ("appsecret_proof=", "access_token=", "key=", "Bearer "):
        for match in re.finditer(re.escape(shape) + r"([^&\s\"'<>]*)", text):
            assert match.group(1).startswith("REDACTED") or match.group(1) == "", f"{match.group(0)} in {where}"


@pytest.fixture
def canaries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    install_log_scrubbing()
    yield
    forget_secrets()


def _debug_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in NOISY_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s.platform}-{s.cassette}" for s in SCENARIOS])
def test_connector_scenarios_at_debug_leak_no_canary(
    scenario: Scenario,
    canaries: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    if scenario.platform not in _installed_platforms():
        pytest.skip(f"the {scenario.platform} connector is not installed")
    for name, value in {**scenario.env, **scenario.public}.items():
        monkeypatch.setenv(name, value)
    for name in scenario.unset:
        monkeypatch.delenv(name)
    _debug_everything(caplog)
    cls = ConnectorRegistry.installed()[scenario.platform]
    sleeps: list[float] = []
    known = KnownParticipants(set(scenario.known))
    context = context_for(
        cls,
        policy=Policy(
            connectors={"twitter": {"public_follower_lists": "nightly"}}
        ),  # nightly scenarios read new followers
        as_of=AS_OF,
        deadline=Deadline(3600),
        full=not scenario.cursor,  # a nightly scenario starts from the previous run's cursor and followers
        sleep=sleeps.append,
        known_participants=(lambda _key: known) if scenario.cursor else None,
    )
    with make_vcr(CASSETTES / scenario.platform).use_cassette(scenario.cassette) as cassette:
        snapshot = _replay(cls(context), scenario)
    assert cassette.all_played, "the scenario did not replay its whole cassette: the test would prove less"

    secrets = _secret_values(scenario.env)
    out, err = capfd.readouterr()
    _assert_clean(caplog.text, "logs", secrets)
    _assert_clean(out + err, "stdout/stderr", secrets)
    _assert_clean(snapshot.model_dump_json(), "the snapshot (reasons, notes, urls)", secrets)
    assert caplog.records, "the scenario logged nothing at DEBUG: the test would prove nothing"


def _replay(connector: Connector, scenario: Scenario) -> AccountSnapshot:
    """A pull, or discovery's lookup or search (its results kept in the snapshot's notes to be checked too)."""
    if not (scenario.lookup or scenario.search or scenario.following):
        return connector.pull(scenario.account, dict(scenario.cursor))
    builder = SnapshotBuilder(f"{connector.name}:discovery", connector.name, AS_OF)
    if scenario.following:
        builder.snapshot.notes += [str(i) for i in connector.read_following(scenario.following, builder).identities]
    if scenario.lookup:
        found = connector.lookup_accounts(list(scenario.lookup), builder)
        builder.snapshot.notes += [f"{f.handle}: {f.profile} {f.problem}" for f in found]
    if scenario.search:
        builder.snapshot.notes += [str(p) for p in connector.search_accounts(scenario.search, builder)]
    assert builder.snapshot.notes, "the discovery scenario found nothing: the test would prove less"
    return builder.snapshot


def test_every_connector_cassette_is_a_canary_scenario() -> None:
    listed = {(s.platform, s.cassette) for s in SCENARIOS}
    for platform in sorted(_installed_platforms()):
        folder = CASSETTES / platform
        recorded = {(platform, p.name) for p in folder.glob("*.yaml")} if folder.is_dir() else set()
        missing = recorded - listed
        assert not missing, f"add these cassettes to SCENARIOS in tests/test_secrets.py: {sorted(missing)}"


def test_the_demo_run_at_debug_leaks_no_canary(
    canaries: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The whole pipeline (every connector's demo cassettes, store, reports, log file), with every
    library at DEBUG (the command line would quieten some of them: this test does not)."""
    from auditor.cli import DEMO_AS_OF, demo_cassette_dir, demo_division_dir
    from auditor.inputs import load_division
    from auditor.logs import attach_log_file
    from auditor.run import execute_run

    output = tmp_path / "demo-output"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{output / 'auditor.db'}")
    monkeypatch.setenv("AUDITOR_REPORT_DIR", str(output / "reports"))
    monkeypatch.setenv("AUDITOR_LOCK_FILE", str(output / "auditor.lock"))
    monkeypatch.setenv("AUDITOR_CASSETTE_DIR", str(demo_cassette_dir()))
    _debug_everything(caplog)
    log_file = attach_log_file(tmp_path / "logs", logging.DEBUG)
    try:
        outcome = execute_run(load_division(demo_division_dir()), Settings(), full=True, as_of=DEMO_AS_OF)
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "baseFilename", None) == str(log_file)]:
            root.removeHandler(handler)
            handler.close()
    assert outcome.report_folder is not None
    secrets = _secret_values()
    assert any("Making API request" in r.getMessage() for r in caplog.records) or not outcome.requests
    _assert_clean(caplog.text, "logs", secrets)
    written = [p for p in output.rglob("*") if p.is_file()] + list((tmp_path / "logs").glob("*"))
    assert any(p.name == "auditor.db" for p in written) and any(p.name == "report.json" for p in written)
    for path in written:
        _assert_clean(path.read_bytes().decode("utf-8", "replace"), str(path.relative_to(tmp_path)), secrets)


def test_cassettes_hold_no_credential() -> None:
    """What the replays send is filtered at record time: no header, query or body keeps a credential."""
    for path in sorted(CASSETTES.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        _assert_clean(text, str(path.relative_to(REPO)), _secret_values())
        assert not re.search(r"(?im)^\s*(cookie|set-cookie|x-goog-api-key):", text), path
        for header in re.findall(r"(?im)^\s*authorization:\n\s*-\s*(.+)$", text):
            assert "REDACTED" in header, f"{path}: authorization header kept"


# --- every tracked file ---------------------------------------------------------------------------

# The shapes of real tokens (as /work/shared/hooks/before-stop scans for them); placeholders such
# as REDACTED do not match.
TOKEN_SHAPES = re.compile(
    r"(Bearer [A-Za-z0-9%._-]{30,}|AAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{20,}|EAA[A-Za-z0-9]{40,}|"
    r"ya29\.[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}|access_token=[A-Za-z0-9%._-]{30,}|"
    r"oauth_signature=\"[^\"]{10,}\"|client_secret\"?[:=] *\"?[A-Za-z0-9_-]{20,}|"
    r"appsecret_proof=[0-9a-f]{64}|-----BEGIN [A-Z ]*PRIVATE KEY-----)"
)
PLACEHOLDER = re.compile(r"(?i)redacted|xxxx|dummy|fake|example|test-token|not-real|canary")


def _tracked_files() -> list[Path]:
    try:
        names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [REPO / n for n in names.decode().split("\0") if n]


def test_no_tracked_file_holds_a_token() -> None:
    hits = []
    files = _tracked_files()
    assert len(files) > 20
    for path in files:
        if not path.is_file() or path.suffix in (".png", ".jpg", ".gz", ".zip", ".whl", ".sqlite", ".db"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for match in TOKEN_SHAPES.finditer(line):
                if not PLACEHOLDER.search(line):
                    hits.append(f"{path.relative_to(REPO)}:{number}: {match.group(0)[:40]}")
    assert not hits, "possible secrets in tracked files:\n" + "\n".join(hits)


# Built at run time, so that this file itself holds no token shape.
REAL_SHAPES = [
    "Authorization: Bearer " + "A" * 21 + "MLheAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI",
    "uri: https://graph.facebook.com/v21.0/me?access_" + "token=EAA" + "GmZBqZC1ZBOZAxZCZCZAhZ" * 3,
    "https://www.googleapis.com/youtube/v3/channels?key=" + "AI" + "zaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    '"client_' + 'secret": "GOCSPX-4fj39dk3k2k1jd93kdkeld"',
]


@pytest.mark.parametrize("line", REAL_SHAPES)
def test_the_scan_recognises_real_token_shapes(line: str) -> None:
    assert TOKEN_SHAPES.search(line) and not PLACEHOLDER.search(line)


# --- a server that echoes pieces and encodings of every configured secret --------------------------


def _random_secret(prefix: str, length: int, alphabet: str = "") -> str:
    """A fresh credential per test run, shaped like the platform's own (built here, never stored)."""
    import secrets as random_source
    import string

    characters = alphabet or string.ascii_letters + string.digits
    return prefix + "".join(random_source.choice(characters) for _ in range(length))


def _echoes(secret: str) -> list[str]:
    """What a careless server sends back: pieces of the secret, its base64 (alone, HTTP Basic
    `user:secret`, SMTP AUTH PLAIN `\\0user\\0secret`, with users of 1 to 3 letters so that the secret
    starts at each of base64's 3 alignments, standard and URL-safe alphabets) and its percent-encoding."""
    import base64
    from urllib.parse import quote

    raw = secret.encode()
    forms = [secret[3:38], secret[5:27], secret[-12:], quote(secret, safe=""), base64.b64encode(raw).decode()]
    for user in (b"a", b"ab", b"abc"):
        forms.append(base64.b64encode(user + b":" + raw).decode())
        forms.append(base64.b64encode(b"\0" + user + b"\0" + raw).decode())
        forms.append(base64.urlsafe_b64encode(user + b":" + raw).decode())
    return forms


def _leaked_pieces(text: str, originals: list[str]) -> list[str]:
    """Every 8-character window of a secret or of an echoed encoding that survived in `text`.

    Windows of fewer than 4 distinct characters are left out: "AAAAAAAA" is the public prefix of
    every X app token and "00000000" the middle of every Graph id; they reveal nothing."""
    found = set()
    for original in originals:
        for i in range(len(original) - 7):
            window = original[i : i + 8]
            if len(set(window)) >= 4 and window in text:
                found.add(window)
    return sorted(found)


class _WebhookReceiver:
    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from threading import Thread

        self.bodies: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


def test_a_server_echoing_pieces_and_encodings_of_secrets_leaks_none_into_any_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from auditor.inputs import load_division
    from auditor.logs import attach_log_file
    from auditor.run import execute_run
    from tests.fakeplatform import (
        FakePlatform,
        error,
        fake_connector_installed,
        no_sleep,
        ok,
        outsider_rule,
        run_environment,
        users,
        write_division,
    )

    receiver = _WebhookReceiver()
    receiver.thread.start()
    run_environment(monkeypatch, tmp_path)
    no_sleep(monkeypatch)
    configured = {
        "X_BEARER_TOKEN": _random_secret("A" * 21, 90) + "%3D",
        "YOUTUBE_API_KEY": _random_secret("AI" + "za", 35),
        "FACEBOOK_ACCESS_TOKEN": _random_secret("EA" + "A", 120),
        "SMTP_PASSWORD": _random_secret("pw", 24, "abcdefghjkmnpqrstuvwxyz23456789/+=&@!"),
        "ACCOUNT_FAKEPLAT_TOKEN": _random_secret("fkp", 40),
        "AUDITOR_HMAC_KEY": _random_secret("hk", 30),
    }
    hook_token = _random_secret("", 32)
    for name, value in configured.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SMTP_USER", "auditor@division.test")
    monkeypatch.setenv("AUDITOR_WEBHOOK_URL", f"http://127.0.0.1:{receiver.port}/hooks/{hook_token}")
    monkeypatch.setenv("AUDITOR_WEBHOOK_ALLOW_HTTP_LOOPBACK", "true")
    secret_values = [*configured.values(), hook_token]
    echoed = [form for value in secret_values for form in _echoes(value)]
    blob = " · ".join(echoed)

    install_log_scrubbing()  # as the command line does
    _debug_everything(caplog)
    log_file = attach_log_file(tmp_path / "logs", logging.DEBUG)
    try:
        with FakePlatform() as server, fake_connector_installed(monkeypatch, server), outsider_rule():
            server.script("/users/fake_school", ok({"data": {"id": "9001", "username": "fake_school", "name": blob}}))
            server.script(
                "/users/9001/followers",
                ok({"data": users(("5002", "stranger_77", blob), ("5003", "echo_" + echoed[0][:8], echoed[1]))}),
            )
            server.script("/users/9001/posts", ok({"data": [{"id": "p1", "text": blob}, {"id": "p2", "text": blob}]}))
            # A second account whose posts fail with an error message that quotes the credentials.
            server.script("/users/fake_two", ok({"data": {"id": "9002", "username": "fake_two", "name": "Two"}}))
            server.script("/users/9002/followers", ok({"data": [], "meta": {"result_count": 0}}))
            server.script("/users/9002/posts", error(400, {"error": {"message": f"bad token: {blob}", "code": 100}}))
            division = write_division(
                tmp_path, extra_policy="sinks:\n  - kind: webhook\n    min_severity: info\n    new_only: false\n"
            )
            registry = division / "registry" / "accounts.yaml"
            registry.write_text(
                registry.read_text(encoding="utf-8")
                + "  - key: fake-two\n    platform: fakeplat\n    handle: fake_two\n    school: Test School\n"
                "    purpose: School news\n    kind: joint\n    audience: public\n    holders: [E1, E2]\n"
                "    admins: [E1, E2]\n",
                encoding="utf-8",
            )
            outcome = execute_run(load_division(division), Settings(), full=True)
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "baseFilename", None) == str(log_file)]:
            root.removeHandler(handler)
            handler.close()
        receiver.server.shutdown()
        receiver.server.server_close()

    assert outcome.report_folder is not None and receiver.bodies, outcome.failed_notifications
    report_files = {p.name: p for p in outcome.report_folder.iterdir()}
    assert {"report.json", "report.csv", "report.html", "summary.md"} <= set(report_files)
    databases = [p for p in (tmp_path / "var").iterdir() if p.name.startswith("auditor.db")]
    outputs = {
        **{name: path.read_bytes().decode("utf-8", "replace") for name, path in report_files.items()},
        **{db.name: db.read_bytes().decode("latin-1") for db in databases},
        "auditor.log": (tmp_path / "logs" / "auditor.log").read_text(encoding="utf-8"),
        "captured log": caplog.text,
        "webhook payload": "\n".join(receiver.bodies),
    }
    leaks = {where: _leaked_pieces(text, secret_values + echoed) for where, text in outputs.items()}
    assert not any(leaks.values()), {where: len(pieces) for where, pieces in leaks.items() if pieces}
    assert "REDACTED" in outputs["report.json"]  # the echoes did reach the report: scrubbed, not lost
