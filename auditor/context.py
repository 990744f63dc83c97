"""The one frozen `RunContext` every stage of a run reads (division, settings, clock, store, connectors, budgets).

It replaces the bundles of 8-10 arguments the stages used to pass along. Its fields never change
during a run; the budgets it holds are shared, thread-safe counters (the run's deadline, a metered
quota), so a stage reads them and spends from them, it never replaces them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from auditor.plugins import run_budgets
from connectors.base import UnitBudget
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from auditor.directory import Directory
    from auditor.inputs import Division
    from auditor.policy import Policy
    from auditor.settings import Settings
    from models.tables import RegisteredAccount

# The installed connectors (loaded once per process, or built from classes in a test).
Connectors = ConnectorRegistry

ProgressCallback = Callable[[str, str], None]  # (account key, state)

T = TypeVar("T")


@dataclass(frozen=True)
class RunContext:
    """What a run knows before it starts collecting; every stage's first argument."""

    division: Division
    settings: Settings
    engine: Engine
    connectors: Connectors
    as_of: datetime  # the run's clock: rules and connectors read no other
    deadline: Deadline  # the whole run's wall-clock budget; each account's is cut to fit in it
    budgets: dict[str, UnitBudget]  # connector name -> its metered quota, shared by every account of the run
    run_id: str = ""  # empty: no run row (a dry run's estimate)
    kind: str = "run"  # run | check | what-if (store.WHAT_IF_KIND)
    full: bool = False  # full reconciliation: ignore cursors, list everything
    only: tuple[str, ...] | None = None  # `check KEY`: these accounts; None: every active one
    progress: ProgressCallback | None = None
    # What a stage builds once per run and reuses (the identity index, the outsiders' key): see memo().
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    @classmethod
    def start(
        cls,
        division: Division,
        settings: Settings,
        engine: Engine,
        connectors: Connectors,
        as_of: datetime,
        *,
        run_id: str = "",
        kind: str = "run",
        full: bool = False,
        only: list[str] | tuple[str, ...] | None = None,
        progress: ProgressCallback | None = None,
    ) -> RunContext:
        """A context whose budgets start now."""
        policy = division.policy
        return cls(
            division=division,
            settings=settings,
            engine=engine,
            connectors=connectors,
            as_of=as_of,
            deadline=Deadline(policy.run_deadline_seconds),
            budgets=run_budgets(connectors, policy, set(connectors.names())),
            run_id=run_id,
            kind=kind,
            full=full,
            only=tuple(only) if only is not None else None,
            progress=progress,
        )

    @property
    def policy(self) -> Policy:
        return self.division.policy

    @property
    def division_wide(self) -> bool:
        """`check KEY` audits some accounts: division rules (discovery) need them all."""
        return self.only is None

    @functools.cached_property
    def directory(self) -> Directory:
        return self.division.directory()  # built once per run, read by every stage

    @functools.cached_property
    def accounts(self) -> list[RegisteredAccount]:
        """The accounts this run audits: `only` these keys, else every active one."""
        return due_accounts(self.division, self.only)

    def memo(self, key: str, make: Callable[[], T]) -> T:
        """`make()` once per run (thread-safe), then the same value: the context stays frozen, what it
        derives is built on first use by whichever stage needs it."""
        with self._memo_lock:
            if key not in self._memo:
                self._memo[key] = make()
            value: T = self._memo[key]
            return value


def due_accounts(division: Division, only: list[str] | tuple[str, ...] | None) -> list[RegisteredAccount]:
    """The accounts a run audits: `only` these keys, else every active one."""
    if only:
        by_key = {a.key: a for a in division.accounts}
        return [by_key[k] for k in only]
    return [a for a in division.accounts if a.status == "active"]
