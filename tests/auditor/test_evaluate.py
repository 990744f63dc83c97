"""The evaluate stage: account and division rules share one guarded loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.inputs import load_division
from auditor.rules.base import REGISTRY, DivisionContext, Rule
from auditor.run import execute_run
from auditor.settings import Settings
from tests.auditor.test_discovery_run import AS_OF, division_folder, replay  # noqa: F401  (fixture)


def _findings(folder: Path | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    assert folder is not None
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return report["run"], report["findings"]


def test_a_crashing_division_rule_is_isolated_and_leaves_its_findings_unknown(
    division_folder: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replay(tmp_path, monkeypatch, with_lookup=True)
    first = execute_run(load_division(division_folder), Settings(), as_of=AS_OF)
    _, before = _findings(first.report_folder)
    unregistered = {f["fingerprint"] for f in before if f["rule"] == "account-unregistered"}
    assert unregistered and first.exit_code == 1

    def crashing(ctx: DivisionContext) -> Any:
        raise RuntimeError("division rule bug")

    original = REGISTRY["account-unregistered"]
    monkeypatch.setitem(REGISTRY, "account-unregistered", Rule(original.meta, crashing))
    second = execute_run(load_division(division_folder), Settings(), as_of=AS_OF, full=True)

    # The run goes on: every account rule still ran, and the report is out, saying the audit is incomplete.
    assert second.exit_code == 3
    assert second.crashed_rules == ["account-unregistered"]
    run, after = _findings(second.report_folder)
    assert run["status"] == "incomplete"
    by_fingerprint = {f["fingerprint"]: f for f in after}
    # Not seen again because the rule could not look: unknown, never resolved.
    assert {by_fingerprint[fp]["status"] for fp in unregistered} == {"unknown"}
    account_rules = {f["fingerprint"]: f["status"] for f in after if f["rule"] != "account-unregistered"}
    assert account_rules and set(account_rules.values()) == {"persisting"}
