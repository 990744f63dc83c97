"""Spend: cost from the policy's price table, the report's spend, and a dry run that calls nothing."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from auditor.cli import DEMO_AS_OF, app, demo_cassette_dir, demo_division_dir
from auditor.inputs import load_division
from auditor.policy import Policy
from auditor.run import execute_run
from auditor.settings import Settings
from auditor.spend import estimate_run, minimum_seconds, spend_summary
from connectors.base import Estimate
from connectors.registry import ConnectorRegistry
from connectors.twitter import TwitterConnector
from models.db import init_db, make_engine, session
from models.tables import AuditRun


def test_estimated_cost_is_billed_items_times_the_policy_prices() -> None:
    prices = {"twitter:follower": 0.010, "twitter:post": 0.005, "twitter:user": 0.010}
    billable = {"twitter": {"follower": 2_000, "post": 40, "user": 3}, "youtube": {"comment": 7}}

    spend = spend_summary({"twitter": {"GET /2/users": 1}}, {"youtube": 30}, billable, prices)

    assert spend["estimated_cost_by_platform"] == {"twitter": 20.23, "youtube": 0.0}
    assert spend["estimated_cost"] == 20.23
    assert spend["unpriced"] == ["youtube:comment"]  # counted, and said to have no price


def test_the_follower_rate_limit_sets_the_least_time_a_run_takes() -> None:
    nightly = Estimate(requests={"GET /2/users/:id/followers": 368, "GET /2/users/:id/mentions": 300})

    seconds, endpoint = minimum_seconds(TwitterConnector, nightly)

    assert endpoint == "GET /2/users/:id/followers"
    assert seconds == 24 * 900  # 15 requests at once, then 15 more every 15 minutes: 6 hours


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    var = tmp_path / "var"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{var / 'auditor.db'}")
    monkeypatch.setenv("AUDITOR_REPORT_DIR", str(var / "reports"))
    monkeypatch.setenv("AUDITOR_LOCK_FILE", str(var / "auditor.lock"))
    monkeypatch.setenv("AUDITOR_CASSETTE_DIR", str(demo_cassette_dir()))
    for variable in ("X_BEARER_TOKEN", "ACCOUNT_HHS_ROBOTICS_X_X_USER_TOKEN"):
        monkeypatch.setenv(variable, "demo-placeholder-token")
    return var


def _demo_run() -> tuple[dict[str, Any], Path]:
    outcome = execute_run(load_division(demo_division_dir()), Settings(), full=True, as_of=DEMO_AS_OF)
    assert outcome.report_folder is not None
    return json.loads((outcome.report_folder / "report.json").read_text(encoding="utf-8")), outcome.report_folder


def test_demo_report_shows_spend_cost_and_last_full_reconciliation(demo_env: Path) -> None:
    report, _ = _demo_run()

    spend = report["run"]["spend"]
    assert spend["requests"]["twitter"]["GET /2/users/:id/followers"] == 2
    assert spend["billable"]["twitter"]["follower"] == 15  # 8 + 7 followers returned
    assert spend["estimated_cost"] == pytest.approx(
        0.010 * spend["billable"]["twitter"]["follower"]
        + 0.005 * spend["billable"]["twitter"]["post"]
        + 0.010 * spend["billable"]["twitter"]["user"]
    )
    x_accounts = [c for c in report["coverage"] if c["account"] in ("hhs-news-x", "hhs-robotics-x")]
    assert {c["last_full_reconciliation"] for c in x_accounts} == {DEMO_AS_OF.isoformat()}


def test_dry_run_calls_nothing_writes_no_run_and_predicts_the_demo_requests(
    demo_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, _ = _demo_run()
    spent = report["run"]["spend"]["requests"]

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the dry run opened a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.delenv("AUDITOR_CASSETTE_DIR")  # a real run would call X: the dry run must still call nothing
    division = load_division(demo_division_dir())
    settings = Settings()
    engine = make_engine(settings.database_url)
    accounts = [a for a in division.accounts if a.status == "active"]

    connectors = ConnectorRegistry.installed()
    full = estimate_run(accounts, connectors, settings, division.policy, DEMO_AS_OF, True, engine, discovering=True)
    result = CliRunner().invoke(app, ["run", "--dry-run", "--full", "-d", str(demo_division_dir())])

    # Discovery: at most 200 profile lookups (policy discovery_max_lookups), 100 a request.
    assert full.discovery["twitter"].requests == {"GET /2/users/by": 2}
    assert full.discovery["twitter"].billable == {"user": 200}
    # Not replaying, a run would read both X profiles in one batched lookup instead of one request each.
    predicted = dict(full.by_platform["twitter"].requests)
    assert predicted.pop("GET /2/users/by") == 1 + 2
    actual = dict(spent["twitter"])
    assert actual.pop("GET /2/users/by/username/:username") == 2
    # Discovery's lookup of the club page a class export mentioned (docs/discovery.md): within the bound.
    assert actual.pop("GET /2/users/by") == 1
    assert predicted == actual
    assert "twitter: includes at most 2 request(s), 0 unit(s) for discovery: at most 200 profile lookups" in (
        " ".join(result.output.split())
    )
    assert full.cost["twitter"] > 0
    assert result.exit_code == 0, result.output
    assert "twitter" in result.output and "Estimated cost: $" in result.output
    assert "(15 requests per 15 minutes)" not in result.output  # two follower requests: no wait
    with session(engine) as db:
        assert len(db.exec(select(AuditRun)).all()) == 1  # only the demo run


def test_dry_run_counts_youtube_channel_searches_only_when_the_policy_asks(demo_env: Path) -> None:
    division = load_division(demo_division_dir())
    settings = Settings()
    engine = make_engine(settings.database_url)
    init_db(engine)
    accounts = [a for a in division.accounts if a.status == "active"]
    schools = {a.school for a in accounts if a.school}

    def predicted(policy: Policy) -> dict[str, Any]:
        estimate = estimate_run(
            accounts, ConnectorRegistry.installed(), settings, policy, DEMO_AS_OF, True, engine, discovering=True
        )
        return {p: (e.requests, e.units) for p, e in estimate.discovery.items()}

    assert "youtube" not in predicted(division.policy)  # off by default: 100 units a search
    searching = division.policy.model_copy(update={"connectors": {"youtube": {"discovery_search": True}}})
    assert predicted(searching)["youtube"] == ({"search.list": len(schools)}, 100 * len(schools))
