"""`auditor worker` and `auditor enqueue`: runs split into jobs on Procrastinate workers (docs/scaling.md).

`auditor run` stays the single-process path; these commands need PostgreSQL (AUDITOR_QUEUE_URL, or a
postgresql:// DATABASE_URL) and the `workers` extra (procrastinate).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from auditor.exit_codes import EXIT_BAD_INPUT, EXIT_LOCKED

if TYPE_CHECKING:
    from auditor.workers.sites import Site

err = typer.echo


def register_workers(app: typer.Typer) -> None:
    app.command()(worker)
    app.command()(enqueue)


def worker(
    division: Annotated[
        list[Path] | None,
        typer.Option("--division", help="Schedule this division's nightly run (its policy's `schedule`); repeatable."),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Jobs this worker runs at once.")] = 4,
    queue: Annotated[
        list[str] | None, typer.Option("--queue", help="Only these queues (runs, accounts); default both.")
    ] = None,
) -> None:
    """Run a worker: audits accounts and finishes runs, for every division, until stopped (SIGTERM)."""
    from auditor.rules.base import prepare_rules
    from auditor.workers.jobs import apply_schema, install_pacer, make_app, queue_url, stalled_seconds
    from auditor.workers.pacing import PostgresPacer

    url = _queue_url_or_exit(queue_url)
    prepare_rules()
    app = make_app(url, division or [])
    apply_schema(app, url)
    pacer = PostgresPacer(_conninfo(url))
    install_pacer(pacer)
    logging.getLogger("auditor.workers").info("worker started (concurrency %d)", concurrency)
    options = {
        "concurrency": concurrency,
        "queues": queue or None,
        "delete_jobs": "successful",
        "update_heartbeat_interval": max(stalled_seconds() / 4, 0.5),
        "stalled_worker_timeout": stalled_seconds(),
    }
    try:
        asyncio.run(serve(app, options))
    finally:
        install_pacer(None)
        pacer.close()


async def serve(app: Any, options: dict[str, Any], pause: float = 5.0) -> None:
    """Procrastinate's worker until SIGTERM or SIGINT. A worker that lost its database (a restart, a
    failover) stops by itself: it is started again, so a host's worker outlives the database's restarts;
    its jobs in flight meanwhile failed and are retried."""
    from procrastinate.worker import Worker

    log = logging.getLogger("auditor.workers")
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    running: list[Worker] = []

    def stop() -> None:
        stopping.set()
        for worker in running:
            worker.stop()

    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop)
    while not stopping.is_set():
        try:
            async with app.open_async():
                running[:] = [Worker(app, install_signal_handlers=False, **options)]
                await running[0].run()
        except Exception as exc:
            log.warning("worker lost the database (%s): starting again in %.0f s", type(exc).__name__, pause)
        else:
            if not stopping.is_set():
                log.warning("worker stopped by itself (the database went away?): starting again in %.0f s", pause)
        running.clear()
        if not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), pause)


def enqueue(
    division: Annotated[Path, typer.Option("--division", help="The division's folder.")] = Path("division"),
    account: Annotated[str | None, typer.Option("--account", help="Only this account (registry key).")] = None,
    person: Annotated[
        str | None, typer.Option("--person", help="Only this person's accounts (directory id or declared handle).")
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Full reconciliation: list every participant again.")] = False,
) -> None:
    """Queue a run of the division now (the workers do it): the whole division, one account or one person's."""
    from auditor.cli_ops import division_or_exit
    from auditor.workers.jobs import apply_schema, enqueue_run, make_app, queue_url
    from auditor.workers.sites import load_site

    if account and person:
        err("Give --account or --person, not both.", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    loaded = division_or_exit(division)  # bad input is said here, with the file and line, not in a worker
    url = _queue_url_or_exit(queue_url)
    site = load_site(division, url)
    only: list[str] | None = None
    if account is not None:
        if account not in {a.key for a in loaded.accounts}:
            err(f"No registered account {account!r} in {division}.", err=True)
            raise typer.Exit(EXIT_BAD_INPUT)
        only = [account]
    elif person is not None:
        only = _person_accounts(site, person)
    app = make_app(url)
    apply_schema(app, url)
    with app.open():
        job = enqueue_run(app, site, only, full)
    if job is None:
        err(f"A run of {site.division.policy.division} is already queued; not queued twice.", err=True)
        raise typer.Exit(EXIT_LOCKED)
    what = "the whole division" if only is None else f"{len(only)} account(s)"
    typer.echo(f"Queued run job {job} for {site.division.policy.division} ({what}).")


def _person_accounts(site: Site, person: str) -> list[str]:
    from datetime import UTC, datetime

    from auditor.person import accounts_of, find_person

    try:
        found = find_person(site.division.directory(), person)
    except (KeyError, ValueError, LookupError) as exc:
        err(str(exc), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    engine = site.engine()  # observed admins: what the division's own schema last saw
    try:
        keys = [e.account.key for e in accounts_of(site.division, found.person_id, engine, datetime.now(UTC))]
    finally:
        engine.dispose()
    if not keys:
        err(f"{person} holds or administers no registered account.", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    return keys


def _queue_url_or_exit(get: object) -> str:
    assert callable(get)
    try:
        return str(get())
    except RuntimeError as exc:
        err(str(exc), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _conninfo(url: str) -> str:
    from auditor.workers.jobs import conninfo

    return conninfo(url)
