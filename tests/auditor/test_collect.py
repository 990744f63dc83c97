"""The collect stage: per-account outcomes a finishing job in another process can read, and
discovery's work done once per run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import auditor.discovery
import auditor.run
from auditor.collect import AccountOutcome
from auditor.inputs import load_division
from auditor.run import RunOutcome, execute_run
from auditor.settings import Settings
from connectors.base import Connector
from connectors.resilience import PlatformError
from models.snapshot import AccountSnapshot, ErrorKind
from models.tables import RegisteredAccount
from tests.auditor.test_discovery_run import AS_OF, LOOKUP, division_folder, replay  # noqa: F401  (fixture)


def _report(outcome: RunOutcome) -> list[tuple[str, str, str, str]]:
    assert outcome.report_folder is not None
    report = json.loads((outcome.report_folder / "report.json").read_text(encoding="utf-8"))
    return sorted((f["fingerprint"], f["status"], f["severity"], f["message"]) for f in report["findings"])


def test_account_outcomes_round_trip_through_json_and_a_finishing_job_reports_the_same(
    division_folder: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replay(tmp_path, monkeypatch, with_lookup=True)
    plain = execute_run(load_division(division_folder), Settings(), as_of=AS_OF)

    finish = auditor.run.finish_run
    sent: list[str] = []

    def finish_from_json(ctx: Any, outcomes: dict[str, AccountOutcome]) -> RunOutcome:
        # What a worker hands the finishing job: JSON text only, decoded in "another process".
        texts = {key: outcome.to_json() for key, outcome in outcomes.items()}
        sent.extend(texts.values())
        decoded = {key: AccountOutcome.from_json(text) for key, text in texts.items()}
        assert {key: o.to_json() for key, o in decoded.items()} == texts
        return finish(ctx, decoded)

    monkeypatch.setattr(auditor.run, "finish_run", finish_from_json)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'second.db'}")
    monkeypatch.setenv("AUDITOR_REPORT_DIR", str(tmp_path / "second-reports"))
    via_json = execute_run(load_division(division_folder), Settings(), as_of=AS_OF)

    account = json.loads(next(t for t in sent if json.loads(t)["results"]))
    assert account["results"][0]["rule"] and account["candidates"]  # results and discovery's candidates travel
    assert via_json.exit_code == plain.exit_code == 1
    assert _report(via_json) == _report(plain)
    assert via_json.spend == plain.spend


def test_discovery_is_worked_out_once_per_run_and_the_rule_reuses_it(
    division_folder: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replay(tmp_path, monkeypatch, with_lookup=True)
    calls = {"known": 0, "likeness": 0}
    known, likeness = auditor.discovery.known_identity_keys, auditor.discovery.SchoolLikeness.__init__

    def counted_known(*args: Any) -> Any:
        calls["known"] += 1
        return known(*args)

    def counted_likeness(self: Any, *args: Any) -> None:
        calls["likeness"] += 1
        likeness(self, *args)

    monkeypatch.setattr(auditor.discovery, "known_identity_keys", counted_known)
    monkeypatch.setattr(auditor.discovery.SchoolLikeness, "__init__", counted_likeness)
    outcome = execute_run(load_division(division_folder), Settings(), as_of=AS_OF)

    assert calls == {"known": 1, "likeness": 1}  # the registry and directory scanned once, not again by the rule
    assert outcome.requests["twitter"][LOOKUP] == 1  # one batched lookup
    unregistered = [
        f
        for f in json.loads((outcome.report_folder / "report.json").read_text(encoding="utf-8"))["findings"]  # type: ignore[operator]
        if f["rule"] == "account-unregistered"
    ]
    # The rule reports what the lookup showed: the profile came from the run's discovery.
    assert {f["subject"] for f in unregistered} >= {"twitter:hawkschess", "twitter:hillsidehighhq"}
    assert any(f["evidence"]["profile"] for f in unregistered)


def test_the_dry_run_predicts_with_the_collect_stage_s_own_estimate(
    division_dir: Path, auditor_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import auditor.collect
    from auditor.cli import app

    real = auditor.collect.estimate
    asked: list[Any] = []

    def spy(ctx: Any) -> Any:
        asked.append(ctx)
        return real(ctx)

    monkeypatch.setattr(auditor.collect, "estimate", spy)
    result = CliRunner().invoke(app, ["run", "--dry-run", "-d", str(division_dir)])

    assert result.exit_code == 0, result.output
    assert "Estimated cost: $" in result.output
    [ctx] = asked  # the same stage code a run collects with, over the accounts a run would audit
    active = {a.key for a in load_division(division_dir).accounts if a.status == "active"}
    assert {a.key for a in ctx.accounts} == active and ctx.division_wide
    assert not (auditor_env / "auditor.db").exists()  # nothing written


class _Interrupted(BaseException):
    """A worker's wait (`RescheduleAt` is a BaseException too): it passes every `except Exception`."""


class _Lookup(Connector):
    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        raise AssertionError("a lookup test pulls nothing")

    def classify_error(self, error: BaseException) -> PlatformError:
        return PlatformError(ErrorKind.RETRYABLE, str(error))


class _FirstLookup(_Lookup):
    name = "alookup"

    def prefetch(self, accounts, builder, cursors):  # type: ignore[no-untyped-def]
        builder.count_request("users.lookup")
        return {a.key: f"hint for {a.key}" for a in accounts}


class _SecondLookup(_Lookup):
    name = "blookup"

    def prefetch(self, accounts, builder, cursors):  # type: ignore[no-untyped-def]
        builder.count_request("users.lookup")
        raise _Interrupted


def test_a_lookup_interrupted_by_a_wait_keeps_the_earlier_lookups_hints_and_every_spend(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from auditor.collect import prefetch
    from auditor.policy import Policy
    from connectors.registry import ConnectorRegistry
    from connectors.resilience import Deadline

    accounts = [
        RegisteredAccount(key=f"{name}-{n}", platform=name, connector=name, handle=f"h{n}")
        for name in ("alookup", "blookup")
        for n in (1, 2)
    ]
    ctx = SimpleNamespace(
        accounts=accounts,
        connectors=ConnectorRegistry([_FirstLookup, _SecondLookup]),
        settings=Settings(),
        policy=Policy(),
        as_of=AS_OF,
        full=True,
        deadline=Deadline(600),
        engine=None,
    )
    hints: dict[str, Any] = {}
    spent: dict[str, AccountOutcome] = {}
    with pytest.raises(_Interrupted):
        prefetch(ctx, spent, into=hints)  # type: ignore[arg-type]
    assert hints == {"alookup-1": "hint for alookup-1", "alookup-2": "hint for alookup-2"}
    assert {key: o.requests for key, o in spent.items()} == {
        "alookup:batched-lookup": {"users.lookup": 1},
        "blookup:batched-lookup": {"users.lookup": 1},  # counted although interrupted
    }
