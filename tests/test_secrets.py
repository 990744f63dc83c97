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
from connectors.base import Connector, ConnectorContext, KnownParticipants, SnapshotBuilder, available_connectors
from connectors.recording import make_vcr
from connectors.resilience import Deadline
from connectors.scrub import forget_secrets, install_log_scrubbing
from models.snapshot import AccountSnapshot
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
    return {cls.name for cls in available_connectors().values()} - {"manual"}


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
    cls = available_connectors()[scenario.platform]
    sleeps: list[float] = []
    known = KnownParticipants(set(scenario.known))
    context = ConnectorContext(
        settings=Settings(),
        policy=Policy(x_public_follower_lists="nightly"),  # nightly scenarios read new followers
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
    if not (scenario.lookup or scenario.search):
        return connector.pull(scenario.account, dict(scenario.cursor))
    builder = SnapshotBuilder(f"{connector.name}:discovery", connector.name, AS_OF)
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
