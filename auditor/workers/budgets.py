"""A run's metered quota (a platform's daily units) shared by every worker process, in PostgreSQL.

`auditor run` holds one `UnitBudget` per metered connector for the whole run, in memory. A run on
workers is spread over processes and hosts, so each process's budget spends from one row per (run,
connector) in the division's schema: one conditional UPDATE takes the units or refuses them, and a
quota the platform declared exhausted closes the row for every worker.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from connectors.base import UnitBudget
from connectors.resilience import PlatformError
from models.snapshot import ErrorKind

BUDGETS_DDL = """CREATE TABLE IF NOT EXISTS auditor_worker_budgets (
    run_id text NOT NULL REFERENCES auditor_worker_runs ON DELETE CASCADE,
    connector text NOT NULL,
    spent bigint NOT NULL DEFAULT 0,
    closed text,
    PRIMARY KEY (run_id, connector)
)"""

TAKE = """UPDATE auditor_worker_budgets SET spent = spent + :units
WHERE run_id = :run AND connector = :connector AND closed IS NULL AND spent + :units <= :limit
RETURNING spent"""


class SharedUnitBudget(UnitBudget):
    """`budget` (the run's, as the policy sets it) spent by every worker of run `run_id`."""

    def __init__(self, engine: Engine, run_id: str, connector: str, budget: UnitBudget) -> None:
        super().__init__(budget.limit, budget.label, budget.resets_at)
        self.engine = engine
        self.key = {"run": run_id, "connector": connector}
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO auditor_worker_budgets (run_id, connector) VALUES (:run, :connector)"
                    " ON CONFLICT DO NOTHING"
                ),
                self.key,
            )

    @property
    def spent(self) -> int:
        return self._row()[0]

    def spend(self, units: int) -> None:
        with self.engine.begin() as connection:
            taken = connection.execute(text(TAKE), {**self.key, "units": units, "limit": self.limit}).first()
        if taken is not None:
            return
        spent, closed = self._row()
        if closed is not None:
            raise PlatformError(ErrorKind.QUOTA, closed, code="budget", retry_at=self.resets_at)
        raise PlatformError(
            ErrorKind.QUOTA,
            f"the run's budget of {self.limit} {self.label} would be exceeded "
            f"({spent} spent): collection stopped before the platform's quota ran out",
            code="budget",
            retry_at=self.resets_at,
        )

    def close(self, reason: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE auditor_worker_budgets SET closed = :reason WHERE run_id = :run AND connector = :connector"
                ),
                {**self.key, "reason": reason},
            )

    def _row(self) -> tuple[int, str | None]:
        with self.engine.connect() as connection:
            row = connection.execute(
                text("SELECT spent, closed FROM auditor_worker_budgets WHERE run_id = :run AND connector = :connector"),
                self.key,
            ).one()
        return int(row[0]), row[1]
