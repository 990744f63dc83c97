"""The single-run lock, tied to the database: a lock file beside an SQLite database file, a
PostgreSQL advisory lock when hosts share a PostgreSQL database. Either is released by the system
if the process dies."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from models import pglocks

log = logging.getLogger("auditor.run")


class RunLocked(Exception):
    def __init__(self, holder: str) -> None:
        self.holder = holder
        super().__init__(f"another audit run holds the lock: {holder}")


@contextlib.contextmanager
def run_lock(lock_file: Path, engine: Engine | None = None) -> Iterator[None]:
    """One run per database: a PostgreSQL advisory lock when the store is PostgreSQL (hosts sharing
    the database never audit at once), a lock file beside an SQLite database file (whatever each
    host's AUDITOR_LOCK_FILE says), else `lock_file`. Each vanishes if the process dies."""
    if engine is not None and engine.dialect.name == "postgresql":
        with advisory_lock(engine):
            yield
        return
    with file_lock(database_lock_file(engine) or lock_file):
        yield


def database_lock_file(engine: Engine | None) -> Path | None:
    """`<database file>.lock` beside an SQLite file, from its resolved path: two runs that reach one
    file by different paths (relative, symlink) or with different lock settings share the lock."""
    if engine is None or engine.url.get_backend_name() != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    resolved = Path(database).resolve()
    return resolved.with_name(resolved.name + ".lock")


@contextlib.contextmanager
def file_lock(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    holder_file = lock_file.with_suffix(lock_file.suffix + ".holder")
    lock = FileLock(str(lock_file), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        holder = holder_file.read_text(encoding="utf-8") if holder_file.exists() else "unknown holder"
        raise RunLocked(holder.strip()) from None
    try:
        holder_file.write_text(f"pid {os.getpid()} since {_now()}", encoding="utf-8")
        yield
    finally:
        holder_file.unlink(missing_ok=True)
        lock.release()


LOCK_SESSION_KEEPALIVES = {"tcp_keepalives_idle": "60", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "6"}


@contextlib.contextmanager
def advisory_lock(engine: Engine) -> Iterator[None]:
    """pg_try_advisory_lock on a connection of its own, held (outside any transaction) for the run.

    PostgreSQL releases it when that session ends, so a host that dies or loses the network frees it.
    The holder is named in the session's application_name, which other sessions read from
    pg_stat_activity to say who holds the lock.
    """
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        holder = f"auditor pid {os.getpid()} on {socket.gethostname()[:24]} since {_now()}"
        connection.execute(text("SELECT set_config('application_name', :name, false)"), {"name": holder[:63]})
        # If this host dies without closing its connection, the server notices within about two
        # minutes (instead of the OS default of two hours) and frees the lock.
        for setting, value in LOCK_SESSION_KEEPALIVES.items():
            connection.execute(text("SELECT set_config(:setting, :value, false)"), {"setting": setting, "value": value})
        if not pglocks.try_lock(connection, pglocks.RUN):
            raise RunLocked(pglocks.holder(connection, pglocks.RUN))
        try:
            yield
        finally:
            _advisory_unlock(connection)
    finally:
        connection.close()


def _advisory_unlock(connection: Connection) -> None:
    try:
        connection.execute(text(f"SELECT pg_advisory_unlock{pglocks.KEY}"), {"cls": pglocks.RUN})
    except DBAPIError as exc:
        # The session ended under us (server restart, network): PostgreSQL already released the lock.
        log.warning("the run lock's database session was lost before the end of the run: %s", type(exc.orig).__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
