"""A connector's context in tests, built the way the run builds it (auditor.plugins.connector_context)."""

from __future__ import annotations

from typing import Any

import pytest

from auditor.plugins import connector_context
from auditor.policy import Policy
from connectors.base import Connector, ConnectorContext, ConnectorSettings
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline


def context_for(
    cls: type[Connector],
    *,
    settings: ConnectorSettings | None = None,
    policy: Policy | None = None,
    deadline: Deadline | None = None,
    **rest: Any,
) -> ConnectorContext:
    """`cls`'s own settings (given, or read from the environment), its policy section and the run limits."""
    policy = policy if policy is not None else Policy()
    context = connector_context(ConnectorRegistry([cls]), cls.name, policy, deadline=deadline or Deadline(60), **rest)
    if settings is not None:
        context.settings = settings
    return context


def install_connectors(monkeypatch: pytest.MonkeyPatch, *classes: type[Connector]) -> ConnectorRegistry:
    """The installed connectors plus `classes`, as every `ConnectorRegistry.installed()` of the test sees them
    (the CLI, the inputs, the run): one injection instead of patching each module."""
    registry = ConnectorRegistry.installed().with_classes(*classes)
    monkeypatch.setattr(ConnectorRegistry, "_injected", registry)
    return registry
