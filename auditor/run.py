"""Run orchestration: lock, collect every due account (isolated, concurrent), evaluate, reconcile, report."""

from __future__ import annotations

import json
import logging
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from auditor import connections as personal_connections
from auditor.directory import Directory, Match
from auditor.discovery import (
    Candidate,
    apply_lookup,
    discover,
    gather_candidates,
    mark_no_lookup,
    search_candidates,
    to_look_up,
)
from auditor.exit_codes import (  # the table lives there; named here too, as before
    EXIT_BAD_INPUT,  # noqa: F401
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    EXIT_LOCKED,  # noqa: F401
    EXIT_NOTIFY_FAILED,
)
from auditor.faults import EnvironmentFault, describe, file_fault
from auditor.identity import IdentityResolver
from auditor.inputs import Division
from auditor.locking import RunLocked, run_lock
from auditor.notify import send_notifications_for_folder
from auditor.owners import OwnerBook
from auditor.policy import Policy
from auditor.privacy import hmac_key, keyed_identity, pseudonymise_outsiders
from auditor.reconcile import Evaluated, reconcile
from auditor.report.publish import point_latest, write_run_reports
from auditor.rules.base import DivisionContext, DivisionResult, RuleContext, load_rules
from auditor.settings import Settings
from auditor.spend import add_counts, spend_summary, will_prefetch
from auditor.store import (
    CRASHED,
    PUBLISH_FAILED,
    PUBLISHING,
    RUNNING,
    WHAT_IF_KIND,
    StoredParticipants,
    end_run,
    ever_resolved,
    latest_content,
    latest_cursor,
    latest_participants,
    mark_crashed_runs,
    pattern_waivers,
    previous_division_findings,
    previous_findings,
    replace_inputs,
    save_snapshot,
    store_findings,
    waivers_by_fingerprint,
)
from connectors.base import (
    Connector,
    ConnectorContext,
    KnownParticipants,
    SnapshotBuilder,
    UnitBudget,
    available_connectors,
)
from connectors.recording import make_vcr
from connectors.resilience import Deadline, PlatformError
from connectors.scrub import scrub, scrub_model
from models.db import init_db, make_engine, session
from models.migrate import SchemaBusy
from models.snapshot import (
    AccountSnapshot,
    Capability,
    CollectionState,
    CollectionStatus,
    ErrorKind,
    Identity,
    Interaction,
)
from models.tables import AuditRun, Finding, FindingStatus, RegisteredAccount, Severity

log = logging.getLogger("auditor.run")


@dataclass
class RunOutcome:
    run_id: str
    exit_code: int
    report_folder: Path | None
    findings_by_status: dict[str, int] = field(default_factory=dict)
    findings_by_severity: dict[str, int] = field(default_factory=dict)
    incomplete_accounts: list[str] = field(default_factory=list)
    requests: dict[str, dict[str, int]] = field(default_factory=dict)
    spend: dict[str, Any] = field(default_factory=dict)  # run.spend: requests, units, billable, estimated_cost
    failed_notifications: list[str] = field(default_factory=list)


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


ProgressCallback = Callable[[str, str], None]  # (account key, state)


def execute_run(
    division: Division,
    settings: Settings,
    *,
    only: list[str] | None = None,
    kind: str = "run",
    full: bool = False,
    as_of: datetime | None = None,
    engine: Engine | None = None,
    progress: ProgressCallback | None = None,
) -> RunOutcome:
    """Audit the division's active accounts (or `only` these keys) and write the reports."""
    engine = engine or make_engine(settings.database_url)
    try:
        init_db(engine)
    except SchemaBusy as exc:  # another host's run: this one would have waited its turn anyway
        raise RunLocked(exc.holder) from None
    with run_lock(settings.lock_file, engine):
        return _execute_locked(division, settings, engine, only, kind, full, as_of, progress)


def _execute_locked(
    division: Division,
    settings: Settings,
    engine: Engine,
    only: list[str] | None,
    kind: str,
    full: bool,
    as_of: datetime | None,
    progress: ProgressCallback | None,
) -> RunOutcome:
    started = datetime.now(UTC)
    clock = as_of or started
    accounts = _due_accounts(division, only)
    run = AuditRun(
        id=new_run_id(started),
        started_at=started,
        as_of=clock,
        kind=kind,
        accounts=[a.key for a in accounts],
        policy_digest=division.policy.digest(),
        division=division.policy.division,
        fail_threshold=division.policy.fail_threshold.value,
    )
    with session(engine) as db:
        crashed = mark_crashed_runs(db, started)
        if crashed:
            log.warning("earlier run(s) %s died without finishing: marked crashed", ", ".join(crashed))
        replace_inputs(db, division)
        db.add(run)
        db.commit()
    try:
        return _audit(division, settings, engine, only, full, clock, progress, run)
    except BaseException:
        _abandon(engine, run.id)
        raise


def _audit(
    division: Division,
    settings: Settings,
    engine: Engine,
    only: list[str] | None,
    full: bool,
    clock: datetime,
    progress: ProgressCallback | None,
    run: AuditRun,
) -> RunOutcome:
    accounts = _due_accounts(division, only)
    connectors = available_connectors()
    evaluator = AccountEvaluator(connectors, division.directory(), division.policy, clock)
    outcomes = collect_all(
        accounts, connectors, settings, division.policy, clock, full, engine, run.id, evaluator, progress
    )
    del evaluator
    return finish_audit(division, settings, engine, only is None, clock, run, outcomes)


def finish_audit(
    division: Division,
    settings: Settings,
    engine: Engine,
    division_wide: bool,
    clock: datetime,
    run: AuditRun,
    outcomes: dict[str, AccountOutcome],
) -> RunOutcome:
    """What follows collection, once every account's outcome is in: division rules and discovery,
    reconciliation, publishing and notifications. `auditor run` calls it after collecting in this
    process; the workers' finishing job after every account job of the run has ended."""
    started = run.started_at
    audited = set(run.accounts)
    accounts = [a for a in division.accounts if a.key in audited]
    connectors = available_connectors()
    results = [item for outcome in outcomes.values() for item in outcome.results]
    incomplete = {key for key, outcome in outcomes.items() if outcome.incomplete}
    # `check KEY` audits one account: division rules need them all.
    if division_wide:
        candidates = [c for outcome in outcomes.values() for c in outcome.candidates]
        candidates += enrich_candidates(division, candidates, connectors, settings, clock, outcomes)
        connections = personal_connections.collect(division, connectors, settings, clock, outcomes)  # opt-in
        results += evaluate_division(division, candidates, clock, connections)
    name_owners(results, division, connectors, clock)
    with session(engine) as db:
        previous = {a.key: previous_findings(db, a.key, started) for a in accounts}
        if division_wide:
            for finding in previous_division_findings(db, started):
                previous.setdefault(finding.account_key, []).append(finding)
        by_status, by_severity, breach = reconcile_and_store(
            db, run.id, clock, results, previous, incomplete, division.policy.fail_threshold.rank
        )
        exit_code = EXIT_INCOMPLETE if incomplete else EXIT_FINDINGS if breach else EXIT_CLEAN
        stored = db.get(AuditRun, run.id)
        assert stored is not None
        stored.finished_at = datetime.now(UTC)
        stored.status = PUBLISHING  # `complete` (or `incomplete`) once its reports are out
        stored.exit_code = exit_code
        spend = _spend(outcomes, division.policy.prices)
        stored.spend = spend
        db.add(stored)
        db.commit()
    # Bounded memory: the report is built again from the store; what the run evaluated is let go
    # first, so a division's findings are never in memory twice (as rule results and as a report).
    del results, outcomes, previous
    if division_wide:
        del candidates

    folder = _publish(engine, run.id, settings, "incomplete" if incomplete else "complete")
    # A what-if (`check --person --departed`) tells the one who asked, never the notification sinks.
    sent = [] if run.kind == WHAT_IF_KIND else send_notifications_for_folder(folder, division.policy, settings)
    failed_sinks = [o for o in sent if o.failed]
    if failed_sinks and exit_code in (EXIT_CLEAN, EXIT_FINDINGS):
        # The report is written whatever happens to a sink; cron still hears that nobody was told.
        exit_code = EXIT_NOTIFY_FAILED
    return RunOutcome(
        run_id=run.id,
        exit_code=exit_code,
        report_folder=folder,
        findings_by_status=by_status,
        findings_by_severity=by_severity,
        incomplete_accounts=sorted(incomplete),
        requests=spend["requests"],
        spend=spend,
        failed_notifications=[f"{o.kind} ({o.target}): {o.detail}" for o in failed_sinks],
    )


def _publish(engine: Engine, run_id: str, settings: Settings, status: str) -> Path:
    """The reports, then the run row says `status`, then `latest` moves: `latest` only ever shows a
    run recorded as ended. Any failure leaves the row `publish-failed` and `latest` where it was."""
    root = settings.report_dir
    try:
        folder, nightly = write_run_reports(engine, run_id, root, status)
        _set_status(engine, run_id, status)
        if nightly:
            point_latest(root, folder)
    except Exception as exc:
        _set_status(engine, run_id, PUBLISH_FAILED, quiet=True)
        if isinstance(exc, OSError):
            reason = file_fault(exc, root / run_id)
        else:
            reason = describe(exc, settings.database_url) or ""
        if not reason:  # the auditor's own bug: its traceback goes to the log
            log.error("publishing run %s crashed: %s", run_id, scrub("".join(traceback.format_exception(exc))))
            reason = f"{type(exc).__name__}: {scrub(str(exc))}"
        raise EnvironmentFault(f"Run {run_id} is {PUBLISH_FAILED} (`latest` is unchanged): {reason}") from exc
    log.info("report written to %s", folder)
    return folder


def _set_status(engine: Engine, run_id: str, status: str, *, quiet: bool = False) -> None:
    try:
        with session(engine) as db:
            stored = db.get(AuditRun, run_id)
            assert stored is not None
            end_run(db, stored, status, datetime.now(UTC))
            db.commit()
    except Exception as exc:
        if not quiet:
            raise
        # The store itself failed: the row stays `publishing`, which the next run marks crashed.
        log.warning("run %s could not be marked %s: %s", run_id, status, type(exc).__name__)


def _abandon(engine: Engine, run_id: str) -> None:
    """A run ended by an exception (full disk, interrupt, bug): its row must not stay `running`.
    Best effort: if the store itself is what failed, the next run marks the row crashed."""
    try:
        with session(engine) as db:
            stored = db.get(AuditRun, run_id)
            if stored is None or stored.status not in (RUNNING, PUBLISHING):
                return  # ended already (publish-failed)
            end_run(db, stored, CRASHED, datetime.now(UTC))
            db.commit()
        log.warning("run %s ended by an error: marked crashed", run_id)
    except Exception as exc:
        log.warning("run %s could not be marked crashed (%s): the next run will", run_id, type(exc).__name__)


OPEN_STATUSES = (FindingStatus.NEW.value, FindingStatus.PERSISTING.value, FindingStatus.UNKNOWN.value)


def reconcile_and_store(
    db: Session,
    run_id: str,
    as_of: datetime,
    results: list[Evaluated],
    previous: dict[str, list[Finding]],
    incomplete: set[str],
    threshold: int,
) -> tuple[dict[str, int], dict[str, int], bool]:
    """Reconcile and store the run's findings one account at a time (reconciliation is per
    fingerprint, and a fingerprint names its account), so that only one account's findings are
    ever objects in memory. Returns the counts by status, the open ones by severity, and whether
    an open finding reaches the fail threshold."""
    waivers, patterns = waivers_by_fingerprint(db), pattern_waivers(db)  # waivers.yaml, stored with the inputs
    resolved_before = ever_resolved(db, [r.fingerprint for r in results])
    by_account: dict[str, list[Evaluated]] = {}
    for item in results:
        by_account.setdefault(item.account.key, []).append(item)
    by_status: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    breach = False
    for key in sorted(set(by_account) | set(previous)):
        findings = reconcile(
            run_id=run_id,
            as_of=as_of,
            evaluated=by_account.pop(key, []),
            previous={key: previous.get(key, [])},
            incomplete=incomplete,
            waivers=waivers,
            patterns=patterns,
            resolved_before=resolved_before,
        )
        store_findings(db, findings)
        for finding in findings:
            by_status[finding.status] = by_status.get(finding.status, 0) + 1
            if finding.status not in (FindingStatus.RESOLVED.value, FindingStatus.WAIVED.value):
                by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
            breach = breach or (finding.status in OPEN_STATUSES and Severity(finding.severity).rank >= threshold)
    return dict(sorted(by_status.items())), dict(sorted(by_severity.items())), breach


def _due_accounts(division: Division, only: list[str] | None) -> list[RegisteredAccount]:
    if only:
        by_key = {a.key: a for a in division.accounts}
        return [by_key[k] for k in only]
    return [a for a in division.accounts if a.status == "active"]


# --- collection ---------------------------------------------------------------------------


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


def collect_all(
    accounts: list[RegisteredAccount],
    connectors: dict[str, type[Connector]],
    settings: Settings,
    policy: Policy,
    as_of: datetime,
    full: bool,
    engine: Engine,
    run_id: str,
    evaluator: AccountEvaluator,
    progress: ProgressCallback | None = None,
) -> dict[str, AccountOutcome]:
    """Pull, store and evaluate every account, each isolated and stored in its own transaction."""
    run_deadline = Deadline(policy.run_deadline_seconds)
    replaying = settings.cassette_dir is not None
    # YouTube's daily quota belongs to the Google Cloud project: one budget for every channel of the run.
    budget = UnitBudget(policy.youtube_daily_units, "YouTube quota units (policy youtube_daily_units)")
    limits = {
        name: threading.Semaphore(policy.concurrency.get(name, policy.concurrency.get("default", 4)))
        for name in {a.connector for a in accounts}
    }
    store_lock = threading.Lock()
    outsider_key = hmac_key(settings)
    outcomes: dict[str, AccountOutcome] = {}
    prefetched = prefetch_all(accounts, connectors, settings, policy, as_of, full, run_deadline, outcomes, engine)

    def audit_one(account: RegisteredAccount) -> None:
        with limits[account.connector]:
            with session(engine) as db:
                cursor = {} if full else latest_cursor(db, account.key)
                cls = connectors.get(account.connector)
                incremental = bool(cursor) and cls is not None and cls.incremental
                previous = latest_content(db, account.key) if incremental else None
            # The store keeps people outside the directory as keyed hashes: recognise them in that form.
            earlier = PreviousParticipants(engine, account.key, lambda i: keyed_identity(outsider_key, i))
            deadline = Deadline(min(policy.account_deadline_seconds, max(run_deadline.remaining(), 0.0)))
            context = ConnectorContext(
                settings=settings,
                policy=policy,
                as_of=as_of,
                deadline=deadline,
                full=full,
                budget=budget,
                known_participants=earlier.keys if incremental else None,
                prefetched=prefetched.get(account.key),
            )
            snapshot = pull_account(account, connectors, context, cursor, settings.cassette_dir)
        carry_forward(previous, snapshot, as_of - timedelta(days=policy.lookback_days), earlier.load, earlier.stored_as)
        earlier.forget()
        mark_full_listing(snapshot)
        known: set[str] = set()
        results, rule_error = evaluator.evaluate(account, snapshot, known=known)
        # The rules have run: follower lists keep only keyed hashes of people outside the directory.
        stored = pseudonymise_outsiders(snapshot, known, outsider_key)
        with store_lock, session(engine) as db:
            save_snapshot(db, run_id, stored, account)
            db.commit()
        incomplete = _incomplete(snapshot) or rule_error
        outcomes[account.key] = AccountOutcome(
            snapshot.platform,
            incomplete,
            dict(snapshot.requests),
            snapshot.units,
            results,
            gather_candidates(account, snapshot),
            dict(snapshot.billable),
        )
        if progress:
            progress(account.key, "incomplete" if incomplete else "complete")

    # vcrpy patches HTTP libraries process-wide, so replayed runs go one account at a time.
    workers = 1 if replaying else max(1, sum(policy.concurrency.values()))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collect") as pool:
        list(pool.map(audit_one, accounts))
    return outcomes


def carry_forward(
    previous: AccountSnapshot | None,
    snapshot: AccountSnapshot,
    window_start: datetime,
    stored_participants: Callable[[], StoredParticipants | None] | None = None,
    stored_as: Callable[[Identity], Identity] | None = None,
) -> None:
    """Complete an incremental pull with what the store already holds, so rules see the whole picture.

    - Posts and interactions: the pull asked only for what is new since the cursor; the previous
      snapshot's ones still inside the look-back window are added back, so a finding about last
      week's post is not mistaken for resolved.
    - Participants: a pull that listed only new participants (`participants_delta`) gets the previous
      participant list added; who left is found at the connector's next full listing. `stored_as`
      is how the store keeps an identity (keyed hash of an outsider), so nobody is held twice.
    """
    if previous is not None and snapshot.usable(Capability.POSTS):
        known = {p.id for p in snapshot.posts}
        snapshot.posts += [p for p in previous.posts if p.id not in known and _within(p.created_at, window_start)]
    if previous is not None and snapshot.usable(Capability.INTERACTIONS):
        seen = {_interaction_key(i) for i in snapshot.interactions}
        snapshot.interactions += [
            i for i in previous.interactions if _interaction_key(i) not in seen and _within(i.created_at, window_start)
        ]
    if snapshot.participants_delta and snapshot.usable(Capability.PARTICIPANTS):
        _merge_participants(snapshot, stored_participants() if stored_participants else None, stored_as)


def _merge_participants(
    snapshot: AccountSnapshot, stored: StoredParticipants | None, stored_as: Callable[[Identity], Identity] | None
) -> None:
    new = len(snapshot.participants)
    if stored is None:
        snapshot.collections[Capability.PARTICIPANTS.value] = CollectionStatus(
            state=CollectionState.PARTIAL,
            reason=f"only the {new} participant(s) new since the previous run: the previous list is not in the "
            "store; run `auditor run --full` to list everyone",
        )
        return  # stays a delta: never used as the base of a later merge
    listed = {p.key for p in snapshot.participants}
    if stored_as is not None:
        listed |= {stored_as(p).key for p in snapshot.participants}
    snapshot.participants += [p for p in stored.identities if p.key not in listed]
    snapshot.participants_delta = False
    if stored.status.state == CollectionState.PARTIAL:
        snapshot.collections[Capability.PARTICIPANTS.value] = CollectionStatus(
            state=CollectionState.PARTIAL,
            reason=f"{new} new participant(s) added to a list that was partial: {stored.status.reason}",
        )


FULL_LISTING_KEY = "full_reconciled_at"  # cursor key; the report's coverage[].last_full_reconciliation


def mark_full_listing(snapshot: AccountSnapshot) -> None:
    """A connector that lists every participant each run (YouTube subscribers, an ITS export) does not
    keep a reconciliation date itself: its complete listing is one, dated this run."""
    status = snapshot.status_of(Capability.PARTICIPANTS)
    complete = status is not None and status.state == CollectionState.COMPLETE
    if complete and not snapshot.participants_delta and FULL_LISTING_KEY not in snapshot.cursor:
        snapshot.cursor[FULL_LISTING_KEY] = snapshot.taken_at.isoformat()


class PreviousParticipants:
    """The account's stored participant list, read at most once per pull and only when asked for."""

    def __init__(
        self, engine: Engine, account_key: str, stored_as: Callable[[Identity], Identity] | None = None
    ) -> None:
        self.engine = engine
        self.account_key = account_key
        self.stored_as = stored_as
        self._loaded = False
        self._stored: StoredParticipants | None = None

    def load(self) -> StoredParticipants | None:
        if not self._loaded:
            with session(self.engine) as db:
                self._stored = latest_participants(db, self.account_key)
            self._loaded = True
        return self._stored

    def keys(self, account_key: str) -> KnownParticipants | None:
        stored = self.load() if account_key == self.account_key else None
        if stored is None:
            return None
        return KnownParticipants({p.key for p in stored.identities}, self.stored_as)

    def forget(self) -> None:
        self._stored = None  # memory stays bounded: one account's list at a time per worker


def prefetch_all(
    accounts: list[RegisteredAccount],
    connectors: dict[str, type[Connector]],
    settings: Settings,
    policy: Policy,
    as_of: datetime,
    full: bool,
    run_deadline: Deadline,
    outcomes: dict[str, AccountOutcome],
    engine: Engine,
) -> dict[str, Any]:
    """Counts before lists: each connector's batched lookup of its accounts (e.g. X profiles, 100 per
    request; on a nightly run X mentions too). Its spend is recorded as an outcome of its own; a
    failure only means no hints."""
    hints: dict[str, Any] = {}
    groups: dict[str, list[RegisteredAccount]] = {}
    for account in accounts:
        groups.setdefault(account.connector, []).append(account)
    for name, group in sorted(groups.items()):
        cls = connectors.get(name)
        if cls is None or not will_prefetch(cls, group, settings):
            continue
        builder = SnapshotBuilder(f"{cls.name}:batched-lookup", cls.name, as_of)
        deadline = Deadline(min(policy.account_deadline_seconds, max(run_deadline.remaining(), 0.0)))
        context = ConnectorContext(settings=settings, policy=policy, as_of=as_of, deadline=deadline, full=full)
        try:
            hints.update(cls(context).prefetch(group, builder, {} if full else _cursors(engine, group)))
        except Exception as exc:  # the pulls then read their own profiles
            log.error("%s: batched lookup crashed: %s", name, scrub(f"{type(exc).__name__}: {exc}"))
        shot = builder.snapshot
        outcomes[shot.account_key] = AccountOutcome(
            shot.platform, False, dict(shot.requests), shot.units, [], [], dict(shot.billable)
        )
    return hints


def _cursors(engine: Engine, accounts: list[RegisteredAccount]) -> dict[str, dict[str, str]]:
    with session(engine) as db:
        return {account.key: latest_cursor(db, account.key) for account in accounts}


def _within(when: datetime | None, window_start: datetime) -> bool:
    if when is None:
        return False
    return (when if when.tzinfo else when.replace(tzinfo=UTC)) >= window_start


def _interaction_key(interaction: Interaction) -> tuple[str | None, ...]:
    return (interaction.kind, interaction.url, interaction.actor.key, interaction.post_id, str(interaction.created_at))


def pull_account(
    account: RegisteredAccount,
    connectors: dict[str, type[Connector]],
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
        if cassette_dir is not None and account.connector != "manual":
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


def _incomplete(snapshot: AccountSnapshot) -> bool:
    return any(
        s.state in (CollectionState.FAILED, CollectionState.PARTIAL, CollectionState.UNAVAILABLE)
        for s in snapshot.collections.values()
    )


# --- evaluation ---------------------------------------------------------------------------


class AccountEvaluator:
    """Resolves a snapshot's identities and runs every enabled rule on it (pure: no network)."""

    def __init__(
        self, connectors: dict[str, type[Connector]], directory: Directory, policy: Policy, as_of: datetime
    ) -> None:
        self.connectors = connectors
        self.directory = directory
        self.policy = policy
        self.as_of = as_of
        self.rules = [
            r for rid, r in load_rules().items() if rid not in policy.disabled_rules and r.meta.scope == "account"
        ]
        self.resolver = IdentityResolver(directory, policy.matching)

    def evaluate(
        self, account: RegisteredAccount, snapshot: AccountSnapshot, known: set[str] | None = None
    ) -> tuple[list[Evaluated], bool]:
        """Rule results for the account, and whether a rule crashed (the account is then incomplete).

        `known` receives the keys of the identities the directory knows (matched to a person).
        """
        matches: dict[str, Match] = self.resolver.resolve(snapshot.identities())
        if known is not None:
            known.update(key for key, match in matches.items() if match.person_id)
        cls = self.connectors.get(account.connector)
        context = RuleContext(
            account=account,
            snapshot=snapshot,
            capabilities=cls.capabilities if cls else frozenset(),
            matches=matches,
            directory=self.directory,
            policy=self.policy,
            as_of=self.as_of,
        )
        results: list[Evaluated] = []
        crashed = False
        for rule in self.rules:
            try:
                for result in rule.check(context):
                    severity = result.severity or self.policy.severity_for(rule.meta.id, rule.meta.severity)
                    results.append(Evaluated(rule.meta, account, result, severity))
            except Exception:
                crashed = True
                log.error("%s: rule %s crashed: %s", account.key, rule.meta.id, scrub(traceback.format_exc()))
        return results, crashed


# --- discovery's optional requests -------------------------------------------------------------


DISCOVERY_RULE = "account-unregistered"


def enrich_candidates(
    division: Division,
    candidates: list[Candidate],
    connectors: dict[str, type[Connector]],
    settings: Settings,
    as_of: datetime,
    outcomes: dict[str, AccountOutcome],
) -> list[Candidate]:
    """Where a platform allows it, ask about the candidates before they are scored: profile lookups
    (X: one request per 100 handles) update `candidates` in place; the accounts a YouTube channel
    search by each school's name returns (opt-in) are returned as new candidates. The requests are
    counted as an outcome of their own (`<platform>:discovery`); a refusal only means fewer details."""
    policy = division.policy
    if DISCOVERY_RULE in policy.disabled_rules:
        return []  # nobody reads the answers: ask nothing
    for platform in sorted({c.identity.platform for c in candidates}):
        cls = connectors.get(platform)
        if cls is None or cls.lookup_accounts is Connector.lookup_accounts:  # only a name to go on there
            mark_no_lookup(candidates, platform, cls.discovery_notes if cls else "no connector installed")
    scored = discover(candidates, division.accounts, division.directory(), policy, division.ignored)
    found: list[Candidate] = []
    for platform, group in sorted(to_look_up(scored, policy).items()):
        cls = connectors.get(platform)
        if cls is None or cls.lookup_accounts is Connector.lookup_accounts:
            why = cls.discovery_notes if cls else "no connector installed"
            log.info("%s: %d candidate(s) scored on what posts showed (%s)", platform, len(group), why)
            continue
        with DiscoveryRequests(cls, settings, policy, as_of, outcomes) as requests:
            if requests.connector is None:
                continue
            batch = max(1, cls.lookup_batch)
            handles = [c.identity.handle or "" for c in group]
            for start in range(0, len(handles), batch):
                answer = requests.connector.lookup_accounts(handles[start : start + batch], requests.builder)
                apply_lookup(candidates, platform, answer)
    youtube = connectors.get("youtube")
    if policy.discovery_youtube_search and youtube is not None:
        with DiscoveryRequests(youtube, settings, policy, as_of, outcomes) as requests:
            for school in sorted({a.school for a in division.accounts if a.school}):
                if requests.connector is None:
                    break
                profiles = requests.connector.search_accounts(school, requests.builder)
                found += search_candidates(youtube.name, school, profiles)
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
        # What earlier collections of the run spent counts: YouTube's quota is one budget per project.
        spent = sum(o.units for o in outcomes.values() if o.platform == cls.name)
        budget = UnitBudget(max(0, policy.youtube_daily_units - spent), "YouTube quota units left for discovery")
        deadline = Deadline(policy.account_deadline_seconds)
        context = ConnectorContext(settings=settings, policy=policy, as_of=as_of, deadline=deadline, budget=budget)
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


def evaluate_division(
    division: Division, candidates: list[Candidate], as_of: datetime, connections: list[Any] | None = None
) -> list[Evaluated]:
    """Division-scope rules (discovery of unregistered accounts) over what every account yielded."""
    policy = division.policy
    context = DivisionContext(
        accounts=division.accounts,
        directory=division.directory(),
        policy=policy,
        as_of=as_of,
        candidates=candidates,
        ignored=division.ignored,
        connections=connections or [],
    )
    results: list[Evaluated] = []
    for rule_id, rule in load_rules().items():
        if rule.meta.scope != "division" or rule_id in policy.disabled_rules:
            continue
        for result in rule.check(context):
            assert isinstance(result, DivisionResult) and result.account is not None
            severity = result.severity or policy.severity_for(rule_id, rule.meta.severity)
            results.append(Evaluated(rule.meta, result.account, result, severity))
    return results


def name_owners(
    results: list[Evaluated], division: Division, connectors: dict[str, type[Connector]], as_of: datetime
) -> None:
    """Who must act on each result, and the connector's place-specific remediation (auditor.owners)."""
    book = OwnerBook(division.directory(), as_of, division.principals, connectors, tuple(division.policy.staff_roles))
    for item in results:
        book.annotate(item)


def _spend(outcomes: Mapping[str, AccountOutcome], prices: dict[str, float]) -> dict[str, Any]:
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
