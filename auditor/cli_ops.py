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
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from auditor.directory import Directory
from auditor.identity import IdentityResolver
from auditor.inputs import Division, InputError, load_division
from auditor.privacy import hmac_key
from auditor.run import EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_LOCKED, RunLocked, run_lock
from auditor.settings import Settings
from connectors.base import (
    Connector,
    ConnectorContext,
    CredentialCheck,
    CredentialState,
    available_connectors,
)
from connectors.recording import cassette_leaks, make_vcr
from connectors.resilience import Deadline
from connectors.scrub import scrub
from models.db import init_db, make_engine, session
from models.snapshot import AccountSnapshot, CollectionState, ErrorKind, Identity
from models.tables import RegisteredAccount

console = Console(stderr=False)
err = Console(stderr=True)

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
    try:
        return Settings()
    except ValidationError as exc:
        _one_line(f"Settings error (environment or .env): {_settings_problems(exc)}; nothing was done.")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _settings_problems(exc: ValidationError) -> str:
    """Each variable and what is wrong with it, on one line (never the value: it may be a secret)."""
    return "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in exc.errors())


def register_ops(app: typer.Typer) -> None:
    app.command()(record)
    app.command()(doctor)
    app.command()(purge)


def division_or_exit(folder: Path) -> Division:
    """The validated division, or every input problem on stderr and exit code 2 (nothing written)."""
    try:
        return load_division(folder)
    except InputError as exc:
        err.print(f"Input error ({len(exc.problems)} problem(s); nothing was written):", markup=False)
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _context(settings: Settings, division: Division, full: bool = True) -> ConnectorContext:
    policy = division.policy
    return ConnectorContext(
        settings=settings,
        policy=policy,
        as_of=datetime.now(UTC),
        deadline=Deadline(policy.account_deadline_seconds),
        full=full,
    )


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
    text = " ".join(scrub(message).split())
    err.print(text if len(text) <= 400 else text[:399] + "…", markup=False, highlight=False, soft_wrap=True)


def _record(key: str, division: Path, output: Path | None, mode: str, pseudonymise: bool, force: bool) -> None:
    if mode not in ("once", "new_episodes"):
        err.print("--mode must be once or new_episodes", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    loaded = division_or_exit(division)
    account = next((a for a in loaded.accounts if a.key == key), None)
    if account is None:
        err.print(f"No registered account {key!r}.", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    cls = available_connectors().get(account.connector)
    if cls is None or account.connector == "manual":
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
        connector = cls(_context(settings, loaded))
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
    if loaded is not None:
        checks += credential_checks(settings, loaded, datetime.now(UTC))
    table = Table(show_header=True)
    for column in ("area", "what", "state", "detail"):
        table.add_column(column)
    for check in checks:
        table.add_row(check.area, check.name, check.state.value, scrub(check.detail))
    Console(width=200).print(table)
    states = {c.state for c in checks}
    if CredentialState.FAILED in states or CredentialState.MISSING in states:
        raise typer.Exit(DOCTOR_FAILED)
    raise typer.Exit(DOCTOR_WARNINGS if CredentialState.WARNING in states else DOCTOR_OK)


def credential_checks(settings: Settings, division: Division, now: datetime) -> list[Check]:
    """Every connector the registry uses checks its credentials; expiry is judged here, once."""
    connectors = available_connectors()
    by_connector: dict[str, list[RegisteredAccount]] = {}
    for account in division.accounts:
        if account.status == "active" and account.connector != "manual":
            by_connector.setdefault(account.connector, []).append(account)
    checks: list[Check] = []
    for name, accounts in sorted(by_connector.items()):
        cls: type[Connector] | None = connectors.get(name)
        if cls is None:
            checks.append(Check("credentials", name, CredentialState.FAILED, "connector not installed"))
            continue
        try:
            results = cls(_context(settings, division)).check_credentials(accounts)
        except Exception as exc:  # a check must never stop the others
            results = [
                CredentialCheck(name, "-", CredentialState.FAILED, f"check crashed: {type(exc).__name__}: {exc}")
            ]
        checks += [_judge_expiry(result, now) for result in results]
    return checks


def _judge_expiry(result: CredentialCheck, now: datetime) -> Check:
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


def folder_checks(settings: Settings) -> list[Check]:
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
        typer.Option("--days", min=1, help="Keep this many days (default: the policy's snapshot_retention_days)."),
    ] = None,
) -> None:
    """Delete snapshots (and their participants) older than the retention period; findings are kept."""
    from auditor.store import purge_snapshots

    keep_days = days or division_or_exit(division).policy.snapshot_retention_days
    settings = Settings()
    engine = make_engine(settings.database_url)
    init_db(engine)
    cutoff = datetime.now(UTC) - timedelta(days=keep_days)
    try:
        with run_lock(settings.lock_file, engine), session(engine) as db:
            snapshots, participants = purge_snapshots(db, cutoff)
            db.commit()
    except RunLocked as exc:
        err.print(f"An audit run is in progress ({exc.holder}); purge later.", markup=False)
        raise typer.Exit(EXIT_LOCKED) from None
    console.print(
        f"Purged {snapshots} snapshot(s) and {participants} participant row(s) taken before "
        f"{cutoff:%Y-%m-%d} ({keep_days} days kept; findings are kept).",
        markup=False,
    )
