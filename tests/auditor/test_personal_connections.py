"""staff-student-personal-connection through the real pipeline (opt-in): a division whose X account is replayed,
the read of whom a staff member's declared personal account follows replayed from
cassettes/twitter/personal_following.yaml, and who gets to see the result (the school's principal only)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.connections import personal_accounts_by_platform
from auditor.inputs import load_division
from auditor.notify import route
from auditor.policy import SinkPolicy
from auditor.report.publish import publish_run
from auditor.run import execute_run
from auditor.settings import Settings
from auditor.spend import estimate_run
from connectors.registry import ConnectorRegistry
from connectors.twitter.connector import EP_FOLLOWING
from models.db import init_db, make_engine
from models.tables import Severity
from tests.auditor.test_discovery_run import CASSETTES, REGISTRY

AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
RULE = "staff-student-personal-connection"
SCHOOL = "Hillside High School"
PEOPLE = """\
person_id,role,school,first_name,last_name,preferred_name,status,departure_date,handles
E1001,administrator,Hillside High School,Margaret,Chen,,active,,twitter:@mchen_hhs
E1002,staff,Hillside High School,David,Okafor,,active,,twitter:@mr_okafor;twitter:@dokafor_home(personal)
300100002,student,Hillside High School,Liam,Singh,,active,,twitter:@liam_singh07
300100003,student,Hillside High School,Noah,Nguyen,,active,,twitter:@noahnguyen_hhs
300100004,student,Hillside High School,Emma,Martin,,active,,twitter:@emma_m
"""


def division_folder(tmp_path: Path, *, switch: bool) -> Path:
    folder = tmp_path / "division"
    (folder / "registry").mkdir(parents=True)
    (folder / "directory").mkdir()
    policy = "division: Prairie Hills Regional Division\n" + ("personal_connections: true\n" if switch else "")
    (folder / "policy.yaml").write_text(policy, encoding="utf-8")
    (folder / "registry" / "twitter.yaml").write_text(REGISTRY, encoding="utf-8")
    (folder / "directory" / "people.csv").write_text(PEOPLE, encoding="utf-8")
    return folder


@pytest.fixture
def replayed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, auditor_env: Path) -> Path:
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    shutil.copy(CASSETTES / "discovery_school_account.yaml", cassettes / "hhs-news-x.yaml")
    shutil.copy(CASSETTES / "personal_following.yaml", cassettes / "personal-twitter.yaml")
    monkeypatch.setenv("AUDITOR_CASSETTE_DIR", str(cassettes))
    monkeypatch.setenv("X_BEARER_TOKEN", "test-placeholder-token")
    return cassettes


def read(folder: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


def test_the_directory_marks_a_personal_handle_and_stays_compatible(tmp_path: Path, auditor_env: Path) -> None:
    division = load_division(division_folder(tmp_path, switch=True))
    directory = division.directory()
    assert [(i.person_id, i.value) for i in directory.personal_identities("twitter")] == [("E1002", "dokafor_home")]
    # the marker is no part of the handle, and the unmarked handles declare school-use identities as before
    assert directory.declared_person("twitter", "@dokafor_home") == "E1002"
    assert directory.declared_person("twitter", "@mr_okafor") == "E1002"
    assert ("twitter", "mr_okafor") not in directory.personal


def test_only_the_principal_sees_a_staff_personal_account_following_students(tmp_path: Path, replayed: Path) -> None:
    outcome = execute_run(load_division(division_folder(tmp_path, switch=True)), Settings(), as_of=AS_OF)

    assert outcome.requests["twitter"][EP_FOLLOWING] == 2
    assert outcome.report_folder is not None
    division = read(outcome.report_folder)
    assert not [f for f in division["findings"] if f["rule"] == RULE]
    everything = SinkPolicy(kind="webhook", min_severity=Severity.INFO, new_only=False)
    assert not [f for f in route(division, everything) if f["rule"] == RULE]  # so no notification names it

    engine = make_engine(Settings().database_url)
    school_folder = publish_run(engine, outcome.run_id, Settings().report_dir, school=SCHOOL)
    found = {f["subject"]: f for f in read(school_folder)["findings"] if f["rule"] == RULE}
    assert set(found) == {"follows|300100002", "follows|300100003"}  # Liam's handle came back as Liam_Singh07
    finding = found["follows|300100003"]
    assert finding["severity"] == "info"
    assert finding["account"] == "personal:twitter:dokafor_home"
    assert finding["evidence"] == {"staff": "E1002", "student": "300100003", "relation": "follows"}


def test_switched_off_nothing_is_asked_and_nothing_reported(tmp_path: Path, replayed: Path) -> None:
    outcome = execute_run(load_division(division_folder(tmp_path, switch=False)), Settings(), as_of=AS_OF)

    assert EP_FOLLOWING not in outcome.requests.get("twitter", {})
    engine = make_engine(Settings().database_url)
    school_folder = publish_run(engine, outcome.run_id, Settings().report_dir, school=SCHOOL)
    assert not [f for f in read(school_folder)["findings"] if f["rule"] == RULE]


def test_the_dry_run_prices_the_following_reads(tmp_path: Path, auditor_env: Path) -> None:
    engine = make_engine("sqlite:///:memory:")
    init_db(engine)
    for switch, expected in ((False, 0), (True, 5)):
        division = load_division(division_folder(tmp_path / str(switch), switch=switch))
        estimate = estimate_run(
            division.accounts,
            ConnectorRegistry.installed(),
            Settings(),
            division.policy,
            AS_OF,
            False,
            engine,
            personal=personal_accounts_by_platform(division),
        )
        assert estimate.by_platform["twitter"].requests.get(EP_FOLLOWING, 0) == expected  # 1 account x 5 pages
    assert estimate.personal["twitter"].billable == {"user": 1 + 5 * 1000}
