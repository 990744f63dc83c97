"""Operations commands: `auditor record`, `auditor doctor`, `auditor purge`.

Kept apart from auditor/cli.py (the audit commands); `register_ops(app)` adds them to the app.
Exit codes: record and purge use the audit's (0 done, 2 bad input or refused, 75 a run holds the
lock); doctor exits 0 when everything is healthy, 1 with warnings only, 2 when a check failed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from auditor.exit_codes import EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_LOCKED
from auditor.logs import make_console

# Imported by the commands that use them, so that `auditor --help` starts fast.
if TYPE_CHECKING:
    from pydantic import ValidationError

    from auditor.directory import Directory
    from auditor.inputs import Division
    from auditor.retention import Cutoffs
    from auditor.settings import Settings
    from connectors.base import Connector, ConnectorContext, CredentialCheck, CredentialState
    from connectors.registry import ConnectorRegistry
    from models.snapshot import AccountSnapshot, Identity
    from models.tables import RegisteredAccount

console = make_console()
err = make_console(stderr=True)

EXPIRY_WARNING_DAYS = 14
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


def _context(connectors: ConnectorRegistry, name: str, division: Division, full: bool = True) -> ConnectorContext:
    from auditor.plugins import connector_context
    from connectors.resilience import Deadline

    policy = division.policy
    deadline = Deadline(policy.account_deadline_seconds)
    return connector_context(connectors, name, policy, as_of=datetime.now(UTC), deadline=deadline, full=full)


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
    from auditor.settings import Settings
    from connectors.recording import cassette_leaks, make_vcr
    from models.snapshot import CollectionState, ErrorKind

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
    key_for_pseudonyms = hmac_key(settings) if pseudonymise else b""
    if cassette.exists() and mode == "once":
        cassette.unlink()  # `once` would replay the old recording instead of recording
    folder.mkdir(parents=True, exist_ok=True)
    try:
        connector = cls(_context(connectors, cls.name, loaded))
        with make_vcr(folder, record_mode=mode).use_cassette(cassette.name):
            snapshot = connector.pull(account, {})
        replaced = 0
        if pseudonymise and cassette.exists():
            replaced = pseudonymise_cassette(cassette, outsiders(snapshot, account, loaded), key_for_pseudonyms)
        leaks = cassette_leaks(cassette.read_text(encoding="utf-8")) if cassette.exists() else []
    except BaseException:
        cassette.unlink(missing_ok=True)  # never leave a recording that was not scanned
        raise
    if leaks:
        cassette.unlink()
        _one_line(
            f"Refused: the recording held a secret, a piece or an encoding of one ({len(leaks)} place(s): "
            f"{', '.join(leaks[:5])}); nothing was kept."
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    # (in the order the connector collected them: the first failure is the cause of the others)
    collections = snapshot.collections.items()
    failed = {name: status for name, status in collections if status.state == CollectionState.FAILED}
    if any(status.error == ErrorKind.AUTH for status in failed.values()):
        cassette.unlink(missing_ok=True)
        name, status = next((n, s) for n, s in failed.items() if s.error == ErrorKind.AUTH)
        _one_line(
            f"Refused: {name} failed for lack of working credentials ({status.reason or 'auth'}); "
            "check them with `auditor doctor`; nothing was kept."
        )
        raise typer.Exit(EXIT_BAD_INPUT)
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


@dataclass(frozen=True)
class Replacement:
    original: str
    pseudonym: str


def outsiders(snapshot: AccountSnapshot, account: RegisteredAccount, division: Division) -> list[Identity]:
    """Identities in the snapshot that the directory does not know, except the account itself."""
    from auditor.identity import IdentityResolver

    directory: Directory = division.directory()
    matches = IdentityResolver(directory, division.policy.matching).resolve(snapshot.identities())
    own = {v for v in (account.platform_id, (account.handle or "").lstrip("@").lower()) if v}
    if snapshot.profile is not None:
        own |= {v for v in (snapshot.profile.id, (snapshot.profile.handle or "").lower()) if v}
    return [
        m.identity
        for m in matches.values()
        if m.person_id is None and not ({m.identity.id, (m.identity.handle or "").lstrip("@").lower()} & own)
    ]


def pseudonyms(people: list[Identity], key: bytes) -> list[Replacement]:
    """The same person always gets the same pseudonym (HMAC of their identity with the key)."""
    replacements: dict[str, str] = {}
    for person in people:
        digest = hmac.new(key, person.key.encode("utf-8"), hashlib.sha256).hexdigest()
        if person.id and len(person.id) >= 3:
            replacements[person.id] = _same_shape_id(person.id, digest)
        if person.handle and len(person.handle.lstrip("@")) >= 3:
            replacements[person.handle.lstrip("@")] = f"user_{digest[:8]}"
        if person.display_name and len(person.display_name) >= 3:
            replacements[person.display_name] = f"Person {digest[8:14].upper()}"
    return [Replacement(o, p) for o, p in sorted(replacements.items(), key=lambda kv: -len(kv[0]))]


def _same_shape_id(original: str, digest: str) -> str:
    """Numeric ids stay numeric and as long (connectors parse them); others become hex."""
    if original.isdigit():
        number = str(int(digest, 16))[: len(original)]
        return ("9" + number[1:]) if number.startswith("0") else number
    return digest[: max(len(original), 8)]


def pseudonymise_cassette(cassette: Path, people: list[Identity], key: bytes) -> int:
    """Replace every occurrence (request URIs and bodies, response bodies) of the people's ids,
    handles and names by their pseudonyms; returns how many were replaced."""
    import yaml

    data = yaml.safe_load(cassette.read_text(encoding="utf-8")) or {}
    replacements = pseudonyms(people, key)
    if not replacements:
        return 0
    pattern = re.compile("|".join(rf"(?<![\w]){re.escape(r.original)}(?![\w])" for r in replacements))
    lookup = {r.original: r.pseudonym for r in replacements}
    count = 0

    def swap(value: Any) -> Any:
        nonlocal count
        if not isinstance(value, str):
            return value
        new, n = pattern.subn(lambda m: lookup[m.group(0)], value)
        count += n
        return new

    for interaction in data.get("interactions") or []:
        request = interaction.get("request") or {}
        request["uri"] = swap(request.get("uri"))
        request["body"] = swap(request.get("body"))
        body = (interaction.get("response") or {}).get("body") or {}
        body["string"] = swap(body.get("string"))
    cassette.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return count


# --- doctor -------------------------------------------------------------------------------------


@dataclass
class Check:
    area: str
    name: str
    state: CredentialState
    detail: str


def doctor(division: DivisionOption = Path("division")) -> None:
    """Check credentials (validity, expiry, scopes), the database and the folders before a nightly run."""
    from auditor.inputs import InputError, load_division
    from auditor.settings import Settings
    from connectors.base import CredentialState
    from connectors.scrub import scrub

    settings = Settings()
    checks: list[Check] = []
    try:
        loaded: Division | None = load_division(division)
        checks.append(Check("inputs", str(division), CredentialState.OK, "registry, directory and policy load"))
    except InputError as exc:
        loaded = None
        checks.append(
            Check("inputs", str(division), CredentialState.FAILED, f"{len(exc.problems)} problem(s): {exc.problems[0]}")
        )
    checks += database_checks(settings)
    checks += folder_checks(settings)
    checks += key_checks(settings)
    if loaded is not None:
        checks += credential_checks(settings, loaded, datetime.now(UTC))
        checks += export_checks(loaded, datetime.now(UTC))
        checks += its_admin_checks(loaded)
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


def credential_checks(settings: Settings, division: Division, now: datetime) -> list[Check]:
    """Every connector the registry uses checks its credentials; expiry is judged here, once."""
    from connectors.base import CredentialCheck, CredentialState

    connectors = installed_connectors()
    by_connector: dict[str, list[RegisteredAccount]] = {}
    for account in division.accounts:
        reader = connectors.get(account.connector)
        if account.status == "active" and not (reader is not None and reader.reads_export):  # no credentials
            by_connector.setdefault(account.connector, []).append(account)
    checks: list[Check] = []
    for name, accounts in sorted(by_connector.items()):
        cls: type[Connector] | None = connectors.get(name)
        if cls is None:
            checks.append(Check("credentials", name, CredentialState.FAILED, "connector not installed"))
            continue
        try:
            results = cls(_context(connectors, name, division)).check_credentials(accounts)
        except Exception as exc:  # a check must never stop the others
            results = [
                CredentialCheck(name, "-", CredentialState.FAILED, f"check crashed: {type(exc).__name__}: {exc}")
            ]
        checks += [_judge_expiry(result, now) for result in results]
    return checks


def export_checks(division: Division, now: datetime) -> list[Check]:
    """Each active account's ITS export (a connector that reads exports): present, readable, and no
    older than the policy allows (an old export audits the account as it was then)."""
    from connectors.base import CredentialState

    connectors = installed_connectors()
    limit = division.policy.max_export_age_days
    checks: list[Check] = []
    for account in division.accounts:
        reader = connectors.get(account.connector)
        if account.status != "active" or reader is None or not reader.reads_export:
            continue
        name = f"{account.key} {account.export}"
        path = Path(account.export or "")
        if not account.export or not path.is_file():
            detail = f"export file not found: {path} (ask ITS to export it)"
            checks.append(Check("exports", name, CredentialState.FAILED, detail))
            continue
        try:
            with path.open("rb") as handle:
                handle.read(1)
        except OSError as exc:
            checks.append(Check("exports", name, CredentialState.FAILED, f"not readable: {exc.strerror}"))
            continue
        written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        age = (now - written).days
        if age > limit:
            detail = (
                f"exported {age} day(s) ago, on {written:%Y-%m-%d} (policy max_export_age_days: {limit}): "
                "ask ITS for a fresh export"
            )
            checks.append(Check("exports", name, CredentialState.WARNING, detail))
        else:
            checks.append(Check("exports", name, CredentialState.OK, f"readable, exported {age} day(s) ago"))
    return checks


def its_admin_checks(division: Division) -> list[Check]:
    """The registry's its_admin in the form the platform lists admins by (`Connector.its_admin_form`); in
    another form the ITS account is never matched exactly and its-admin-missing cannot be trusted."""
    from connectors.base import CredentialState

    connectors = installed_connectors()
    checks: list[Check] = []
    for account in division.accounts:
        cls = connectors.get(account.platform)
        if account.status != "active" or cls is None or cls.its_admin_form is None or not account.its_admin:
            continue
        pattern, form = cls.its_admin_form
        if not re.fullmatch(pattern, account.its_admin.strip()):
            detail = f"its_admin {account.its_admin!r} should be {form}"
            checks.append(Check("registry", f"{account.key} its_admin", CredentialState.WARNING, detail))
    return checks


def _judge_expiry(result: CredentialCheck, now: datetime) -> Check:
    from connectors.base import CredentialState

    state, detail = result.state, result.detail
    if result.expires_at is not None and state in (CredentialState.OK, CredentialState.WARNING):
        left = result.expires_at - now
        if left <= timedelta(0):
            state, detail = CredentialState.FAILED, f"{detail}; expired on {result.expires_at:%Y-%m-%d}"
        elif left <= timedelta(days=EXPIRY_WARNING_DAYS):
            state = CredentialState.WARNING
            detail = f"{detail}; expires in {left.days} day(s), on {result.expires_at:%Y-%m-%d}: renew it now"
        else:
            detail = f"{detail}; expires on {result.expires_at:%Y-%m-%d}"
    if result.scopes:
        detail = f"{detail}; scopes: {', '.join(sorted(result.scopes))}"
    return Check("credentials", f"{result.connector} {result.credential}", state, detail)


def database_checks(settings: Settings) -> list[Check]:
    from sqlalchemy import text

    from connectors.base import CredentialState
    from models.db import init_db, make_engine, session

    try:
        engine = make_engine(settings.database_url)
        init_db(engine)
        with session(engine) as db:
            running = db.execute(text("SELECT count(*) FROM audit_run WHERE status = 'running'")).scalar_one()
            last = db.execute(
                text("SELECT id, status FROM audit_run WHERE status != 'running' ORDER BY started_at DESC LIMIT 1")
            ).first()
    except Exception as exc:
        return [Check("database", _database_label(settings), CredentialState.FAILED, f"{type(exc).__name__}: {exc}")]
    detail = f"reachable; last run {last[0]} ({last[1]})" if last else "reachable; no run yet"
    state = CredentialState.OK
    if running:
        detail += f"; {running} run(s) still marked running (in progress, or crashed: the next run marks them)"
        state = CredentialState.WARNING
    return [Check("database", _database_label(settings), state, detail)]


def _database_label(settings: Settings) -> str:
    return re.sub(r"//[^@/]*@", "//", settings.database_url)  # never show a password in the URL


def data_folders(settings: Settings) -> list[Path]:
    """Folders holding data about minors: the SQLite database's, the reports', the lock's, the logs'."""
    from sqlalchemy.engine import make_url

    from models.db import database_url

    folders = [settings.report_dir, settings.lock_file.parent]
    if settings.log_dir is not None:
        folders.append(settings.log_dir)
    url = make_url(database_url(settings.database_url))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folders.append(Path(str(url.database)).parent)
    return folders


def key_checks(settings: Settings) -> list[Check]:
    """The key that makes outsiders' keyed identities meaningful should not travel with the data."""
    from auditor.privacy import hmac_key_file, key_beside_data
    from connectors.base import CredentialState

    if settings.hmac_key is not None:
        return [Check("privacy", "HMAC key", CredentialState.OK, "from AUDITOR_HMAC_KEY")]
    beside = key_beside_data(settings, data_folders(settings))
    if beside is not None:
        detail = (
            f"{beside} sits in a data folder: a copy of the data would carry its key. Move it outside "
            "(e.g. ~/.config/school-social-auditor/hmac.key) and set AUDITOR_HMAC_KEY_FILE, or set AUDITOR_HMAC_KEY"
        )
        return [Check("privacy", "HMAC key", CredentialState.WARNING, detail)]
    return [Check("privacy", "HMAC key", CredentialState.OK, f"{hmac_key_file(settings)}, outside the data folders")]


def folder_checks(settings: Settings) -> list[Check]:
    from connectors.base import CredentialState

    folders = {"reports": settings.report_dir, "lock": settings.lock_file.parent}
    if settings.log_dir is not None:
        folders["logs"] = settings.log_dir
    checks = []
    for name, folder in folders.items():
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            probe = folder / ".doctor-probe"
            probe.write_text("", encoding="utf-8")
            probe.unlink()
        except OSError as exc:
            checks.append(Check("folders", f"{name} {folder}", CredentialState.FAILED, f"not writable: {exc.strerror}"))
            continue
        mode = folder.stat().st_mode & 0o777
        if mode & 0o077:
            checks.append(
                Check(
                    "folders",
                    f"{name} {folder}",
                    CredentialState.WARNING,
                    f"mode {mode:o}: others can read data about minors; chmod 700 {folder}",
                )
            )
        else:
            checks.append(Check("folders", f"{name} {folder}", CredentialState.OK, f"writable, private ({mode:o})"))
    return checks


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
    from models.db import init_db, make_engine, session

    policy = division_or_exit(division).policy
    settings = Settings()
    now = datetime.now(UTC)
    cutoffs = Cutoffs.from_policy(policy, now, days)
    if dry_run:
        _print_purge_plan(settings, cutoffs)
        return
    engine = make_engine(settings.database_url)
    init_db(engine)
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
    from models.db import make_engine, session

    if _missing_sqlite_file(settings.database_url):
        plan = plan_purge(None, cutoffs, settings.report_dir, settings.log_dir)
    else:
        with session(make_engine(settings.database_url)) as db:
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


def _missing_sqlite_file(url: str) -> bool:
    from sqlalchemy.engine import make_url

    from models.db import database_url

    parsed = make_url(database_url(url))
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return False
    return not Path(str(database)).exists()
