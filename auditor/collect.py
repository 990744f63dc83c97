"""Collect stage: pull every due account from its platform, isolated and concurrent, and the run's
other requests (discovery's lookups and searches, staff's personal connections: auditor.connections).

`collect(ctx)` is the single-process scheduler: a batched prefetch (counts before lists), then one
`audit_account(ctx, account)` per account on a thread pool. `audit_account` is the whole per-account
job (pull, merge with the previous snapshot, resolve identities, account rules, store the snapshot)
and depends on nothing but the RunContext and the store, so a worker in another process can run it
and hand the `AccountOutcome` (JSON) to the run's finishing job (auditor.run.finish_run).
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from auditor.context import Connectors, RunContext
from auditor.discovery import (
    Candidate,
    Discovery,
    Sighting,
    apply_lookup,
    gather_candidates,
    mark_no_lookup,
    search_candidates,
    to_look_up,
)
from auditor.evaluate import AccountEvaluator, Evaluated, load_rules
from auditor.merge import PreviousParticipants, merge
from auditor.personal_accounts import personal_accounts_by_platform
from auditor.plugins import connector_context
from auditor.policy import Policy
from auditor.privacy import hmac_key, keyed_identity, pseudonymise_outsiders
from auditor.settings import Settings
from auditor.spend import RunEstimate, add_counts, estimate_run, spend_summary, will_prefetch
from auditor.store import latest_content, latest_cursor, save_snapshot
from connectors.base import (
    Connector,
    ConnectorContext,
    SnapshotBuilder,
    UnitBudget,
)
from connectors.recording import make_vcr
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline, PlatformError
from connectors.scrub import scrub, scrub_model
from models.db import session
from models.snapshot import (
    AccountSnapshot,
    Capability,
    CollectionState,
    CollectionStatus,
    ErrorKind,
    Identity,
    Profile,
)
from models.tables import RegisteredAccount

log = logging.getLogger("auditor.run")

DISCOVERY_RULE = "account-unregistered"

_STORE_LOCK = threading.Lock()  # one snapshot written at a time by this process's collection threads


@dataclass
class AccountOutcome:
    """What a run keeps of one account once its snapshot is stored: never the snapshot itself,
    so memory stays bounded however many accounts and participants a division has."""

    platform: str
    incomplete: bool
    requests: dict[str, int]
    units: int
    results: list[Evaluated]
    candidates: list[Candidate]  # accounts it mentions or hears from, for discovery
    billable: dict[str, int] = field(default_factory=dict)  # items the platform bills (priced by the policy)

    def to_json(self) -> str:
        """The outcome as JSON, for a finishing job in another process (distributed workers)."""
        return json.dumps(
            {
                "platform": self.platform,
                "incomplete": self.incomplete,
                "requests": self.requests,
                "units": self.units,
                "results": [item.to_data() for item in self.results],
                "candidates": [_candidate_data(c) for c in self.candidates],
                "billable": self.billable,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> AccountOutcome:
        data = json.loads(text)
        rules = load_rules()
        return cls(
            platform=data["platform"],
            incomplete=data["incomplete"],
            requests=data["requests"],
            units=data["units"],
            results=[Evaluated.from_data(item, rules) for item in data["results"]],
            candidates=[_candidate_from(item) for item in data["candidates"]],
            billable=data["billable"],
        )


def _candidate_data(candidate: Candidate) -> dict[str, Any]:
    return {
        "identity": candidate.identity.model_dump(mode="json"),
        "sightings": [asdict(s) for s in candidate.sightings],
        "score": candidate.score,
        "reasons": candidate.reasons,
        "school": candidate.school,
        "profile": candidate.profile.model_dump(mode="json") if candidate.profile else None,
        "missing": candidate.missing,
        "no_lookup": candidate.no_lookup,
    }


def _candidate_from(data: dict[str, Any]) -> Candidate:
    return Candidate(
        identity=Identity.model_validate(data["identity"]),
        sightings=[Sighting(**s) for s in data["sightings"]],
        score=data["score"],
        reasons=data["reasons"],
        school=data["school"],
        profile=Profile.model_validate(data["profile"]) if data["profile"] else None,
        missing=data["missing"],
        no_lookup=data["no_lookup"],
    )


# --- the stage ----------------------------------------------------------------------------------


def collect(ctx: RunContext) -> dict[str, AccountOutcome]:
    """Pull, store and evaluate every account, each isolated and stored in its own transaction."""
    accounts, policy, settings = ctx.accounts, ctx.policy, ctx.settings
    replaying = settings.cassette_dir is not None
    limits = {
        name: threading.Semaphore(policy.concurrency.get(name, policy.concurrency.get("default", 4)))
        for name in {a.connector for a in accounts}
    }
    outcomes: dict[str, AccountOutcome] = {}
    prefetched = prefetch(ctx, outcomes)
    account_evaluator(ctx)  # built once, before the threads share it

    def audit_one(account: RegisteredAccount) -> None:
        outcomes[account.key] = audit_account(
            ctx, account, prefetched=prefetched.get(account.key), slot=limits[account.connector]
        )

    # vcrpy patches HTTP libraries process-wide, so replayed runs go one account at a time.
    workers = 1 if replaying else max(1, sum(policy.concurrency.values()))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collect") as pool:
        list(pool.map(audit_one, accounts))
    return outcomes


def audit_account(
    ctx: RunContext,
    account: RegisteredAccount,
    *,
    prefetched: Any = None,
    slot: AbstractContextManager[Any] | None = None,
) -> AccountOutcome:
    """One account's whole job: pull (isolated: never raises for the platform's or the connector's
    sake), merge with the previous snapshot, resolve identities and run the account rules, store the
    snapshot. `prefetched`: the account's part of a batched prefetch; `slot`: held while the platform
    is asked (the policy's per-connector concurrency)."""
    settings, policy, as_of, full = ctx.settings, ctx.policy, ctx.as_of, ctx.full
    engine, connectors, run_deadline, run_id = ctx.engine, ctx.connectors, ctx.deadline, ctx.run_id
    outsider_key = _outsider_key(ctx)
    evaluator = account_evaluator(ctx)
    with slot if slot is not None else nullcontext():
        with session(engine) as db:
            cursor = {} if full else latest_cursor(db, account.key)
            cls = connectors.get(account.connector)
            incremental = bool(cursor) and cls is not None and cls.incremental
            previous = latest_content(db, account.key) if incremental else None
        # The store keeps people outside the directory as keyed hashes: recognise them in that form.
        earlier = PreviousParticipants(engine, account.key, lambda i: keyed_identity(outsider_key, i))
        deadline = Deadline(min(policy.account_deadline_seconds, max(run_deadline.remaining(), 0.0)))
        context = connector_context(
            connectors,
            account.connector,
            policy,
            as_of=as_of,
            deadline=deadline,
            full=full,
            budget=ctx.budgets.get(cls.name) if cls is not None else None,
            known_participants=earlier.keys if incremental else None,
            prefetched=prefetched,
        )
        snapshot = pull_account(account, connectors, context, cursor, settings.cassette_dir)
    merge(ctx, previous, snapshot, earlier)
    known: set[str] = set()
    results, rule_error = evaluator.evaluate(account, snapshot, known=known)
    # The rules have run: follower lists keep only keyed hashes of people outside the directory.
    stored = pseudonymise_outsiders(snapshot, known, outsider_key)
    with _STORE_LOCK, session(engine) as db:
        save_snapshot(db, run_id, stored, account)
        db.commit()
    incomplete = snapshot.incomplete or rule_error
    outcome = AccountOutcome(
        snapshot.platform,
        incomplete,
        dict(snapshot.requests),
        snapshot.units,
        results,
        gather_candidates(account, snapshot, connectors),
        dict(snapshot.billable),
    )
    if ctx.progress:
        ctx.progress(account.key, "incomplete" if incomplete else "complete")
    return outcome


def account_evaluator(ctx: RunContext) -> AccountEvaluator:
    """One per run (its identity index is built from the whole directory)."""
    return ctx.memo("account-evaluator", lambda: AccountEvaluator(ctx.connectors, ctx.directory, ctx.policy, ctx.as_of))


def _outsider_key(ctx: RunContext) -> bytes:
    return ctx.memo("outsider-key", lambda: hmac_key(ctx.settings))


def estimate(ctx: RunContext) -> RunEstimate:
    """What `collect` (and a division-wide run's discovery and personal connections) would spend, from
    the store's previous snapshots only: nothing is called, nothing is written (`auditor run --dry-run`)."""
    discovering = ctx.division_wide and DISCOVERY_RULE not in ctx.policy.disabled_rules
    return estimate_run(
        ctx.accounts,
        ctx.connectors,
        ctx.settings,
        ctx.policy,
        ctx.as_of,
        ctx.full,
        ctx.engine,
        discovering=discovering,
        personal=personal_accounts_by_platform(ctx.division) if ctx.division_wide else None,
    )


def prefetch(
    ctx: RunContext, outcomes: dict[str, AccountOutcome], into: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Counts before lists: each connector's batched lookup of its accounts (e.g. X profiles, 100 per
    request; on a nightly run X mentions too). Its spend is recorded as an outcome of its own; a
    failure only means no hints. The hints land in `into` (when given) as each connector's lookup
    ends, so a worker's wait that interrupts a later one keeps the earlier ones."""
    accounts, connectors, settings, policy = ctx.accounts, ctx.connectors, ctx.settings, ctx.policy
    as_of, full, run_deadline, engine = ctx.as_of, ctx.full, ctx.deadline, ctx.engine
    hints: dict[str, Any] = {} if into is None else into
    groups: dict[str, list[RegisteredAccount]] = {}
    for account in accounts:
        groups.setdefault(account.connector, []).append(account)
    for name, group in sorted(groups.items()):
        cls = connectors.get(name)
        if cls is None or not will_prefetch(cls, group, settings):
            continue
        builder = SnapshotBuilder(f"{cls.name}:batched-lookup", cls.name, as_of)
        deadline = Deadline(min(policy.account_deadline_seconds, max(run_deadline.remaining(), 0.0)))
        context = connector_context(connectors, cls.name, policy, as_of=as_of, deadline=deadline, full=full)
        try:
            hints.update(cls(context).prefetch(group, builder, {} if full else _cursors(engine, group)))
        except Exception as exc:  # the pulls then read their own profiles
            log.error("%s: batched lookup crashed: %s", name, scrub(f"{type(exc).__name__}: {exc}"))
        finally:  # what was spent is counted, even when a worker's wait interrupts the lookup
            shot = builder.snapshot
            outcomes[shot.account_key] = AccountOutcome(
                shot.platform, False, dict(shot.requests), shot.units, [], [], dict(shot.billable)
            )
    return hints


def _cursors(engine: Any, accounts: list[RegisteredAccount]) -> dict[str, dict[str, str]]:
    with session(engine) as db:
        return {account.key: latest_cursor(db, account.key) for account in accounts}


def pull_account(
    account: RegisteredAccount,
    connectors: Connectors,
    context: ConnectorContext,
    cursor: dict[str, str],
    cassette_dir: Path | None,
) -> AccountSnapshot:
    """One account's collection. Never raises: a crash becomes a failed snapshot."""
    cls = connectors.get(account.connector)
    if cls is None:
        return failed_snapshot(account, context.as_of, ErrorKind.BAD_REQUEST, f"no connector {account.connector!r}")
    try:
        connector = cls(context)
        if cassette_dir is not None and cls.records_traffic:
            cassette = make_vcr(cassette_dir).use_cassette(f"{account.key}.yaml")
            with cassette:
                return scrub_snapshot(connector.pull(account, cursor))
        return scrub_snapshot(connector.pull(account, cursor))
    except Exception as exc:  # isolation: one account's crash never stops the others
        log.error("%s: collection crashed: %s", account.key, scrub("".join(traceback.format_exception(exc))))
        return failed_snapshot(account, context.as_of, ErrorKind.MALFORMED, f"{type(exc).__name__}: {exc}")


def scrub_snapshot(snapshot: AccountSnapshot) -> AccountSnapshot:
    """What the platform sent (post texts, names, notes) is stored and shown: a server that echoes
    a piece of a credential must not put it in the database or the reports."""
    cleaned = scrub_model(snapshot)
    assert isinstance(cleaned, AccountSnapshot)
    return cleaned


def failed_snapshot(account: RegisteredAccount, as_of: datetime, kind: ErrorKind, detail: str) -> AccountSnapshot:
    status = CollectionStatus(state=CollectionState.FAILED, error=kind, reason=scrub(detail)[:500])
    return AccountSnapshot(
        account_key=account.key,
        platform=account.platform,
        taken_at=as_of,
        collections={c.value: status for c in Capability},
    )


# --- discovery's optional requests -------------------------------------------------------------


def discover(ctx: RunContext, outcomes: dict[str, AccountOutcome]) -> tuple[list[Candidate], list[Candidate]]:
    """Discovery, once per run: the candidates every account yielded (and returned), and the same
    merged, looked up where the platform allows, joined by what searches found, and scored; the
    account-unregistered rule reads this result (DivisionContext.discovered). Nothing is asked, and
    nothing scored, when the rule is disabled."""
    candidates = [c for outcome in outcomes.values() for c in outcome.candidates]
    if DISCOVERY_RULE in ctx.policy.disabled_rules:
        return candidates, []  # nobody reads the answers: ask nothing
    division = ctx.division
    discovery = Discovery(division.accounts, ctx.directory, ctx.policy, division.ignored)
    found = enrich_candidates(ctx, discovery, candidates, outcomes)
    candidates += found
    discovery.add(found)
    return candidates, discovery.scored()  # scored again: on what the lookups and searches showed


def enrich_candidates(
    ctx: RunContext, discovery: Discovery, candidates: list[Candidate], outcomes: dict[str, AccountOutcome]
) -> list[Candidate]:
    """Where a platform allows it, ask about the candidates before they are scored: profile lookups
    (one request per batch of handles) update `candidates` in place; the accounts a platform's search
    by each school's name returns (opt-in, `Connector.searches_school_names`) are returned as new
    candidates. The requests are counted as an outcome of their own (`<platform>:discovery`); a refusal
    only means fewer details."""
    division, connectors, settings, as_of, policy = ctx.division, ctx.connectors, ctx.settings, ctx.as_of, ctx.policy
    for platform in sorted({c.identity.platform for c in candidates}):
        cls = connectors.get(platform)
        if cls is None or cls.lookup_accounts is Connector.lookup_accounts:  # only a name to go on there
            mark_no_lookup(candidates, platform, cls.discovery_notes if cls else "no connector installed")
    discovery.add(candidates)
    scored = discovery.scored()
    found: list[Candidate] = []
    for platform, group in sorted(to_look_up(scored, policy).items()):
        cls = connectors.get(platform)
        if cls is None or cls.lookup_accounts is Connector.lookup_accounts:
            why = cls.discovery_notes if cls else "no connector installed"
            log.info("%s: %d candidate(s) scored on what posts showed (%s)", platform, len(group), why)
            continue
        with DiscoveryRequests(cls, settings, policy, as_of, outcomes, connectors=connectors) as requests:
            if requests.connector is None:
                continue
            batch = max(1, cls.lookup_batch)
            handles = [c.identity.handle or "" for c in group]
            for start in range(0, len(handles), batch):
                answer = requests.connector.lookup_accounts(handles[start : start + batch], requests.builder)
                apply_lookup(candidates, platform, answer)
    for cls in connectors.values():  # platforms searched by each school's name (opt-in, in their section)
        if not cls.searches_school_names(connectors.options_for(cls.name, policy.connectors)):
            continue
        with DiscoveryRequests(cls, settings, policy, as_of, outcomes, connectors=connectors) as requests:
            for school in sorted({a.school for a in division.accounts if a.school}):
                if requests.connector is None:
                    break
                profiles = requests.connector.search_accounts(school, requests.builder)
                found += search_candidates(cls.name, school, profiles)
    return found


class DiscoveryRequests:
    """One platform's discovery requests: a connector and a builder that counts them, the recording
    `discovery-<platform>.yaml` when replaying (none: no requests), and a refusal logged, not raised."""

    def __init__(
        self,
        cls: type[Connector],
        settings: Settings,
        policy: Policy,
        as_of: datetime,
        outcomes: dict[str, AccountOutcome],
        purpose: str = "discovery",  # or "personal" (auditor.connections): names the count and the recording
        *,
        connectors: ConnectorRegistry,
    ) -> None:
        self.cls = cls
        self.outcomes = outcomes
        self.purpose = purpose
        self.builder = SnapshotBuilder(f"{cls.name}:{purpose}", cls.name, as_of)
        self.cassette: Any = None
        self.connector: Connector | None = None
        if settings.cassette_dir is not None:
            name = f"{purpose}-{cls.name}.yaml"
            if not (settings.cassette_dir / name).exists():
                log.info("%s: replaying without %s: %s asks the platform nothing", cls.name, name, purpose)
                return
            self.cassette = make_vcr(settings.cassette_dir).use_cassette(name)
        # What earlier collections of the run spent counts: a metered quota is one budget per run.
        budget = cls.run_budget(connectors.options_for(cls.name, policy.connectors))
        if budget is not None:
            spent = sum(o.units for o in outcomes.values() if o.platform == cls.name)
            budget = UnitBudget(max(0, budget.limit - spent), f"{budget.label}, left for {purpose}")
        deadline = Deadline(policy.account_deadline_seconds)
        context = connector_context(connectors, cls.name, policy, as_of=as_of, deadline=deadline, budget=budget)
        self.connector = cls(context)

    def __enter__(self) -> DiscoveryRequests:
        if self.cassette is not None:
            self.cassette.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> bool:
        if self.cassette is not None:
            self.cassette.__exit__(kind, error, tb)
        shot = self.builder.snapshot
        if shot.requests:
            self.outcomes[shot.account_key] = AccountOutcome(
                shot.platform, False, dict(shot.requests), shot.units, [], [], dict(shot.billable)
            )
        if isinstance(error, PlatformError):
            log.warning("%s: %s requests stopped: %s", self.cls.name, self.purpose, error.describe())
            return True
        if isinstance(error, Exception):  # candidates are then scored on what the posts showed
            log.error(
                "%s: %s requests crashed: %s", self.cls.name, self.purpose, scrub(f"{type(error).__name__}: {error}")
            )
            return True
        return False


# --- what the run spent ------------------------------------------------------------------------


def spend(outcomes: Mapping[str, AccountOutcome], prices: dict[str, float]) -> dict[str, Any]:
    """The run's spend, and each outcome's own (an account's, or a batch shared by many accounts,
    keyed by its name), so that a school's report can show only what its accounts spent."""
    summary = spend_summary(*_spend_counts(outcomes.values()), prices)
    summary["by_account"] = {
        key: {"platform": outcome.platform, **spend_summary(*_spend_counts([outcome]), prices)}
        for key, outcome in sorted(outcomes.items())
        if outcome.requests or outcome.units or outcome.billable
    }
    return json.loads(json.dumps(summary, sort_keys=True))


def _spend_counts(
    outcomes: Iterable[AccountOutcome],
) -> tuple[dict[str, dict[str, int]], dict[str, int], dict[str, dict[str, int]]]:
    requests: dict[str, dict[str, int]] = {}
    units: dict[str, int] = {}
    billable: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        if outcome.requests:
            add_counts(requests, outcome.platform, outcome.requests.items())
        if outcome.units:
            units[outcome.platform] = units.get(outcome.platform, 0) + outcome.units
        if outcome.billable:
            add_counts(billable, outcome.platform, outcome.billable.items())
    return requests, units, billable
