"""Environment faults: the machine, not the audit, went wrong (disk full, read-only or corrupt
database, database unreachable, permission denied).

They get their own exit code, EX_IOERR (74) from sysexits.h, beside EX_TEMPFAIL (75, locked): cron
must not read them as 1 (findings) nor 4 (a notification failed). The operator gets one line that
names the path or the database URL (password masked) and says what to do; no traceback.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, ProgrammingError

from auditor.exit_codes import EXIT_ENVIRONMENT, EXIT_SOFTWARE  # noqa: F401  (the table lives there)
from connectors.scrub import scrub


class EnvironmentFault(Exception):
    """A fault of the environment, already explained in one line for the operator."""


def mask_url(url: str) -> str:
    """The database URL as the operator may see it: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unparsable DATABASE_URL)"


def describe(error: BaseException, database_url: str) -> str | None:
    """One line for an environment fault anywhere in `error`'s chain, or None if it is not one."""
    for cause in _chain(error):
        if isinstance(cause, EnvironmentFault):
            return str(cause)
        if isinstance(cause, DBAPIError) and not isinstance(cause, IntegrityError | ProgrammingError):
            line = database_fault(cause, database_url)
            if line is not None:
                return line
        if isinstance(cause, OSError):
            return file_fault(cause)
    return None


def database_fault(error: DBAPIError, database_url: str) -> str | None:
    """What the database driver's error means for the operator; None for the auditor's own bugs."""
    detail = _first_line(error.orig) if error.orig is not None else type(error).__name__
    said = detail.lower()
    where = f"Database {_sqlite_file(database_url) or mask_url(database_url)}"
    if "no such table" in said or "no such column" in said or "syntax error" in said:
        return None  # a bug or a schema mismatch: the traceback is what a developer needs
    if any(s in said for s in ("disk is full", "disk full", "no space left", "could not extend file")):
        problem, advice = "the disk holding it is full", "Free space on that disk, then run again."
    elif "readonly" in said or "read-only" in said:
        problem = "it is read-only"
        advice = "Let the account that runs the auditor write the file and its folder (journal files go beside it)."
    elif "not a database" in said or "malformed" in said:
        problem = "the file is corrupt or not an SQLite database"
        advice = "Restore it from a backup, or move it aside to start a new empty store (history starts over)."
    elif "unable to open database file" in said:
        problem = _unopenable(database_url)
        advice = "Let the account that runs the auditor read and write the file and its folder."
    elif "password authentication failed" in said or "authentication failed" in said:
        problem, advice = "the server refused the login", "Check the user and password in DATABASE_URL."
    elif "permission denied" in said:
        problem = "permission denied"
        advice = "Grant the database user of DATABASE_URL the rights on the auditor's schema."
    elif "database is locked" in said:
        problem = "another process kept it locked too long"
        advice = "Find the process holding the SQLite file open, then run again."
    else:
        problem = "the database could not be reached or used"
        advice = "Check that the server is running and DATABASE_URL's host, port and name, then run again."
    return _line(f"{where}: {problem} ({_masked(detail, database_url)}). {advice}")


def file_fault(error: OSError, path: object = None) -> str:
    """One line for a failed file operation; `path` names it when the error does not (a failed write)."""
    name = error.filename if error.filename is not None else path
    if isinstance(name, str | Path):
        name = Path(name).absolute()
    where = f" {name}" if name is not None else ""
    reason = error.strerror or type(error).__name__
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = "Free space on that disk (or raise the quota), then run again."
        return _line(f"No space left to write{where} ({reason}). {advice}")
    if error.errno in (errno.EACCES, errno.EPERM):
        advice = "Let the account that runs the auditor read and write it (owner, mode, folder)."
        return _line(f"Permission denied on{where} ({reason}). {advice}")
    if error.errno == errno.EROFS:
        advice = "Mount it read-write, or configure another folder."
        return _line(f"Read-only file system at{where} ({reason}). {advice}")
    return _line(f"Cannot use{where} ({reason}). Check the disk and the path, then run again.")


def _sqlite_file(database_url: str) -> Path | None:
    """An SQLite database's file, absolute: the operator sees which file, wherever cron started."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).absolute()


def _unopenable(database_url: str) -> str:
    """Why SQLite could not open its file, which its own message does not say."""
    path = _sqlite_file(database_url)
    if path is None:
        return "it cannot be opened"
    if not path.parent.is_dir():
        return f"its folder {path.parent} is missing"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"permission denied on {path}"
    return f"it cannot be opened (permission on {path.parent}?)"


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _masked(text: str, database_url: str) -> str:
    try:
        password = make_url(database_url).password
    except ArgumentError:
        password = None
    if password:
        text = text.replace(str(password), "***")
    return scrub(text)


def _line(text: str) -> str:
    return " ".join(text.split())
