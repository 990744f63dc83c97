"""API spend: what a run spent (requests, quota units, billed items priced with the policy's price
table) and what a run would spend (`auditor run --dry-run`), predicted without calling any platform."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from auditor.plugins import connector_context
from auditor.policy import Policy
from auditor.settings import Settings
from auditor.store import latest_content, latest_cursor
from connectors.base import Connector, Estimate
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline
from models.db import session
from models.tables import RegisteredAccount

MIN_PREFETCH_ACCOUNTS = 2  # a batched lookup for one account saves nothing


def price_of(prices: Mapping[str, float], platform: str, item: str) -> float | None:
    return prices.get(f"{platform}:{item}")


def estimated_cost(billable: Mapping[str, Mapping[str, int]], prices: Mapping[str, float]) -> dict[str, float]:
    """Cost per platform: each billed item times its price ("<platform>:<item>" in the policy)."""
    costs: dict[str, float] = {}
    for platform, items in billable.items():
        total = sum(count * (price_of(prices, platform, item) or 0.0) for item, count in items.items())
        costs[platform] = round(total, 4)
    return costs


def unpriced(billable: Mapping[str, Mapping[str, int]], prices: Mapping[str, float]) -> list[str]:
    """Billed items the price table does not know (counted, but costed at 0)."""
    return sorted(
        f"{platform}:{item}"
        for platform, items in billable.items()
        for item, count in items.items()
        if count and price_of(prices, platform, item) is None
    )


def minimum_seconds(cls: type[Connector], estimate: Estimate) -> tuple[float, str | None]:
    """The least time the platform's rate limits allow these requests in, and the endpoint that sets it."""
    slowest, endpoint = 0.0, None
    for name, count in estimate.requests.items():
        if name in cls.rate_limits:
            allowed, window = cls.rate_limits[name]
            # The first window's requests go at once; each further window's wait the full window.
            seconds = max(0, math.ceil(count / allowed) - 1) * window
            if seconds > slowest:
                slowest, endpoint = seconds, name
    return slowest, endpoint


def will_prefetch(cls: type[Connector], accounts: list[RegisteredAccount], settings: Settings) -> bool:
    """Whether a run does the connector's batched lookup: not when replaying cassettes (each account
    replays its own recording), not for a single account, not when the connector has none."""
    overridden = cls.prefetch is not Connector.prefetch
    return overridden and settings.cassette_dir is None and len(accounts) >= MIN_PREFETCH_ACCOUNTS


@dataclass
class RunEstimate:
    """Predicted spend per platform, and per account for the curious."""

    by_platform: dict[str, Estimate] = field(default_factory=dict)
    by_account: dict[str, Estimate] = field(default_factory=dict)
    # platform -> the most discovery could add after the pulls (included in by_platform)
    discovery: dict[str, Estimate] = field(default_factory=dict)
    # platform -> the most reading staff's personal follows could add (opt-in; included in by_platform)
    personal: dict[str, Estimate] = field(default_factory=dict)
    # platform -> (seconds the rate limits require at least, the endpoint that sets them)
    duration: dict[str, tuple[float, str | None]] = field(default_factory=dict)
    cost: dict[str, float] = field(default_factory=dict)
    unpriced: list[str] = field(default_factory=list)

    @property
    def total_cost(self) -> float:
        return round(sum(self.cost.values()), 4)


def estimate_run(
    accounts: list[RegisteredAccount],
    connectors: ConnectorRegistry,
    settings: Settings,
    policy: Policy,
    as_of: datetime,
    full: bool,
    engine: Engine,
    *,
    discovering: bool = False,
    personal: Mapping[str, int] | None = None,
) -> RunEstimate:
    """What `execute_run` would spend on these accounts, from the store's previous snapshots only.
    With `discovering` (a division-wide run), the most discovery could add is included; with `personal`
    (platform -> staff personal accounts, when the policy's personal_connections is on), the most reading
    whom they follow could add."""
    result = RunEstimate()
    by_connector: dict[str, list[RegisteredAccount]] = {}
    for account in accounts:
        by_connector.setdefault(account.connector, []).append(account)
    with session(engine) as db:
        for name, group in sorted(by_connector.items()):
            cls = connectors.get(name)
            if cls is None:
                continue
            prefetching = will_prefetch(cls, group, settings)
            context = connector_context(
                connectors,
                cls.name,
                policy,
                as_of=as_of,
                deadline=Deadline(policy.account_deadline_seconds),
                full=full,
                prefetched=True if prefetching else None,  # each pull's profile comes from the batch
            )
            connector = cls(context)
            platform = result.by_platform.setdefault(cls.name, Estimate())
            cursors = {account.key: latest_cursor(db, account.key) for account in group}
            if prefetching:
                # The previous cursors also for a full run: what they recorded predicts it (e.g. which
                # conversations have replies), though the run itself starts afresh.
                platform.add(connector.estimate_prefetch(group, cursors))
            for account in group:
                predicted = connector.estimate(account, cursors[account.key], latest_content(db, account.key))
                result.by_account[account.key] = predicted
                platform.add(predicted)
            if discovering:
                found = connector.estimate_discovery(sorted({a.school for a in accounts if a.school}))
                if found.requests or found.units:
                    result.discovery[cls.name] = found
                    platform.add(found)
            result.duration[cls.name] = minimum_seconds(cls, platform)
    for name, count in sorted((personal or {}).items()):
        cls = connectors.get(name)
        if cls is None or not cls.shows_following or not count:
            continue
        deadline = Deadline(policy.account_deadline_seconds)
        context = connector_context(connectors, cls.name, policy, as_of=as_of, deadline=deadline)
        found = cls(context).estimate_following(count)
        result.personal[cls.name] = found
        platform = result.by_platform.setdefault(cls.name, Estimate())
        platform.add(found)
        result.duration[cls.name] = minimum_seconds(cls, platform)
    billable = {name: estimate.billable for name, estimate in result.by_platform.items()}
    result.cost = estimated_cost(billable, policy.prices)
    result.unpriced = unpriced(billable, policy.prices)
    return result


def spend_summary(
    requests: Mapping[str, Mapping[str, int]],
    units: Mapping[str, int],
    billable: Mapping[str, Mapping[str, int]],
    prices: Mapping[str, float],
) -> dict[str, object]:
    """run.spend as report.json shows it."""
    costs = estimated_cost(billable, prices)
    return {
        "requests": {p: dict(sorted(e.items())) for p, e in sorted(requests.items())},
        "units": dict(sorted(units.items())),
        "billable": {p: dict(sorted(i.items())) for p, i in sorted(billable.items())},
        "estimated_cost": round(sum(costs.values()), 4),
        "estimated_cost_by_platform": costs,
        "unpriced": unpriced(billable, prices),
    }


def add_counts(total: dict[str, dict[str, int]], platform: str, counts: Iterable[tuple[str, int]]) -> None:
    per_platform = total.setdefault(platform, {})
    for name, count in counts:
        per_platform[name] = per_platform.get(name, 0) + count
