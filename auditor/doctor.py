"""`auditor doctor`'s checks: credentials (validity, expiry, scopes), ITS exports, the registry's
its_admin forms, the database, the folders and the HMAC key. Each returns Checks; the command prints
them and turns their states into its exit code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from auditor.inputs import Division, InputError, load_division
from auditor.plugins import command_context
from auditor.privacy import hmac_key_file, key_beside_data
from auditor.settings import Settings
from connectors.base import Connector, CredentialCheck, CredentialState
from connectors.registry import ConnectorRegistry
from models.db import database_url, open_store, redacted_url, session
from models.tables import RegisteredAccount

EXPIRY_WARNING_DAYS = 14


@dataclass
class Check:
    area: str
    name: str
    state: CredentialState
    detail: str


def all_checks(division: Path, settings: Settings) -> list[Check]:
    """Every check, in the order the table shows them; a division that does not load skips the
    checks that need it (its problem is the first row)."""
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
    return checks


def credential_checks(settings: Settings, division: Division, now: datetime) -> list[Check]:
    """Every connector the registry uses checks its credentials; expiry is judged here, once."""
    connectors = ConnectorRegistry.installed()
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
            results = cls(command_context(connectors, name, division.policy)).check_credentials(accounts)
        except Exception as exc:  # a check must never stop the others
            results = [
                CredentialCheck(name, "-", CredentialState.FAILED, f"check crashed: {type(exc).__name__}: {exc}")
            ]
        checks += [_judge_expiry(result, now) for result in results]
    return checks


def export_checks(division: Division, now: datetime) -> list[Check]:
    """Each active account's ITS export (a connector that reads exports): present, readable, and no
    older than the policy allows (an old export audits the account as it was then)."""
    connectors = ConnectorRegistry.installed()
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
    connectors = ConnectorRegistry.installed()
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
    label = redacted_url(settings.database_url)
    try:
        engine = open_store(settings)
        with session(engine) as db:
            running = db.execute(text("SELECT count(*) FROM audit_run WHERE status = 'running'")).scalar_one()
            last = db.execute(
                text("SELECT id, status FROM audit_run WHERE status != 'running' ORDER BY started_at DESC LIMIT 1")
            ).first()
    except Exception as exc:
        return [Check("database", label, CredentialState.FAILED, f"{type(exc).__name__}: {exc}")]
    detail = f"reachable; last run {last[0]} ({last[1]})" if last else "reachable; no run yet"
    state = CredentialState.OK
    if running:
        detail += f"; {running} run(s) still marked running (in progress, or crashed: the next run marks them)"
        state = CredentialState.WARNING
    return [Check("database", label, state, detail)]


def data_folders(settings: Settings) -> list[Path]:
    """Folders holding data about minors: the SQLite database's, the reports', the lock's, the logs'."""
    folders = [settings.report_dir, settings.lock_file.parent]
    if settings.log_dir is not None:
        folders.append(settings.log_dir)
    url = make_url(database_url(settings.database_url))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folders.append(Path(str(url.database)).parent)
    return folders


def key_checks(settings: Settings) -> list[Check]:
    """The key that makes outsiders' keyed identities meaningful should not travel with the data."""
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
