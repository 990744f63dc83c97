"""Discovery through the real pipeline: a division whose X account is replayed from a cassette, and the
batched X user lookup of the handles it named, replayed from another (cassettes/twitter/discovery_*.yaml)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.inputs import load_division
from auditor.run import RunOutcome, execute_run
from auditor.settings import Settings

REPO = Path(__file__).resolve().parents[2]
CASSETTES = REPO / "cassettes" / "twitter"
AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
LOOKUP = "GET /2/users/by"

REGISTRY = """\
accounts:
  - key: hhs-news-x
    platform: x
    handle: "@HillsideHS_News"
    school: Hillside High School
    purpose: School news and announcements
    kind: joint
    audience: public
    holders: [E1001, E1002]
    admins: [E1001, E1002]
    its_admin: "@phrd_its"
    reviewed_by: Director of ITS
    reviewed_on: 2026-09-10
    password_reset_on: 2026-08-25
    status: active
ignore:
  - platform: x
    handle: "@HHS_Boosters"
    reason: parents' booster society, not run by the school (checked by ITS 2026-09-14)
"""
STAFF = """\
person_id,role,school,first_name,last_name,preferred_name,status,departure_date,handles
E1001,administrator,Hillside High School,Margaret,Chen,,active,,
E1002,staff,Hillside High School,David,Okafor,,active,,
"""


@pytest.fixture
def division_folder(tmp_path: Path, auditor_env: Path) -> Path:
    folder = tmp_path / "division"
    (folder / "registry").mkdir(parents=True)
    (folder / "directory").mkdir()
    (folder / "policy.yaml").write_text("division: Prairie Hills Regional Division\n", encoding="utf-8")
    (folder / "registry" / "twitter.yaml").write_text(REGISTRY, encoding="utf-8")
    (folder / "directory" / "staff.csv").write_text(STAFF, encoding="utf-8")
    return folder


def replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, with_lookup: bool) -> Path:
    """A cassette folder as the run reads it: one recording per account key, and `discovery-twitter.yaml`."""
    folder = tmp_path / "cassettes"
    folder.mkdir()
    shutil.copy(CASSETTES / "discovery_school_account.yaml", folder / "hhs-news-x.yaml")
    if with_lookup:
        shutil.copy(CASSETTES / "discovery_lookup.yaml", folder / "discovery-twitter.yaml")
    monkeypatch.setenv("AUDITOR_CASSETTE_DIR", str(folder))
    monkeypatch.setenv("X_BEARER_TOKEN", "test-placeholder-token")
    return folder


def unregistered(outcome: RunOutcome) -> dict[str, dict[str, Any]]:
    assert outcome.report_folder is not None
    report = json.loads((outcome.report_folder / "report.json").read_text(encoding="utf-8"))
    return {f["subject"]: f for f in report["findings"] if f["rule"] == "account-unregistered"}


def test_named_accounts_are_looked_up_once_and_the_club_and_impostor_reported(
    division_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replay(tmp_path, monkeypatch, with_lookup=True)
    outcome = execute_run(load_division(division_folder), Settings(), as_of=AS_OF)

    # One batched request for the three handles worth it; the recording answers only that exact list,
    # so a lookup of the parent or of the ignored booster club would find no recording.
    assert outcome.requests["twitter"][LOOKUP] == 1
    assert outcome.spend["billable"]["twitter"]["user"] >= 2
    found = unregistered(outcome)

    club = found["twitter:hawkschess"]
    reasons = club["evidence"]["why_it_looks_like_a_school_account"]
    assert "description mentions hillside (Hillside High School)" in reasons
    assert club["evidence"]["profile"]["name"] == "Hawks Chess"
    assert {s["how"] for s in club["evidence"]["found"]} == {"mentioned"}

    impostor = found["twitter:hillsidehighhq"]
    assert impostor["evidence"]["url"] == "https://x.com/HillsideHighHQ"
    assert impostor["evidence"]["found"][0]["how"] == "interacted"
    assert "Official updates" in impostor["evidence"]["profile"]["description"]

    assert "twitter:sandra_m_1975" not in found  # a parent who merely replies
    assert "twitter:hhs_boosters" not in found  # on the registry's ignore list
    assert "twitter:hhs_spirit_old" not in found  # X says it is suspended: nothing to register
    assert outcome.exit_code == 1


def test_without_the_lookup_the_club_page_is_only_a_weak_candidate(
    division_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replaying without a lookup recording asks X nothing more: the club's handle alone (HHS initials)
    stays under the threshold, the impostor's name alone does not."""
    replay(tmp_path, monkeypatch, with_lookup=False)
    outcome = execute_run(load_division(division_folder), Settings(), as_of=AS_OF)

    assert LOOKUP not in outcome.requests["twitter"]
    found = unregistered(outcome)
    assert "twitter:hawkschess" not in found
    assert found["twitter:hillsidehighhq"]["evidence"]["profile"] is None
    assert "twitter:hhs_spirit_old" not in found


def test_a_refused_lookup_leaves_the_run_complete(
    division_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discovery's lookups are extra detail: X refusing them (here 401) is logged, the audit stays complete."""
    folder = replay(tmp_path, monkeypatch, with_lookup=True)
    lookup = yaml.safe_load((folder / "discovery-twitter.yaml").read_text(encoding="utf-8"))
    refusal = yaml.safe_load((CASSETTES / "unauthorized.yaml").read_text(encoding="utf-8"))
    lookup["interactions"][0]["response"] = refusal["interactions"][0]["response"]
    (folder / "discovery-twitter.yaml").write_text(yaml.safe_dump(lookup), encoding="utf-8")

    outcome = execute_run(load_division(division_folder), Settings(), as_of=AS_OF)

    assert outcome.requests["twitter"][LOOKUP] == 1
    assert outcome.incomplete_accounts == []
    assert "twitter:hillsidehighhq" in unregistered(outcome)


MEDIA_CHANNEL = """\
  - key: hhs-media-yt
    platform: youtube
    platform_id: UChhsMediaClass0000000M1
    school: Hillside High School
    purpose: Media class videos
    kind: joint
    audience: public
    holders: [E1001, E1002]
    admins: [E1001, E1002]
    status: disabled
"""


@pytest.mark.parametrize("opted_in", [True, False])
def test_youtube_channel_search_by_school_name_only_when_the_policy_asks(
    division_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opted_in: bool
) -> None:
    folder = replay(tmp_path, monkeypatch, with_lookup=True)
    shutil.copy(REPO / "cassettes" / "youtube" / "discovery-search.yaml", folder / "discovery-youtube.yaml")
    monkeypatch.setenv("YOUTUBE_API_KEY", "test-placeholder-key")
    registry = division_folder / "registry" / "twitter.yaml"
    registry.write_text(REGISTRY.replace("ignore:", MEDIA_CHANNEL + "ignore:"), encoding="utf-8")
    policy = (
        "division: Prairie Hills Regional Division\n"
        f"connectors:\n  youtube:\n    discovery_search: {str(opted_in).lower()}\n"
    )
    (division_folder / "policy.yaml").write_text(policy, encoding="utf-8")

    outcome = execute_run(load_division(division_folder), Settings(), as_of=AS_OF)

    found = unregistered(outcome)
    if not opted_in:
        assert "youtube" not in outcome.requests
        assert not any(key.startswith("youtube:") for key in found)
        return
    # One search for the one school's name, 100 quota units of the run's YouTube budget.
    assert outcome.requests["youtube"] == {"search.list": 1}
    assert outcome.spend["units"]["youtube"] == 100
    band = found["youtube:ucqhillsidehawksband0000"]
    search = {"account": "youtube search: Hillside High School", "how": "search", "url": None}
    assert band["evidence"]["found"] == [search]
    reasons = band["evidence"]["why_it_looks_like_a_school_account"]
    assert "name contains hillside (Hillside High School)" in reasons
    assert "mentioned or linked by a registered school account" not in reasons  # found by search only
    assert "youtube:uchhsmediaclass0000000m1" not in found  # registered (even though disabled)


def test_no_discovery_request_when_the_rule_is_disabled(
    division_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replay(tmp_path, monkeypatch, with_lookup=True)
    policy = "division: Prairie Hills Regional Division\ndisabled_rules: [account-unregistered]\n"
    (division_folder / "policy.yaml").write_text(policy, encoding="utf-8")

    outcome = execute_run(load_division(division_folder), Settings(), as_of=AS_OF)

    assert LOOKUP not in outcome.requests["twitter"]
    assert unregistered(outcome) == {}
