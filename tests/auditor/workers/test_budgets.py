"""A run's metered quota on workers: one budget for the run, however many worker processes spend it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

import auditor.workers.jobs as jobs
from auditor.workers.budgets import SharedUnitBudget
from connectors.base import UnitBudget
from connectors.resilience import PlatformError
from models.db import make_engine
from models.snapshot import ErrorKind
from tests.databases import postgres_url_or_skip

pytestmark = pytest.mark.postgres


@pytest.fixture
def division_engine() -> Iterator[Engine]:
    server = postgres_url_or_skip()
    schema = f"wb_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    engine = make_engine(f"{server}{separator}options=-csearch_path%3D{schema}")
    jobs._ledger(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO auditor_worker_runs (run_id, division_wide) VALUES ('r1', true)"))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_worker_processes_spend_one_budget_per_run(division_engine: Engine) -> None:
    # Two worker processes, each with its own copy of the run's budget as the policy sets it.
    first, second = (SharedUnitBudget(division_engine, "r1", "metered", UnitBudget(100, "units")) for _ in range(2))
    taken: list[int] = []

    def spend(budget: UnitBudget) -> None:
        for _ in range(40):
            try:
                budget.spend(3)
                taken.append(3)
            except PlatformError as exc:
                assert exc.kind == ErrorKind.QUOTA and "budget of 100 units" in exc.detail

    threads = [threading.Thread(target=spend, args=(b,)) for b in (first, second) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Apart, they would have spent 99 each; together, never more than the run's 100.
    assert sum(taken) == 99 and first.spent == second.spent == 99


def test_a_quota_the_platform_declared_exhausted_stops_every_worker(division_engine: Engine) -> None:
    first, second = (SharedUnitBudget(division_engine, "r1", "metered", UnitBudget(100, "units")) for _ in range(2))
    first.spend(1)
    first.close("quotaExceeded: the project's daily quota is spent")
    with pytest.raises(PlatformError) as raised:
        second.spend(1)
    assert raised.value.kind == ErrorKind.QUOTA and "daily quota is spent" in raised.value.detail
