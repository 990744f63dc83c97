"""The run's orchestrator: lock, run row, the stages in order, exit code.

    inputs -> collect -> merge -> resolve -> evaluate -> reconcile -> publish -> notify

`execute_run` is the single-process scheduler: `collect.collect(ctx)` runs the per-account job
(`collect.audit_account`: pull, merge, resolve, account rules, snapshot stored) on a thread pool,
then `finish_run(ctx, outcomes)` runs the division's part (discovery and division rules, reconcile,
publish, notify). Distributed workers run the same two functions in other processes.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from auditor import collect, evaluate, reconcile
from auditor import connections as personal_connections
from auditor.context import Connectors, ProgressCallback, RunContext
from auditor.exit_codes import (  # the table lives there; named here too, as before
    EXIT_BAD_INPUT,  # noqa: F401
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    EXIT_LOCKED,  # noqa: F401
    EXIT_NOTIFY_FAILED,
)
from auditor.faults import EnvironmentFault, describe, file_fault
from auditor.inputs import Division
from auditor.locking import RunLocked, run_lock
from auditor.notify import notify
from auditor.report.publish import Published, point_latest, write_run_reports
from auditor.settings import Settings
from auditor.store import (
    CRASHED,
    PUBLISH_FAILED,
    PUBLISHING,
    RUNNING,
    end_run,
    mark_crashed_runs,
    replace_inputs,
)
from connectors.registry import ConnectorRegistry
from connectors.scrub import scrub
from models.db import init_db, make_engine, session
from models.migrate import SchemaBusy
from models.tables import AuditRun

__all__ = [
    "ProgressCallback",
    "RunLocked",
    "RunOutcome",
    "execute_run",
    "finish_run",
    "new_run_id",
    "open_run",
    "run_lock",
]

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
    crashed_rules: list[str] = field(default_factory=list)  # division rules that crashed: the run is incomplete


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


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
    connectors: Connectors | None = None,
) -> RunOutcome:
    """Audit the division's active accounts (or `only` these keys) and write the reports."""
    engine = engine or make_engine(settings.database_url)
    try:
        init_db(engine)
    except SchemaBusy as exc:  # another host's run: this one would have waited its turn anyway
        raise RunLocked(exc.holder) from None
    with run_lock(settings.lock_file, engine):
        started = datetime.now(UTC)
        ctx = RunContext.start(
            division,
            settings,
            engine,
            connectors if connectors is not None else ConnectorRegistry.installed(),
            as_of or started,
            run_id=new_run_id(started),
            kind=kind,
            full=full,
            only=only,
            progress=progress,
        )
        open_run(ctx, started)
        try:
            # No name holds the outcomes here: finish_run lets them go before it builds the report.
            return finish_run(ctx, collect.collect(ctx))
        except BaseException:
            _abandon(engine, ctx.run_id)
            raise


def open_run(ctx: RunContext, started: datetime) -> None:
    """The run row (`running`), after marking runs that died without finishing, with this run's inputs.
    Whoever schedules the accounts' jobs opens it first (finish_run reads it); the caller holds the lock."""
    division = ctx.division
    run = AuditRun(
        id=ctx.run_id,
        started_at=started,
        as_of=ctx.as_of,
        kind=ctx.kind,
        accounts=[a.key for a in ctx.accounts],
        policy_digest=division.policy.digest(),
        division=division.policy.division,
        fail_threshold=division.policy.fail_threshold.value,
    )
    with session(ctx.engine) as db:
        crashed = mark_crashed_runs(db, started)
        if crashed:
            log.warning("earlier run(s) %s died without finishing: marked crashed", ", ".join(crashed))
        replace_inputs(db, division)
        db.add(run)
        db.commit()


def finish_run(ctx: RunContext, outcomes: dict[str, collect.AccountOutcome]) -> RunOutcome:
    """The run's finishing job, once every account's outcome is in: discovery and division rules (a
    division-wide run), owners, reconcile and store, then publish and notify."""
    results = [item for outcome in outcomes.values() for item in outcome.results]
    incomplete = {key for key, outcome in outcomes.items() if outcome.incomplete}
    crashed_rules: list[str] = []
    if ctx.division_wide:  # `check KEY` audits one account: division rules need them all
        candidates, discovered = collect.discover(ctx, outcomes)
        connections = personal_connections.collect(ctx, outcomes)  # opt-in
        division = evaluate.evaluate_division(ctx, candidates, discovered, connections)
        results += division.results
        crashed_rules = division.crashed_rules
        del candidates, discovered, connections, division
    evaluate.name_owners(ctx, results)
    spend = collect.spend(outcomes, ctx.policy.prices)
    with session(ctx.engine) as db:
        stored = db.get(AuditRun, ctx.run_id)
        assert stored is not None
        started = stored.started_at if stored.started_at.tzinfo else stored.started_at.replace(tzinfo=UTC)
        tally = reconcile.reconcile_run(db, ctx, started, results, incomplete, crashed_rules)
        unfinished = bool(incomplete or crashed_rules)
        exit_code = EXIT_INCOMPLETE if unfinished else EXIT_FINDINGS if tally.breach else EXIT_CLEAN
        stored.finished_at = datetime.now(UTC)
        stored.status = PUBLISHING  # `complete` (or `incomplete`) once its reports are out
        stored.exit_code = exit_code
        stored.spend = spend
        db.add(stored)
        db.commit()
    # Bounded memory: the report is built again from the store; what the run evaluated is let go
    # first, so a division's findings are never in memory twice (as rule results and as a report).
    del results, outcomes

    published = _publish(ctx, "incomplete" if unfinished else "complete")
    sent = notify(ctx, published)
    failed_sinks = [o for o in sent if o.failed]
    if failed_sinks and exit_code in (EXIT_CLEAN, EXIT_FINDINGS):
        # The report is written whatever happens to a sink; cron still hears that nobody was told.
        exit_code = EXIT_NOTIFY_FAILED
    return RunOutcome(
        run_id=ctx.run_id,
        exit_code=exit_code,
        report_folder=published.folder,
        findings_by_status=tally.by_status,
        findings_by_severity=tally.by_severity,
        incomplete_accounts=sorted(incomplete),
        requests=spend["requests"],
        spend=spend,
        failed_notifications=[f"{o.kind} ({o.target}): {o.detail}" for o in failed_sinks],
        crashed_rules=crashed_rules,
    )


def _publish(ctx: RunContext, status: str) -> Published:
    """The reports, then the run row says `status`, then `latest` moves: `latest` only ever shows a
    run recorded as ended. Any failure leaves the row `publish-failed` and `latest` where it was."""
    engine, run_id, settings = ctx.engine, ctx.run_id, ctx.settings
    root = settings.report_dir
    try:
        published = write_run_reports(engine, run_id, root, status)
        _set_status(engine, run_id, status)
        if published.nightly:
            point_latest(root, published.folder)
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
    log.info("report written to %s", published.folder)
    return published


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
