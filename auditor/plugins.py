"""What the core hands a connector: its own settings, its policy section and the core limits.

The one place a `ConnectorContext` is built, so that every caller (the run, the dry run, `auditor
record` and `doctor`) gives a connector the same view of the policy, whatever the platform.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from auditor.policy import Policy
from connectors.base import ConnectorContext, UnitBudget
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline


def connector_context(
    connectors: ConnectorRegistry,
    name: str,
    policy: Policy,
    *,
    as_of: datetime,
    deadline: Deadline,
    **rest: Any,
) -> ConnectorContext:
    """The context for connector `name` (or alias); an unknown name gets no settings of its own."""
    limits = policy.run_limits()
    if name not in connectors:
        return ConnectorContext(as_of=as_of, deadline=deadline, limits=limits, **rest)
    return ConnectorContext(
        as_of=as_of,
        deadline=deadline,
        settings=connectors.settings_for(name),
        options=connectors.options_for(name, policy.connectors),
        limits=limits,
        gate=connectors.gate_for(name),
        **rest,
    )


def command_context(connectors: ConnectorRegistry, name: str, policy: Policy, *, full: bool = True) -> ConnectorContext:
    """A connector's context for a command outside a run (`auditor record`, `auditor doctor`): now,
    one account's deadline, no run budget."""
    deadline = Deadline(policy.account_deadline_seconds)
    return connector_context(connectors, name, policy, as_of=datetime.now(UTC), deadline=deadline, full=full)


def run_budgets(connectors: ConnectorRegistry, policy: Policy, names: set[str]) -> dict[str, UnitBudget]:
    """One shared quota budget per connector that meters one (every account of the run spends from it)."""
    budgets: dict[str, UnitBudget] = {}
    for name in sorted(names):
        cls = connectors.get(name)
        if cls is None:
            continue
        budget = cls.run_budget(connectors.options_for(cls.name, policy.connectors))
        if budget is not None:
            budgets[cls.name] = budget
    return budgets
