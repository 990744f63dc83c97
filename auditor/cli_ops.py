"""Operations commands: `auditor record`, `auditor doctor`, `auditor purge`.

Kept apart from auditor/cli.py (the audit commands); `register_ops(app)` adds them to the app.
Exit codes: record and purge use the audit's (0 done, 2 bad input or refused, 75 a run holds the
lock); doctor exits 0 when everything is healthy, 1 with warnings only, 2 when a check failed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from auditor.exit_codes import EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_LOCKED
from auditor.logs import make_console

# Imported by the commands that use them, so that `auditor --help` starts fast.
if TYPE_CHECKING:
    from pydantic import ValidationError

    from auditor.inputs import Division
    from auditor.retention import Cutoffs
    from auditor.settings import Settings
    from connectors.registry import ConnectorRegistry

console = make_console()
err = make_console(stderr=True)

DOCTOR_OK, DOCTOR_WARNINGS, DOCTOR_FAILED = 0, 1, 2

DivisionOption = Annotated[
    Path,
    typer.Option("--division", "-d", envvar="AUDITOR_DIVISION", help="Division folder (registry, directory, policy)."),
]


def settings_or_exit() -> Settings:
    """Settings from the environment and .env, or a clear error (exit 2) naming the variables.

    Never the values: a value in the wrong variable may be a secret.
    """
    from pydantic import ValidationError

    from auditor.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        _one_line(f"Settings error (environment or .env): {_settings_problems(exc)}; nothing was done.")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _settings_problems(exc: ValidationError) -> str:
    """Each variable and what is wrong with it, on one line (never the value: it may be a secret)."""
    return "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in exc.errors())


def installed_connectors() -> ConnectorRegistry:
    """The installed connectors, loaded (with their SDKs) only by a command that needs them."""
    from connectors.registry import ConnectorRegistry

    return ConnectorRegistry.installed()


def register_ops(app: typer.Typer) -> None:
    app.command()(record)
    app.command()(doctor)
    app.command()(purge)


def division_or_exit(folder: Path) -> Division:
    """The validated division, or every input problem on stderr and exit code 2 (nothing written)."""
    from auditor.inputs import InputError, load_division

    try:
        return load_division(folder)
    except InputError as exc:
        # Plain lines, never wrapped to a terminal width: cron logs and grep need one problem per line.
        typer.echo(f"Input error ({len(exc.problems)} problem(s); nothing was written):", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


# --- record -------------------------------------------------------------------------------------


def record(
    key: Annotated[str, typer.Argument(help="Registry key of the account to record.")],
    division: DivisionOption = Path("division"),
    output: Annotated[
        Path | None, typer.Option("--output", help="Cassette folder (default: cassettes/<platform>).")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="vcrpy record mode: once (a fresh set) or new_episodes.")
    ] = "once",
    pseudonymise: Annotated[
        bool,
        typer.Option("--pseudonymise", help="Replace names and ids of people outside the directory (HMAC)."),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing cassette.")] = False,
) -> None:
    """Record a fresh cassette set for one account with the real credentials, scrubbed as it is written.

    Whatever goes wrong ends with one line on stderr and a non-zero code, never a traceback, and
    never leaves a cassette that was not scanned for secrets.
    """
    from pydantic import ValidationError

    try:
        _record(key, division, output, mode, pseudonymise, force)
    except typer.Exit:
        raise
    except ValidationError as exc:
        _one_line(f"Record failed: settings error (environment or .env): {_settings_problems(exc)}; nothing was kept.")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except Exception as exc:  # a crash of the connector, the disk, YAML: one clear line, no traceback
        _one_line(f"Record failed: {type(exc).__name__}: {exc}; nothing was kept.")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _one_line(message: str) -> None:
    """One line on stderr, scrubbed and bounded (an exception's text may quote a server)."""
    from connectors.scrub import scrub

    text = " ".join(scrub(message).split())
    err.print(text if len(text) <= 400 else text[:399] + "…", markup=False, highlight=False, soft_wrap=True)


def _record(key: str, division: Path, output: Path | None, mode: str, pseudonymise: bool, force: bool) -> None:
    from auditor.privacy import hmac_key
    from auditor.recording import RecordingRefused, record_account
    from auditor.settings import Settings

    if mode not in ("once", "new_episodes"):
        err.print("--mode must be once or new_episodes", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    loaded = division_or_exit(division)
    account = next((a for a in loaded.accounts if a.key == key), None)
    if account is None:
        err.print(f"No registered account {key!r}.", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    connectors = installed_connectors()
    cls = connectors.get(account.connector)
    if cls is None or not cls.records_traffic:
        err.print(f"{key} is audited by the {account.connector!r} connector: there is no traffic to record.")
        raise typer.Exit(EXIT_BAD_INPUT)
    folder = output or Path("cassettes") / cls.name
    cassette = folder / f"{key}.yaml"
    if cassette.exists() and not force:
        err.print(f"{cassette} exists; use --force to record it again.", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    settings = Settings()
    key_for_pseudonyms = hmac_key(settings) if pseudonymise else None
    try:
        recorded = record_account(cls, connectors, loaded, account, cassette, mode, key_for_pseudonyms)
    except RecordingRefused as refused:
        _one_line(f"Refused: {refused}; nothing was kept.")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    snapshot, failed, replaced = recorded.snapshot, recorded.failed, recorded.replaced
    states = ", ".join(f"{name}: {status.state.value}" for name, status in sorted(snapshot.collections.items()))
    if failed:
        # Kept: a recorded platform failure can be a wanted test scenario; cron still hears it.
        name, status = next(iter(failed.items()))
        why = ": ".join(str(part) for part in (status.error, status.reason) if part) or "no reason given"
        _one_line(f"Recorded {cassette}, but incomplete ({states}); {name} failed: {why}.")
        raise typer.Exit(EXIT_INCOMPLETE)
    console.print(f"Recorded {cassette} ({sum(snapshot.requests.values())} requests; {states}).", markup=False)
    if pseudonymise:
        console.print(f"Pseudonymised {replaced} value(s) of people outside the directory.", markup=False)


# --- doctor -------------------------------------------------------------------------------------


def doctor(division: DivisionOption = Path("division")) -> None:
    """Check credentials (validity, expiry, scopes), the database and the folders before a nightly run."""
    from auditor.doctor import all_checks
    from auditor.settings import Settings
    from connectors.base import CredentialState
    from connectors.scrub import scrub

    checks = all_checks(division, Settings())
    table = Table(show_header=True)
    for column in ("area", "what", "state", "detail"):
        table.add_column(column)
    for check in checks:
        table.add_row(check.area, check.name, check.state.value, scrub(check.detail))
    console.print(table)
    states = {c.state for c in checks}
    if CredentialState.FAILED in states or CredentialState.MISSING in states:
        raise typer.Exit(DOCTOR_FAILED)
    raise typer.Exit(DOCTOR_WARNINGS if CredentialState.WARNING in states else DOCTOR_OK)


# --- purge --------------------------------------------------------------------------------------


def purge(
    division: DivisionOption = Path("division"),
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, help="Keep this many days of snapshots (default: snapshot_retention_days)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would go; change nothing.")] = False,
) -> None:
    """Apply the policy's retention: old snapshots, resolved findings' evidence, report folders, logs."""
    from auditor.locking import RunLocked, run_lock
    from auditor.retention import Cutoffs, apply_purge, plan_purge
    from auditor.settings import Settings
    from models.db import open_store, session

    policy = division_or_exit(division).policy
    settings = Settings()
    now = datetime.now(UTC)
    cutoffs = Cutoffs.from_policy(policy, now, days)
    if dry_run:
        _print_purge_plan(settings, cutoffs)
        return
    engine = open_store(settings)
    try:
        with run_lock(settings.lock_file, engine), session(engine) as db:
            plan = plan_purge(db, cutoffs, settings.report_dir, settings.log_dir)
            result = apply_purge(db, plan, now)
            db.commit()
    except RunLocked as exc:
        err.print(f"An audit run is in progress ({exc.holder}); purge later.", markup=False)
        raise typer.Exit(EXIT_LOCKED) from None
    console.print(
        f"Purged {result.snapshots} snapshot(s) and {result.participants} participant row(s) taken before "
        f"{cutoffs.snapshots:%Y-%m-%d}; the evidence of {result.evidence_rows} resolved finding row(s) "
        f"resolved before {cutoffs.evidence:%Y-%m-%d}; {result.report_folders} report folder(s) from before "
        f"{cutoffs.reports:%Y-%m-%d}; {result.log_files} log file(s) from before {cutoffs.logs:%Y-%m-%d}.",
        markup=False,
        soft_wrap=True,  # one line for cron logs, whatever the terminal width
    )


def _print_purge_plan(settings: Settings, cutoffs: Cutoffs) -> None:
    """What `purge` would delete, read without creating or migrating anything."""
    from auditor.retention import plan_purge
    from models.db import missing_sqlite_file, open_store, session

    if missing_sqlite_file(settings.database_url):
        plan = plan_purge(None, cutoffs, settings.report_dir, settings.log_dir)
    else:
        with session(open_store(settings, migrate=False)) as db:
            plan = plan_purge(db, cutoffs, settings.report_dir, settings.log_dir)
    lines = [
        "Would purge (dry run, nothing changed):",
        f"  {plan.snapshots} snapshot(s) taken before {cutoffs.snapshots:%Y-%m-%d} (each account's newest kept)",
        f"  the evidence of {plan.evidence_rows} row(s) of {len(plan.evidence)} finding(s) resolved before "
        f"{cutoffs.evidence:%Y-%m-%d} (fingerprint, rule, account and dates kept)",
        f"  {len(plan.report_folders)} report folder(s) from before {cutoffs.reports:%Y-%m-%d}"
        " (latest and waived findings' reports kept)",
    ]
    lines += [f"    {folder}" for folder in plan.report_folders]
    lines.append(f"  {len(plan.log_files)} log file(s) from before {cutoffs.logs:%Y-%m-%d}")
    lines += [f"    {log}" for log in plan.log_files]
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
