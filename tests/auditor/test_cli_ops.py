"""`auditor record`, `auditor doctor` and `auditor purge`, against the fake platform on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlmodel import func, select
from typer.testing import CliRunner

from auditor.cli import app
from auditor.inputs import load_division
from auditor.privacy import hmac_key
from auditor.run import EXIT_BAD_INPUT, EXIT_LOCKED, execute_run, run_lock
from auditor.settings import Settings
from connectors.recording import make_vcr
from connectors.resilience import Deadline
from models.db import make_engine, session
from models.tables import Finding, Participant, Snapshot
from tests.contexts import context_for
from tests.fakeplatform import (
    CANARY_TOKEN,
    FakePlatform,
    FakePlatformConnector,
    error,
    fake_connector_installed,
    no_sleep,
    ok,
    outsider_rule,
    run_environment,
    standard_script,
    write_division,
)

runner = CliRunner()


@dataclass
class Site:
    root: Path
    server: FakePlatform
    division: Path

    def cli(self, *args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    def count(self, table: type) -> int:
        with session(make_engine(Settings().database_url)) as db:
            return int(db.exec(select(func.count()).select_from(table)).one())


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    run_environment(monkeypatch, tmp_path)
    monkeypatch.setenv("AUDITOR_HMAC_KEY", "test-hmac-key-for-pseudonyms")
    no_sleep(monkeypatch)
    with FakePlatform() as server, fake_connector_installed(monkeypatch, server), outsider_rule():
        standard_script(server)
        division = write_division(tmp_path)
        staff = division / "directory" / "staff.csv"
        # Dana Rivers (river_parent) is a directory person; Outside Person (stranger_77) is not.
        staff.write_text(
            staff.read_text(encoding="utf-8") + "E3,community,Test School,Dana,Rivers,active,fakeplat:river_parent\n",
            encoding="utf-8",
        )
        yield Site(tmp_path, server, division)


# --- record ---------------------------------------------------------------------------------------


def test_record_writes_a_scrubbed_pseudonymised_cassette_that_replays(site: Site) -> None:
    cassettes = site.root / "cassettes"
    code, output = site.cli(
        "record", "fake-school", "--division", str(site.division), "--output", str(cassettes), "--pseudonymise"
    )
    assert code == 0, output
    cassette = cassettes / "fake-school.yaml"
    content = cassette.read_text(encoding="utf-8")
    assert CANARY_TOKEN not in content
    assert "session=" not in content.lower()  # the cookie header is dropped
    interactions = yaml.safe_load(content)["interactions"]
    traffic = " ".join(i["request"]["uri"] + i["response"]["body"]["string"] for i in interactions)
    for outsider in ("Outside Person", "stranger_77", "5002"):
        assert outsider not in traffic
    for kept in ("Dana Rivers", "river_parent", "fake_school", "9001"):  # directory person, the account itself
        assert kept in traffic
    assert [i["request"]["uri"].split("?")[0].rsplit("/", 1)[-1] for i in interactions] == [
        "fake_school",
        "followers",
        "posts",
    ]

    # The recording replays without the platform, with the same pseudonym wherever it appears.
    requests_before = len(site.server.requests)
    division = load_division(site.division)
    account = next(a for a in division.accounts if a.key == "fake-school")
    context = context_for(FakePlatformConnector, policy=division.policy, as_of=datetime.now(UTC), deadline=Deadline(60))
    with make_vcr(cassettes).use_cassette("fake-school.yaml"):
        snapshot = FakePlatformConnector(context).pull(account, {})
    assert len(site.server.requests) == requests_before
    names = sorted(p.display_name or "" for p in snapshot.participants)
    assert names[0] == "Dana Rivers" and names[1].startswith("Person ")
    assert traffic.count(names[1]) == 1


def test_record_refuses_to_overwrite_without_force_and_pseudonyms_are_stable(site: Site) -> None:
    cassettes = site.root / "cassettes"
    args = ["record", "fake-school", "--division", str(site.division), "--output", str(cassettes), "--pseudonymise"]
    assert site.cli(*args)[0] == 0
    first = (cassettes / "fake-school.yaml").read_text(encoding="utf-8")
    pseudonym = next(
        w
        for w in yaml.safe_load(first)["interactions"][1]["response"]["body"]["string"].split('"')
        if w.startswith("Person ")
    )
    code, output = site.cli(*args)
    assert code == EXIT_BAD_INPUT and "--force" in output
    assert (cassettes / "fake-school.yaml").read_text(encoding="utf-8") == first
    assert site.cli(*args, "--force")[0] == 0
    again = (cassettes / "fake-school.yaml").read_text(encoding="utf-8")
    assert pseudonym in yaml.safe_load(again)["interactions"][1]["response"]["body"]["string"]


def test_record_refuses_a_manual_account(site: Site) -> None:
    code, output = site.cli("record", "club-manual", "--division", str(site.division))
    assert code == EXIT_BAD_INPUT and "no traffic to record" in output


def _pieces(value: str) -> list[str]:
    return [value[i : i + 8] for i in range(len(value) - 7) if len(set(value[i : i + 8])) >= 4]


def test_record_scrubs_a_credential_echoed_in_response_headers(site: Site) -> None:
    """A server that echoes the credential, HTTP Basic style, in a header of its answer."""
    import base64

    echo = base64.b64encode(b"fake_school:" + CANARY_TOKEN.encode()).decode()
    site.server.script(
        "/users/fake_school",
        ok(
            {"data": {"id": "9001", "username": "fake_school", "name": "Fake School"}},
            **{"X-Debug-Auth": f"Basic {echo}", "X-Token-Hint": CANARY_TOKEN[4:30]},
        ),
    )
    cassettes = site.root / "cassettes"
    code, output = site.cli("record", "fake-school", "--division", str(site.division), "--output", str(cassettes))
    assert code == 0, output
    content = (cassettes / "fake-school.yaml").read_text(encoding="utf-8")
    assert "X-Debug-Auth" in content  # the header is kept, its value scrubbed
    assert not [p for p in _pieces(echo[16:]) + _pieces(CANARY_TOKEN) if p in content]


def test_record_refuses_a_cassette_that_still_holds_an_encoded_secret(site: Site) -> None:
    """A body that is not UTF-8 cannot be scrubbed as text: vcrpy stores it as base64 `!!binary`,
    where the token sits at any alignment and across folded lines. The scan finds it."""
    site.server.script("/users/9001/posts", ok(b"\xff\xfe token=" + CANARY_TOKEN.encode() + b" \xff"))
    cassettes = site.root / "cassettes"
    code, output = site.cli("record", "fake-school", "--division", str(site.division), "--output", str(cassettes))
    assert code == EXIT_BAD_INPUT, output
    assert output.strip().startswith("Refused: the recording held a secret") and len(output.strip().splitlines()) == 1
    assert not (cassettes / "fake-school.yaml").exists()


def test_record_without_credentials_ends_with_one_line_and_keeps_nothing(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACCOUNT_FAKEPLAT_TOKEN")
    site.server.script("/users/fake_school", error(401, {"title": "Unauthorized", "type": "about:blank"}))
    cassettes = site.root / "cassettes"
    code, output = site.cli("record", "fake-school", "--division", str(site.division), "--output", str(cassettes))
    assert code == EXIT_BAD_INPUT, output
    [line] = output.strip().splitlines()
    assert line.startswith("Refused: profile failed for lack of working credentials (")
    assert "auditor doctor" in line
    assert not (cassettes / "fake-school.yaml").exists()


@pytest.mark.parametrize("problem", ["bad settings", "output is a file", "connector crash"])
def test_record_problems_end_with_one_clear_line_never_a_traceback(
    site: Site, monkeypatch: pytest.MonkeyPatch, problem: str
) -> None:
    cassettes = site.root / "cassettes"
    expected = {
        "bad settings": "Settings error (environment or .env): SMTP_PORT: ",
        "output is a file": "Record failed: FileExistsError: ",
        "connector crash": "Record failed: RuntimeError: the SDK broke; nothing was kept.",
    }[problem]
    if problem == "bad settings":
        monkeypatch.setenv("SMTP_PORT", "not-a-port")
    elif problem == "output is a file":
        cassettes.write_text("not a folder", encoding="utf-8")
    else:

        def crash(self: FakePlatformConnector, account: object, cursor: object) -> None:
            raise RuntimeError("the SDK broke")

        monkeypatch.setattr(FakePlatformConnector, "pull", crash)
    result = runner.invoke(app, ["record", "fake-school", "--division", str(site.division), "--output", str(cassettes)])
    assert isinstance(result.exception, SystemExit) and result.exit_code == EXIT_BAD_INPUT, result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    line = lines[0]
    assert line.startswith(expected), line
    assert "Traceback" not in result.output
    assert not (cassettes / "fake-school.yaml").exists()


# --- doctor ---------------------------------------------------------------------------------------


def _debug_token(site: Site, days: float) -> None:
    expires = int(time.time() + days * 86400)
    site.server.script(
        "/debug_token",
        ok({"data": {"is_valid": True, "expires_at": expires, "scopes": ["pages_show_list", "pages_read_engagement"]}}),
    )


def test_doctor_warns_fourteen_days_before_a_token_expires(site: Site) -> None:
    _debug_token(site, 9.5)
    code, output = site.cli("doctor", "--division", str(site.division))
    assert code == 1, output
    assert "expires in 9 day(s)" in output and "renew" in output
    assert "pages_read_engagement" in output
    assert "reachable" in output  # the database was checked
    assert CANARY_TOKEN not in output


def test_doctor_is_quiet_when_everything_is_healthy(site: Site) -> None:
    _debug_token(site, 60)
    code, output = site.cli("doctor", "--division", str(site.division))
    assert code == 0, output
    assert "warning" not in output and "failed" not in output


def test_doctor_fails_on_a_refused_token(site: Site) -> None:
    site.server.script("/debug_token", error(401, {"title": "Unauthorized"}))
    code, output = site.cli("doctor", "--division", str(site.division))
    assert code == 2
    assert "auth HTTP 401" in output and CANARY_TOKEN not in output


def test_doctor_flags_folders_others_can_read(site: Site) -> None:
    _debug_token(site, 60)
    reports = site.root / "reports"
    reports.mkdir(mode=0o755)
    reports.chmod(0o755)
    code, output = site.cli("doctor", "--division", str(site.division))
    assert code == 1 and "chmod 700" in output


def test_the_hmac_key_is_made_outside_the_data_folders(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_HMAC_KEY")
    key = hmac_key(Settings())
    made = site.root / "config" / "school-social-auditor" / "hmac.key"
    assert made.read_text(encoding="utf-8").strip().encode() == key
    assert oct(made.stat().st_mode & 0o777) == "0o600"
    assert not list(site.root.glob("var/*.key")) and not list(site.root.glob("reports/**/*.key"))
    _debug_token(site, 60)
    code, output = site.cli("doctor", "--division", str(site.division))
    assert code == 0 and "outside the data folders" in " ".join(output.replace("│", " ").split()), output


def test_doctor_warns_when_the_hmac_key_sits_beside_the_data(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_HMAC_KEY")
    monkeypatch.setenv("AUDITOR_HMAC_KEY_FILE", str(site.root / "var" / "hmac.key"))  # beside auditor.db
    _debug_token(site, 60)
    code, output = site.cli("doctor", "--division", str(site.division))
    assert code == 1, output
    text = " ".join(output.replace("│", " ").split())  # the table's wrapped cells, read as sentences
    assert "sits in a data folder" in text and "AUDITOR_HMAC_KEY_FILE" in text


def test_a_key_an_earlier_release_made_beside_the_data_is_still_used(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Moving the key silently would change every outsider's keyed identity; doctor asks to move it."""
    monkeypatch.delenv("AUDITOR_HMAC_KEY")
    legacy = site.root / "var" / "hmac.key"
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_text("ab" * 32, encoding="utf-8")
    assert hmac_key(Settings()) == b"ab" * 32
    _debug_token(site, 60)
    code, output = site.cli("doctor", "--division", str(site.division))
    assert code == 1 and "sits in a data folder" in " ".join(output.replace("│", " ").split()), output


# --- purge ----------------------------------------------------------------------------------------


def test_purge_deletes_old_snapshots_and_keeps_findings(site: Site) -> None:
    now = datetime.now(UTC)
    division = load_division(site.division)
    for days_ago in (200, 100, 0):
        execute_run(division, Settings(), as_of=now - timedelta(days=days_ago))
    assert site.count(Snapshot) == 6
    findings = site.count(Finding)
    participants = site.count(Participant)

    code, output = site.cli("purge", "--division", str(site.division))
    assert code == 0, output
    assert "Purged 4 snapshot(s)" in output
    assert site.count(Snapshot) == 2
    assert site.count(Finding) == findings
    assert site.count(Participant) == participants // 3

    # Each account's newest snapshot stays whatever its age: reconciliation still finds its findings.
    assert site.cli("purge", "--division", str(site.division), "--days", "1")[0] == 0
    assert site.count(Snapshot) == 2
    outcome = execute_run(division, Settings(), as_of=now + timedelta(days=400))
    assert outcome.findings_by_status.get("new", 0) == 0


def test_purge_waits_for_no_run(site: Site) -> None:
    settings = Settings()
    with run_lock(settings.lock_file, make_engine(settings.database_url)):  # as a run holds it: by its database
        code, output = site.cli("purge", "--division", str(site.division))
    assert code == EXIT_LOCKED and "in progress" in output
