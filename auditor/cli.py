"""The `auditor` command line. Exit codes: 0 clean, 1 findings at or above the fail threshold,
2 bad input or usage, 3 audit incomplete, 4 a notification could not be sent (the report was
written), 70 the auditor crashed (a bug: the traceback is on stderr), 74 an environment fault
(disk full, database unusable or unreachable, permission denied: one line says which path or
URL, and what to do), 75 another run holds the lock."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from auditor import cli_ops
from auditor.cli_db import db_app
from auditor.cli_onboarding import register_onboarding
from auditor.cli_ops import division_or_exit, register_ops, settings_or_exit
from auditor.cli_waivers import policy_or_exit, register_waivers
from auditor.cli_workers import register_workers
from auditor.exit_codes import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_LOCKED, EXIT_SOFTWARE
from auditor.logs import attach_log_file, make_console, private_by_default

# The run machinery, the platform SDKs and the report stack are imported by the commands that use
# them: `auditor --help` and `auditor rules` start in a fraction of a second (#21).
if TYPE_CHECKING:
    from auditor.inputs import Division
    from auditor.run import RunOutcome

# Completion is offered and installs (`auditor --install-completion [bash|zsh|fish|pwsh]`).
app = typer.Typer(no_args_is_help=True, help="Audit school social media accounts against AP 80-06.")
console = make_console()
err = make_console(stderr=True)
# The ops commands print through the same consoles: one setting for wrapping, one for --quiet.
cli_ops.console, cli_ops.err = console, err
log = logging.getLogger("auditor")


@dataclass
class Output:
    """Global output options: --quiet prints only the summary line and errors (cron)."""

    quiet: bool = False


output = Output()

DivisionOption = Annotated[
    Path,
    typer.Option(
        "--division",
        "-d",
        envvar="AUDITOR_DIVISION",
        help="Division folder: registry/, directory/, activities.yaml, policy.yaml.",
    ),
]
AsOfOption = Annotated[
    datetime | None,
    typer.Option("--as-of", help="Audit as of this moment (UTC) instead of now: back-testing and demos.", hidden=True),
]
DEMO_AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)


def _setup_logging(verbose: bool, quiet: bool = False) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(level)  # basicConfig sets it only the first time in a process
    # alembic.runtime.plugins speaks when alembic is first imported, which is now after this setup
    # (each connector's SDK loggers are quieted by the connector registry when it loads them)
    for noisy in ("urllib3", "vcr", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from connectors.scrub import install_log_scrubbing

    install_log_scrubbing()
    private_by_default()  # reports, database and logs hold minors' data
    attach_log_file(settings_or_exit().log_dir, level)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"auditor {metadata.version('school-social-auditor')}")  # whatever --quiet said before
        raise typer.Exit(0)


@app.callback()
def main_callback(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging (secrets are scrubbed).")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only the summary line and errors (for cron); no progress.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_version, help="Print the version and exit.")
    ] = False,
) -> None:
    if verbose and quiet:
        err.print("--quiet and --verbose exclude each other.", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    output.quiet = quiet
    console.quiet = quiet  # errors go to `err`, which stays on; the summary line is printed apart
    _setup_logging(verbose, quiet)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _execute(
    division_dir: Path,
    *,
    only: list[str] | None,
    kind: str,
    full: bool,
    as_of: datetime | None,
    loaded: Division | None = None,
) -> RunOutcome:
    division = loaded or division_or_exit(division_dir)
    if only:
        known = {a.key for a in division.accounts}
        for key in only:
            if key not in known:
                err.print(
                    f"No registered account {key!r} in {division_dir}. Known: {', '.join(sorted(known))}", markup=False
                )
                raise typer.Exit(EXIT_BAD_INPUT)
    from auditor.context import due_accounts
    from auditor.run import RunLocked, execute_run
    from auditor.settings import Settings

    settings = Settings()
    total = len(due_accounts(division, only))
    try:
        with _progress_bar("Auditing accounts", total) as advance:
            return execute_run(division, settings, only=only, kind=kind, full=full, as_of=_utc(as_of), progress=advance)
    except RunLocked as exc:
        err.print(f"Another audit run is in progress ({exc.holder}); exiting.", markup=False)
        raise typer.Exit(EXIT_LOCKED) from None


@contextmanager
def _progress_bar(description: str, total: int | None) -> Iterator[Callable[[str, str], None]]:
    """A rich progress bar on a terminal (accounts done / due, elapsed time); one plain log line per
    account otherwise (cron, CI), which --quiet silences. `total=None`: a spinner, nothing to count."""
    if output.quiet or not err.is_terminal:

        def log_line(account: str, state: str) -> None:
            log.info("audited %s: %s", account, state)

        yield log_line
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn(), TextColumn("accounts")]
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=False) as bar:
        task = bar.add_task(description, total=total)

        def advance(account: str, state: str) -> None:
            if state != "complete":
                bar.console.print(f"  [yellow]{state:>10}[/] {account}")
            bar.update(task, advance=1, description=f"{description} (last: {account})")

        yield advance


def _summarise(outcome: RunOutcome) -> None:
    table = Table(title=f"Audit run {outcome.run_id}", show_header=True)
    table.add_column("severity")
    table.add_column("open findings", justify="right")
    for severity, count in sorted(outcome.findings_by_severity.items(), key=lambda kv: kv[0]):
        table.add_row(severity, str(count))
    console.print(table)
    statuses = ", ".join(f"{k}: {v}" for k, v in outcome.findings_by_status.items()) or "none"
    console.print(f"Findings by status: {statuses}", markup=False)
    if outcome.incomplete_accounts:
        console.print(f"Not fully audited: {', '.join(outcome.incomplete_accounts)}", markup=False)
    if outcome.crashed_rules:
        rules = ", ".join(outcome.crashed_rules)
        console.print(f"Division rule(s) crashed, their findings unknown (see the log): {rules}", markup=False)
    if outcome.requests:
        console.print(f"API spend: {_spend_line(outcome.spend or {'requests': outcome.requests})}", markup=False)
    for failure in outcome.failed_notifications:
        console.print(f"Notification failed: {failure}", markup=False)
    if outcome.report_folder:
        console.print(f"Report: {outcome.report_folder / 'report.json'}", markup=False)
        if (outcome.report_folder / "report.html").exists():
            console.print(f"HTML report: {outcome.report_folder / 'report.html'}", markup=False)
    console.print(f"Exit code: {outcome.exit_code}", markup=False)
    if output.quiet:
        _print_always(summary_line(outcome))


def summary_line(outcome: RunOutcome) -> str:
    """The run in one line, for cron's mail: open findings by severity, what was not audited, where
    the report is, the exit code."""
    from models.tables import Severity

    ranked = sorted(outcome.findings_by_severity.items(), key=lambda kv: -Severity(kv[0]).rank)
    severities = ", ".join(f"{severity} {count}" for severity, count in ranked)
    total = sum(outcome.findings_by_severity.values())
    parts = [f"Audit run {outcome.run_id}: {total} open finding(s)" + (f" ({severities})" if severities else "")]
    if outcome.incomplete_accounts:
        parts.append(f"not fully audited: {', '.join(outcome.incomplete_accounts)}")
    if outcome.failed_notifications:
        parts.append(f"{len(outcome.failed_notifications)} notification(s) failed")
    if outcome.report_folder:
        parts.append(f"report: {outcome.report_folder / 'report.json'}")
    parts.append(f"exit code {outcome.exit_code}")
    return "; ".join(parts)


def _print_always(line: str) -> None:
    """Printed even with --quiet (the one line cron mails)."""
    quiet, console.quiet = console.quiet, False
    try:
        console.print(line, markup=False, highlight=False)
    finally:
        console.quiet = quiet


def _spend_line(spend: dict) -> str:  # type: ignore[type-arg]
    """`<platform>: 12 requests, 30 units, $0.45; ...` and the total cost."""
    requests: dict[str, dict[str, int]] = spend.get("requests") or {}
    units: dict[str, int] = spend.get("units") or {}
    costs: dict[str, float] = spend.get("estimated_cost_by_platform") or {}
    parts = []
    for platform in sorted(set(requests) | set(units) | set(costs)):
        words = [f"{sum(requests.get(platform, {}).values())} requests"]
        if units.get(platform):
            words.append(f"{units[platform]} units")
        if platform in costs:
            words.append(f"${costs[platform]:,.2f}")
        parts.append(f"{platform}: {', '.join(words)}")
    line = "; ".join(parts)
    if "estimated_cost" in spend:
        line += f"; total estimated cost ${spend['estimated_cost']:,.2f} at the policy's prices"
    return line


def _dry_run(division_dir: Path, full: bool, as_of: datetime | None) -> None:
    """Predict the run's spend per platform from the store; no platform is called, nothing is written."""
    from auditor import collect
    from auditor.context import RunContext
    from auditor.settings import Settings
    from connectors.registry import ConnectorRegistry
    from models.db import open_store_to_read

    division_inputs = division_or_exit(division_dir)
    settings = Settings()
    engine = open_store_to_read(settings)  # no migration, no lock, no file made
    clock = _utc(as_of) or datetime.now(UTC)
    connectors = ConnectorRegistry.installed()
    ctx = RunContext.start(division_inputs, settings, engine, connectors, clock, kind="dry-run", full=full)
    with _progress_bar("Estimating the run (nothing is called)", None):
        estimate = collect.estimate(ctx)  # the collect stage's own prediction, as `auditor run` would collect
    table = Table(title=f"Predicted spend of a {'full' if full else 'nightly'} run (dry run)", show_header=True)
    for column in ("platform", "requests", "units", "billed items", "estimated cost"):
        table.add_column(column, justify="left" if column == "platform" else "right")
    for platform, predicted in sorted(estimate.by_platform.items()):
        if not (predicted.requests or predicted.units or predicted.billable):
            continue
        items = ", ".join(f"{count} {item}" for item, count in sorted(predicted.billable.items()))
        table.add_row(
            platform,
            str(sum(predicted.requests.values())),
            str(predicted.units),
            items,
            f"${estimate.cost.get(platform, 0.0):,.2f}",
        )
    console.print(table)
    console.print(f"Estimated cost: ${estimate.total_cost:,.2f} (policy prices; nothing was called or written)")
    for platform, found in sorted(estimate.personal.items()):
        console.print(
            f"{platform}: includes at most {sum(found.requests.values())} request(s) for {found.basis}", markup=False
        )
    for platform, found in sorted(estimate.discovery.items()):
        console.print(
            f"{platform}: includes at most {sum(found.requests.values())} request(s), {found.units} unit(s) for "
            f"{found.basis}",
            markup=False,
        )
    deadline = division_inputs.policy.run_deadline_seconds
    for platform, (seconds, endpoint) in sorted(estimate.duration.items()):
        platform_estimate = estimate.by_platform.get(platform)
        if platform_estimate is None or not sum(platform_estimate.requests.values()):
            continue
        if endpoint is None:
            limits = "no wait: its requests fit in the first window of its rate limits"
            if not connectors[platform].rate_limits:
                limits = "no wait: no rate limit applies"
            console.print(f"{platform}: least time under the rate limits 0 min ({limits})", markup=False)
            continue
        allowed, window = connectors[platform].rate_limits[endpoint]
        warning = " - longer than the policy's run_deadline_seconds" if seconds > deadline else ""
        console.print(
            f"{platform}: least time under the rate limits {_duration(seconds)} for {endpoint} ({allowed} requests "
            f"per {window // 60} minutes){warning}",
            markup=False,
        )
    if estimate.unpriced:
        console.print(f"No price in the policy for: {', '.join(estimate.unpriced)}", markup=False)


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{round(seconds / 60)} min"


@app.command()
def run(
    division: DivisionOption = Path("division"),
    full: Annotated[bool, typer.Option("--full", help="Full reconciliation: list every participant again.")] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Predict requests, quota units and cost per platform; call nothing."),
    ] = False,
    as_of: AsOfOption = None,
) -> None:
    """Audit every active registered account (the nightly job)."""
    if dry_run:
        _dry_run(division, full, as_of)
        raise typer.Exit(0)
    outcome = _execute(division, only=None, kind="run", full=full, as_of=as_of)
    _summarise(outcome)
    raise typer.Exit(outcome.exit_code)


@app.command()
def check(
    key: Annotated[str | None, typer.Argument(help="Registry key of the account to audit now.")] = None,
    division: DivisionOption = Path("division"),
    as_of: AsOfOption = None,
    person: Annotated[
        str | None,
        typer.Option("--person", help="Audit every account of this person (directory id or declared handle)."),
    ] = None,
    departed: Annotated[
        str | None,
        typer.Option("--departed", help="With --person: evaluate as if they left on YYYY-MM-DD (files unchanged)."),
    ] = None,
) -> None:
    """Audit one account now, or with --person everyone's accounts of a person (the day a teacher leaves)."""
    if person is not None:
        from auditor.cli_person import check_person

        check_person(division, person, departed, _utc(as_of), execute=_execute, summarise=_summarise)
    if key is None or departed is not None:
        err.print("Give an account key, or --person ID (--departed needs --person).", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    outcome = _execute(division, only=[key], kind="check", full=False, as_of=as_of)
    _summarise(outcome)
    raise typer.Exit(outcome.exit_code)


@app.command()
def rules(
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts instead of a table.")] = False,
    division: Annotated[
        Path | None,
        typer.Option(
            "--division",
            "-d",
            envvar="AUDITOR_DIVISION",
            help="Apply this division's policy: its severity overrides and disabled rules.",
        ),
    ] = None,
) -> None:
    """List every rule: id, AP 80-06 section, severity, title (with --division, as its policy sets them)."""
    from auditor.rules.base import rule_entries

    entries = rule_entries(division_or_exit(division).policy if division is not None else None)
    if as_json:
        console.print_json(json.dumps(entries))  # no wrapping: one valid JSON document
        return
    table = Table(show_header=True)
    for column in ("id", "section", "severity", "enabled", "title"):
        table.add_column(column)
    for entry in entries:
        severity = entry["severity"]
        if severity != entry["default_severity"]:
            severity = f"{severity} (default {entry['default_severity']})"
        table.add_row(
            entry["id"], entry["section"], severity, "yes" if entry["enabled"] else "disabled", entry["title"]
        )
    console.print(table)


@app.command()
def report(
    run_id: Annotated[str | None, typer.Argument(help="Run id (default: the latest run).")] = None,
    school: Annotated[
        str | None, typer.Option("--school", help="Only this school's findings (for its principal).")
    ] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="Only findings of this severity or above.")] = None,
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Only this rule (repeatable; globs).")] = None,
    account: Annotated[
        list[str] | None, typer.Option("--account", help="Only this account (repeatable; globs).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write here, not in the run's folder.")] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="all: report.json, .csv, .html, summary.md; ocsf: report.ocsf.json (OCSF Detection Findings).",
        ),
    ] = "all",
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only the findings this person (directory id, or `its`) must act on.")
    ] = None,
) -> None:
    """Re-render a run's reports from the store (no API calls)."""
    if output_format not in ("all", "ocsf"):
        err.print(f"--format must be all or ocsf, got {output_format!r}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    from auditor.report.publish import publish_run
    from auditor.settings import Settings
    from auditor.store import latest_run
    from models.db import open_store, session

    settings = Settings()
    engine = open_store(settings)
    with session(engine) as db:
        if run_id is None:
            latest = latest_run(db)
            if latest is None:
                err.print("No audit run in the store yet: run `auditor run` first.")
                raise typer.Exit(EXIT_BAD_INPUT)
            run_id = latest.id
    from auditor.report.filters import BadFilter, parse_filters
    from auditor.report.owner import UnknownOwner
    from auditor.report.school import UnknownSchool
    from auditor.rules.base import load_rules

    try:
        filters = parse_filters(severity, rule or [], account or [], set(load_rules()))
        if output_format == "ocsf":
            _write_ocsf(engine, run_id, settings.report_dir, school, filters, out)
            return
        folder = publish_run(engine, run_id, settings.report_dir, school=school, filters=filters, out=out, owner=owner)
    except BadFilter as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyError:
        err.print(f"No run {run_id!r} in the store.", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (UnknownSchool, UnknownOwner) as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    console.print(f"Report: {folder / 'report.json'}", markup=False)


def _write_ocsf(
    engine: Any, run_id: str, report_root: Path, school: str | None, filters: Any = None, out: Path | None = None
) -> None:
    """report.ocsf.json beside the run's report.json (or in `out`), mapped from the same report data."""
    from auditor.report.files import atomic_write
    from auditor.report.filters import filter_report
    from auditor.report.ocsf import OCSF_FILE, render_ocsf
    from auditor.report.publish import report_folder, report_for_run

    report = report_for_run(engine, run_id, school)
    if filters:
        report = filter_report(report, filters)
    path = (out or report_folder(report_root, report, school)) / OCSF_FILE
    atomic_write(path, render_ocsf(report))
    console.print(f"OCSF findings: {path} ({len(report['findings'])} finding(s))", markup=False)


@app.command()
def waive(
    fingerprint: Annotated[str, typer.Argument(help="The finding's fingerprint (see report.csv / report.json).")],
    reason: Annotated[str, typer.Option("--reason", help="Why this finding is accepted.")],
    approver: Annotated[str, typer.Option("--approver", help="Who approved the waiver.")],
    expires: Annotated[
        str, typer.Option("--expires", help="Expiry date, YYYY-MM-DD (required: no waiver is forever).")
    ],
    division: DivisionOption = Path("division"),
) -> None:
    """Waive a finding with a reason, an approver and an expiry date."""
    from sqlmodel import select

    from auditor.reconcile import expiry_problem
    from auditor.settings import Settings
    from auditor.store import add_waiver
    from models.db import open_store, session
    from models.tables import Finding

    try:
        expires_on = date.fromisoformat(expires)
    except ValueError:
        err.print(f"--expires must be a date YYYY-MM-DD, got {expires!r}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if not reason.strip() or not approver.strip():
        err.print("--reason and --approver must not be empty")
        raise typer.Exit(EXIT_BAD_INPUT)
    refused = expiry_problem(expires_on, policy_or_exit(division), datetime.now(UTC).date())
    if refused:  # no later than the policy's max_waiver_days
        err.print(refused, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    settings = Settings()
    engine = open_store(settings)
    with session(engine) as db:
        known = db.exec(select(Finding).where(Finding.fingerprint == fingerprint).limit(1)).first()
        if known is None:
            err.print(f"No finding with fingerprint {fingerprint!r}.", markup=False)
            raise typer.Exit(EXIT_BAD_INPUT)
        add_waiver(db, fingerprint, reason.strip(), approver.strip(), expires_on, datetime.now(UTC))
        db.commit()
    console.print(f"Waived {known.rule_id} on {known.account_key} ({known.subject}) until {expires_on}.", markup=False)


def demo_division_dir() -> Path:
    return Path(str(resources.files("auditor") / "demo"))


def demo_credentials() -> dict[str, str]:
    """What `auditor demo` sets in the environment (unless set already): placeholders the replay needs."""
    import yaml

    data = yaml.safe_load((demo_division_dir() / "credentials.yaml").read_text(encoding="utf-8")) or {}
    return {str(name): str(value) for name, value in data.items()}


def demo_cassette_dir() -> Path:
    return Path(str(resources.files("cassettes") / "demo"))


# The demo audits two nights, so a newcomer sees change tracking (new / resolved), the report's
# headline. Night 2's recordings (cassettes/demo/night-2/) overlay night 1's: only what changed on the
# platforms, or what a request dated by the run's clock asks differently, is recorded again.
DEMO_NIGHTS: tuple[tuple[datetime, str | None], ...] = ((DEMO_AS_OF, None), (DEMO_AS_OF + timedelta(days=1), "night-2"))


def _demo_night_cassettes(output: Path, overlay: str | None) -> Path:
    if overlay is None:
        return demo_cassette_dir()
    folder = output / "cassettes" / overlay
    folder.mkdir(parents=True)
    for source in (demo_cassette_dir(), demo_cassette_dir() / overlay):
        for cassette in source.glob("*.yaml"):
            shutil.copy(cassette, folder / cassette.name)
    return folder


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", help="Where the demo's database and reports go.")] = Path(
        "demo-output"
    ),
) -> None:
    """Audit the bundled demo division from recorded traffic, two nights running (no credentials, no network)."""
    if output.exists():
        shutil.rmtree(output)  # a fresh store each time: the demo report is always the same
    output.mkdir(parents=True, mode=0o700)
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite:///{output / 'auditor.db'}",
            "AUDITOR_REPORT_DIR": str(output / "reports"),
            "AUDITOR_LOCK_FILE": str(output / "auditor.lock"),
        }
    )
    # Fictional people, a throwaway store: its key stays with it rather than in the user's ~/.config.
    os.environ.setdefault("AUDITOR_HMAC_KEY_FILE", str(output / "demo-hmac.key"))
    # The demo's placeholder credentials are demo data (auditor/demo/credentials.yaml), never valid anywhere.
    for variable, value in demo_credentials().items():
        os.environ.setdefault(variable, value)
    for night, (as_of, overlay) in enumerate(DEMO_NIGHTS, start=1):
        os.environ["AUDITOR_CASSETTE_DIR"] = str(_demo_night_cassettes(output, overlay))
        console.print(
            f"Night {night}: auditing the demo division ({demo_division_dir()}) as of {as_of:%Y-%m-%d}", markup=False
        )
        # Both nights list everything (a full reconciliation), so who left an account is seen the next night.
        outcome = _execute(demo_division_dir(), only=None, kind="run", full=True, as_of=as_of)
        if outcome.exit_code not in (0, 1):
            break  # a night that went wrong is reported as it is, with its own exit code
        if night < len(DEMO_NIGHTS) and outcome.report_folder:
            console.print(f"Night {night} report: {outcome.report_folder / 'report.html'}", markup=False)
    _summarise(outcome)
    raise typer.Exit(outcome.exit_code)


register_ops(app)  # record, doctor, purge (auditor/cli_ops.py)
register_waivers(app)  # waivers, unwaive (auditor/cli_waivers.py)
app.add_typer(db_app, name="db")  # db upgrade, db current (auditor/cli_db.py)
register_onboarding(app)  # init, validate, registry import (auditor/cli_onboarding.py)
register_workers(app)  # worker, enqueue (auditor/cli_workers.py)


def main() -> None:
    try:
        app()
    except Exception as exc:
        from auditor.faults import describe  # the database layer: only once something went wrong
        from connectors.scrub import scrub

        line = describe(exc, _database_url())
        if line is None:  # the auditor's own bug: the traceback is what a developer needs, and cron
            # must not read the crash as 1 (findings)
            sys.stderr.write(scrub("".join(traceback.format_exception(exc))))
            sys.exit(EXIT_SOFTWARE)
        if logging.getLogger().handlers:
            log.error("%s", line)  # stderr and the log file, scrubbed
        else:
            print(line, file=sys.stderr)
        sys.exit(EXIT_ENVIRONMENT)


def _database_url() -> str:
    from auditor.settings import Settings

    try:
        return Settings().database_url
    except Exception:
        return os.environ.get("DATABASE_URL", "")


if __name__ == "__main__":
    main()
