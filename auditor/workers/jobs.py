"""Procrastinate jobs: a run split into one job per account and one finishing job.

- `auditor.start_run` (queue `runs`, queueing lock per division: a late night does not stack a second
  run) records the run and defers one `auditor.audit_account` per due account.
- `auditor.audit_account` (queue `accounts`, lock per (division, account): one account is never
  audited twice at once) is `auditor.collect.audit_account` (collect, merge, resolve, account rules,
  save), as `auditor run` calls it; its outcome goes as JSON to the run's ledger (a table in the
  division's schema). The job that ends the run's last account defers the finishing job.
- `auditor.finish_run` (lock per division) is `auditor.run.finish_run` (division rules, discovery,
  reconciliation, publishing, notifications) over the ledger's outcomes; then the ledger is emptied.
- `auditor.retry_stalled` (every few seconds) hands the jobs of a worker whose heartbeat stopped
  (SIGKILL, power loss) to the other workers.

An account whose job keeps failing ends, after MAX_ATTEMPTS, as a failed collection (its
`audit-incomplete` finding), so it never blocks the run's finish.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from procrastinate import App, Blueprint, JobContext, PsycopgConnector, RetryDecision
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy
from sqlalchemy import delete, text
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from auditor import collect, run
from auditor.collect import AccountOutcome, failed_snapshot
from auditor.context import RunContext
from auditor.store import CRASHED, PUBLISHING, RUNNING, end_run, save_snapshot
from auditor.workers.budgets import BUDGETS_DDL, SharedUnitBudget
from auditor.workers.pacing import PostgresPacer, RescheduleAt
from auditor.workers.sites import Site, load_site, prepare_schema
from connectors.base import UnitBudget
from connectors.resilience import Deadline
from models.db import session
from models.snapshot import ErrorKind
from models.tables import AuditRun, Participant, RegisteredAccount, Snapshot

log = logging.getLogger("auditor.workers")

QUEUE_URL_VARIABLE = "AUDITOR_QUEUE_URL"
STALLED_VARIABLE = "AUDITOR_WORKER_STALLED_SECONDS"
MAX_ATTEMPTS = 3  # an account's job that fails this often ends as audit-incomplete
RUNS_QUEUE, ACCOUNTS_QUEUE = "runs", "accounts"
# A run's start and finish go before waiting account jobs (whose priorities are 0 and below): a
# division's run starts, and its report is published, without queueing behind other divisions' accounts.
RUN_PRIORITY = 1

LEDGER_DDL = (
    """CREATE TABLE IF NOT EXISTS auditor_worker_runs (
        run_id text PRIMARY KEY,
        division_wide boolean NOT NULL,
        full_listing boolean NOT NULL DEFAULT false
    )""",
    """CREATE TABLE IF NOT EXISTS auditor_worker_accounts (
        run_id text NOT NULL REFERENCES auditor_worker_runs ON DELETE CASCADE,
        account_key text NOT NULL,
        state text NOT NULL DEFAULT 'pending',
        starts integer NOT NULL DEFAULT 0,
        outcome text,  -- AccountOutcome.to_json(): data only, never code
        prefetched text,  -- the account's part of the run's batched lookups (JSON), until its job used it
        PRIMARY KEY (run_id, account_key)
    )""",
    "ALTER TABLE auditor_worker_accounts ADD COLUMN IF NOT EXISTS prefetched text",
    BUDGETS_DDL,
)


def queue_url() -> str:
    url = os.environ.get(QUEUE_URL_VARIABLE) or os.environ.get("DATABASE_URL") or ""
    if not url.startswith(("postgresql", "postgres:")):
        raise RuntimeError(f"workers need PostgreSQL: set {QUEUE_URL_VARIABLE} to a postgresql:// URL")
    return url


def conninfo(url: str) -> str:
    """SQLAlchemy's `postgresql+psycopg://` is libpq's `postgresql://`."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def stalled_seconds() -> float:
    return float(os.environ.get(STALLED_VARIABLE, "30"))


class RunRetry(BaseRetryStrategy):
    """A rate limit reschedules at the platform's reset time; other failures back off (the account
    job itself decides when it has failed for good)."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, RescheduleAt):
            return RetryDecision(retry_at=exception.when)
        if job.attempts >= 20:  # the database itself keeps failing: leave the job failed, visible
            return None
        return RetryDecision(retry_in={"seconds": min(2 ** (job.attempts + 1), 60)})


RETRY = RunRetry()
jobs = Blueprint()


# --- the run's ledger (in the division's schema) ---------------------------------------------


def _ledger(engine: Engine) -> None:
    with engine.begin() as connection:
        for statement in LEDGER_DDL:
            connection.execute(text(statement))


def _start_attempt(engine: Engine, run_id: str, key: str) -> tuple[str, int, str | None]:
    """The account's state, its attempts so far (this one included) and its prefetched hint (JSON)."""
    with engine.begin() as connection:
        row = connection.execute(
            text(
                "UPDATE auditor_worker_accounts SET starts = starts + (CASE WHEN state = 'pending' THEN 1 ELSE 0 END)"
                " WHERE run_id = :run AND account_key = :key RETURNING state, starts, prefetched"
            ),
            {"run": run_id, "key": key},
        ).one_or_none()
    return (row[0], row[1], row[2]) if row else ("unknown", 0, None)


def _undo_attempt(engine: Engine, run_id: str, key: str) -> None:
    """A rescheduled attempt (rate limit) is not a failure."""
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE auditor_worker_accounts SET starts = starts - 1 WHERE run_id = :run AND account_key = :key"),
            {"run": run_id, "key": key},
        )


def _end_account(engine: Engine, run_id: str, key: str, state: str, outcome: AccountOutcome) -> None:
    # JSON (AccountOutcome.to_json), read back only by this run's finishing job from the division's own
    # schema, and deleted once the run is published.
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE auditor_worker_accounts SET state = :state, outcome = :outcome, prefetched = NULL"
                " WHERE run_id = :run AND account_key = :key AND state = 'pending'"
            ),
            {"state": state, "outcome": outcome.to_json(), "run": run_id, "key": key},
        )


def _forget_attempt(engine: Engine, run_id: str, key: str) -> None:
    """An attempt killed after saving its snapshot (SIGKILL) must not leave the account twice in the run."""
    with session(engine) as db:
        shots = select(Snapshot.id).where(Snapshot.run_id == run_id, Snapshot.account_key == key)
        db.execute(delete(Participant).where(col(Participant.snapshot_id).in_(shots)))
        db.execute(delete(Snapshot).where(col(Snapshot.run_id) == run_id, col(Snapshot.account_key) == key))
        db.commit()


def _pending(engine: Engine, run_id: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM auditor_worker_accounts WHERE run_id = :run AND state = 'pending'"),
                {"run": run_id},
            ).scalar_one()
        )


def _outcomes(engine: Engine, run_id: str) -> dict[str, AccountOutcome]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT account_key, outcome FROM auditor_worker_accounts WHERE run_id = :run ORDER BY account_key"),
            {"run": run_id},
        )
        return {key: AccountOutcome.from_json(data) for key, data in rows}


def _unfinished_runs(engine: Engine, site: Site, now: datetime) -> list[str]:
    """Runs still going. One older than the policy's run deadline never will finish (its finishing job
    failed for good): it is marked crashed, as `auditor run` marks a dead run, and stops blocking."""
    deadline = now - timedelta(seconds=site.division.policy.run_deadline_seconds)
    going: list[str] = []
    with session(engine) as db:
        for run_id in db.execute(text("SELECT run_id FROM auditor_worker_runs ORDER BY run_id")).scalars():
            run = db.get(AuditRun, run_id)
            if run is not None and run.status == RUNNING and run.started_at > deadline:
                going.append(run_id)
                continue
            if run is not None and run.status in (RUNNING, PUBLISHING):
                end_run(db, run, CRASHED, now)
                log.warning("%s: run %s passed its deadline unfinished: marked crashed", site.slug, run_id)
            db.execute(text("DELETE FROM auditor_worker_runs WHERE run_id = :run"), {"run": run_id})
        db.commit()
    return going


# --- the jobs ---------------------------------------------------------------------------------


_pacer: PostgresPacer | None = None  # the worker process's request slots (`auditor worker` sets it)


def install_pacer(pacer: PostgresPacer | None) -> None:
    global _pacer
    _pacer = pacer
    _site.cache_clear()
    _context.cache_clear()


@lru_cache(maxsize=32)
def _site(folder: str, run_id: str) -> Site:
    """A division's inputs and credentials are read once per run and worker process (a run audits one
    version of them)."""
    return load_site(Path(folder), queue_url(), _pacer)


@lru_cache(maxsize=32)
def _engine(database_url: str) -> Engine:
    from models.db import make_engine

    return make_engine(database_url)


@lru_cache(maxsize=32)
def _context(folder: str, run_id: str) -> RunContext:
    """The run's context in this worker process, for every job of the run it takes: the clock is the
    run's, the identity index is built once, the metered budgets are the run's, shared with every other
    worker through the division's schema, and so is its deadline (from the run's start)."""
    site = _site(folder, run_id)
    engine = _engine(site.settings.database_url)
    with engine.connect() as connection:
        wide, full = connection.execute(
            text("SELECT division_wide, full_listing FROM auditor_worker_runs WHERE run_id = :run"), {"run": run_id}
        ).one()
    with session(engine) as db:
        stored = db.get(AuditRun, run_id)
        assert stored is not None
        as_of, started = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (stored.as_of, stored.started_at))
        kind, keys = stored.kind, list(stored.accounts)
    ctx = RunContext.start(
        site.division,
        site.settings,
        engine,
        site.connectors,
        as_of,
        run_id=run_id,
        kind=kind,
        full=full,
        only=None if wide else keys,
    )
    shared: dict[str, UnitBudget] = {
        name: SharedUnitBudget(engine, run_id, name, budget) for name, budget in ctx.budgets.items()
    }
    # The run's deadline counts from the run's start (its row), on every worker and host alike.
    running_for = max((datetime.now(UTC) - started).total_seconds(), 0.0)
    deadline = Deadline(ctx.deadline.seconds, started=time.monotonic() - running_for)
    return dataclasses.replace(ctx, budgets=shared, deadline=deadline)


@jobs.task(name="auditor.start_run", queue=RUNS_QUEUE, pass_context=True, retry=RETRY, priority=RUN_PRIORITY)
def start_run(
    context: JobContext,
    division: str,
    only: list[str] | None = None,
    full: bool = False,
    timestamp: int | None = None,  # set when the periodic schedule deferred it
) -> str | None:
    url = queue_url()
    site = load_site(Path(division), url, _pacer)  # paced: the batched lookups below ask the platforms
    prepare_schema(site, url)
    engine = _engine(site.settings.database_url)
    _ledger(engine)
    started = datetime.now(UTC)
    unfinished = _unfinished_runs(engine, site, started)
    if unfinished:
        # The queueing lock stops a second start waiting in the queue; this stops one while a run's
        # account jobs or finishing job are still going (a late night).
        log.warning("%s: run %s has not finished yet: no new run started", site.slug, unfinished[0])
        return None
    ctx = RunContext.start(
        site.division,
        site.settings,
        engine,
        site.connectors,
        started,
        run_id=run.new_run_id(started),
        kind="run" if only is None else "check",
        full=full,
        only=only,
    )
    keys = [a.key for a in ctx.accounts]
    batches: dict[str, AccountOutcome] = {}
    hints = _prefetch(ctx, batches)
    run.open_run(ctx, started)  # the run row and its inputs, as `auditor run` records them
    with session(engine) as db:
        db.execute(
            text("INSERT INTO auditor_worker_runs (run_id, division_wide, full_listing) VALUES (:run, :wide, :full)"),
            {"run": ctx.run_id, "wide": ctx.division_wide, "full": full},
        )
        for key in keys:
            db.execute(
                text(
                    "INSERT INTO auditor_worker_accounts (run_id, account_key, prefetched) VALUES (:run, :key, :hint)"
                ),
                {"run": ctx.run_id, "key": key, "hint": hints.get(key)},
            )
        for key, spent in batches.items():  # the lookups' spend, for the report's spend line
            db.execute(
                text(
                    "INSERT INTO auditor_worker_accounts (run_id, account_key, state, outcome)"
                    " VALUES (:run, :key, 'done', :outcome)"
                ),
                {"run": ctx.run_id, "key": key, "outcome": spent.to_json()},
            )
        db.commit()
    for account, turn in account_turns(ctx.accounts):
        context.app.configure_task(
            "auditor.audit_account", lock=f"{site.slug}:{account.key}", queue=ACCOUNTS_QUEUE, priority=-turn
        ).defer(division=str(site.folder), run_id=ctx.run_id, account=account.key, full=full)
    if not keys:
        _defer_finish(context.app, site, ctx.run_id)
    log.info("%s: run %s started with %d account job(s)", site.slug, ctx.run_id, len(keys))
    return ctx.run_id


@jobs.task(name="auditor.audit_account", queue=ACCOUNTS_QUEUE, pass_context=True, retry=RETRY)
def audit_account(context: JobContext, division: str, run_id: str, account: str, full: bool = False) -> None:
    site = _site(division, run_id)
    engine = _engine(site.settings.database_url)
    state, starts, prefetched = _start_attempt(engine, run_id, account)
    if state == "pending":
        if starts > 1:
            _forget_attempt(engine, run_id, account)
        ctx = _context(division, run_id)
        registered = next(a for a in site.division.accounts if a.key == account)
        outcome: AccountOutcome | None = None
        if starts <= MAX_ATTEMPTS:
            try:
                outcome = collect.audit_account(ctx, registered, prefetched=_hint(ctx, registered, prefetched))
            except RescheduleAt as wait:
                _undo_attempt(engine, run_id, account)
                log.info("%s: %s rescheduled: %s", site.slug, account, wait.why)
                raise
            except Exception as exc:
                if starts < MAX_ATTEMPTS:
                    raise
                log.error("%s: %s failed %d times, last: %s", site.slug, account, starts, type(exc).__name__)
        if outcome is None:  # failed for good (or killed MAX_ATTEMPTS times): audit-incomplete, never a block
            outcome = _failed_for_good(ctx, registered)
        _end_account(engine, run_id, account, "done", outcome)
    # Also when an earlier attempt ended the account but died before this (SIGKILL): the finish is
    # deferred by whichever job sees no account pending, once (queueing lock), and is idempotent.
    if _pending(engine, run_id) == 0:
        _defer_finish(context.app, site, run_id)


def _prefetch(ctx: RunContext, batches: dict[str, AccountOutcome]) -> dict[str, str]:
    """The run's batched lookups (`collect.prefetch`: counts before lists, X's profiles 100 per request),
    made once for every worker; each account's part, as JSON, goes to its ledger row for its job.

    A wait the platform's window asks for does not hold the run back: the pulls then read their own.
    A hint its connector cannot turn into JSON data is left out the same way."""
    hints: dict[str, object] = {}
    try:
        collect.prefetch(ctx, batches, into=hints)
    except RescheduleAt as wait:  # the lookups not made yet: their accounts read their own
        log.info("%s: batched lookups cut short (%s)", ctx.division.policy.division, wait.why)
    connector_of = {account.key: ctx.connectors.get(account.connector) for account in ctx.accounts}
    kept: dict[str, str] = {}
    for key, hint in hints.items():
        cls = connector_of.get(key)
        if cls is None:
            continue
        try:
            kept[key] = json.dumps(cls.prefetched_to_data(hint))
        except (TypeError, ValueError) as exc:
            log.warning("%s: %s's batched lookup cannot travel to its job (%s)", cls.name, key, type(exc).__name__)
    return kept


def _hint(ctx: RunContext, account: RegisteredAccount, data: str | None) -> object:
    """The account's part of the run's batched lookups, as its connector's pull expects it; None (the
    pull reads its own) when there is none or it cannot be read back (a worker of another version)."""
    cls = ctx.connectors.get(account.connector)
    if not data or cls is None:
        return None
    try:
        return cls.prefetched_from_data(json.loads(data))
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("%s: %s's batched lookup could not be read back (%s)", cls.name, account.key, type(exc).__name__)
        return None


def account_turns(accounts: Sequence[RegisteredAccount]) -> Iterator[tuple[RegisteredAccount, int]]:
    """Each account with its turn among its connector's accounts in the run (0, 1, 2, ...).

    The turn, negated, is the job's priority, and workers take the highest first: the first account of
    every division and connector, then the second of each, and so on. Each credential's requests then
    go side by side with the others', rather than one division's whole run first while its window binds
    and the other credentials idle."""
    turns: Counter[str] = Counter()
    for account in accounts:
        yield account, turns[account.connector]  # one connector, one credential in a division
        turns[account.connector] += 1


def _failed_for_good(ctx: RunContext, registered: RegisteredAccount) -> AccountOutcome:
    """The account's failed collection, stored and evaluated as `auditor run` records a crashed pull."""
    reason = f"the account's job failed {MAX_ATTEMPTS} times (see the workers' log)"
    snapshot = failed_snapshot(registered, ctx.as_of, ErrorKind.RETRYABLE, reason)
    results, _ = collect.account_evaluator(ctx).evaluate(registered, snapshot)
    with session(ctx.engine) as db:
        save_snapshot(db, ctx.run_id, snapshot, registered)
        db.commit()
    return AccountOutcome(registered.platform, True, {}, 0, results, [])


def _defer_finish(app: App, site: Site, run_id: str) -> None:
    with contextlib.suppress(AlreadyEnqueued):
        app.configure_task(
            "auditor.finish_run", lock=f"finish:{site.slug}", queueing_lock=f"finish:{run_id}", queue=RUNS_QUEUE
        ).defer(division=str(site.folder), run_id=run_id)


@jobs.task(name="auditor.finish_run", queue=RUNS_QUEUE, pass_context=True, retry=RETRY, priority=RUN_PRIORITY)
def finish_run(context: JobContext, division: str, run_id: str) -> int | None:
    site = _site(division, run_id)
    engine = _engine(site.settings.database_url)
    with session(engine) as db:
        stored = db.get(AuditRun, run_id)
    if stored is None or stored.status != RUNNING:
        return None  # finished already (a second trigger)
    outcome = run.finish_run(_context(division, run_id), _outcomes(engine, run_id))
    with engine.begin() as connection:  # the outcomes held evidence: kept no longer than the run needed them
        connection.execute(text("DELETE FROM auditor_worker_runs WHERE run_id = :run"), {"run": run_id})
    log.info("%s: run %s finished (exit %d), report in %s", site.slug, run_id, outcome.exit_code, outcome.report_folder)
    _site.cache_clear()
    _context.cache_clear()
    return outcome.exit_code


@jobs.periodic(cron="* * * * * */5", periodic_id="stalled")  # every 5 s (6th field: seconds)
@jobs.task(name="auditor.retry_stalled", queue=RUNS_QUEUE, pass_context=True, queueing_lock="stalled")
async def retry_stalled(context: JobContext, timestamp: int) -> None:
    """Jobs of a worker that stopped sending heartbeats go back to the queue for another worker."""
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds()):
        log.warning("job %s (%s) was running on a worker that stopped: retried", job.id, job.task_name)
        await manager.retry_job(job)


def make_app(url: str | None = None, divisions: list[Path] | None = None) -> App:
    """The workers' Procrastinate app; with `divisions`, each one's nightly run as a periodic task
    (the cron expression in its policy's `schedule`)."""
    url = url or queue_url()
    app = App(connector=PsycopgConnector(conninfo=conninfo(url)))
    app.add_tasks_from(jobs, namespace="")
    for folder in divisions or []:
        site = load_site(folder, url)
        app.periodic_registry.register_task(
            task=app.tasks["auditor.start_run"],
            cron=site.division.policy.schedule,
            periodic_id=site.slug,
            configure_kwargs={
                "task_kwargs": {"division": str(site.folder)},
                "queueing_lock": f"run:{site.slug}",
                "lock": f"run:{site.slug}",
            },
        )
    return app


def apply_schema(app: App, url: str) -> None:
    """Procrastinate's tables (`procrastinate schema --apply`) and the request slots, once."""
    import psycopg

    from auditor.workers.pacing import SLOTS_DDL

    with psycopg.connect(conninfo(url), autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(hashtext('auditor-workers-schema'))")
        try:
            exists = connection.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if not exists or exists[0] is None:
                connection.execute(app.schema_manager.get_schema())
            connection.execute(SLOTS_DDL)
        finally:
            connection.execute("SELECT pg_advisory_unlock(hashtext('auditor-workers-schema'))")


def enqueue_run(app: App, site: Site, only: list[str] | None, full: bool) -> int | None:
    """Defer a run of the division now; None when one is already waiting in the queue."""
    try:
        return app.configure_task(
            "auditor.start_run", queueing_lock=f"run:{site.slug}", lock=f"run:{site.slug}", queue=RUNS_QUEUE
        ).defer(division=str(site.folder), only=list(only) if only is not None else None, full=full)  # type: ignore[arg-type]
    except AlreadyEnqueued:
        return None
