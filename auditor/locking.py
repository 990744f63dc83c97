"""The single-run lock: a lock file for SQLite (one machine), a PostgreSQL advisory lock when hosts
share a PostgreSQL database. Either is released by the system if the process dies."""

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

log = logging.getLogger("auditor.run")


class RunLocked(Exception):
    def __init__(self, holder: str) -> None:
        self.holder = holder
        super().__init__(f"another audit run holds the lock: {holder}")


@contextlib.contextmanager
def run_lock(lock_file: Path, engine: Engine | None = None) -> Iterator[None]:
    """One run at a time: a PostgreSQL advisory lock when the store is PostgreSQL (hosts sharing
    the database never audit at once), else a lock file. Both vanish if the process dies."""
    if engine is not None and engine.dialect.name == "postgresql":
        with advisory_lock(engine):
            yield
        return
    with file_lock(lock_file):
        yield


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


# (class id, hash of the schema): two divisions in two schemas of one database never block each other.
RUN_LOCK_CLASS = 0x41554400  # "AUD\x00"
_RUN_LOCK_KEY = "(CAST(:cls AS integer), hashtext(current_schema()))"
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
        acquired = connection.execute(
            text(f"SELECT pg_try_advisory_lock{_RUN_LOCK_KEY}"), {"cls": RUN_LOCK_CLASS}
        ).scalar_one()
        if not acquired:
            raise RunLocked(_advisory_holder(connection))
        try:
            yield
        finally:
            _advisory_unlock(connection)
    finally:
        connection.close()


def _advisory_unlock(connection: Connection) -> None:
    try:
        connection.execute(text(f"SELECT pg_advisory_unlock{_RUN_LOCK_KEY}"), {"cls": RUN_LOCK_CLASS})
    except DBAPIError as exc:
        # The session ended under us (server restart, network): PostgreSQL already released the lock.
        log.warning("the run lock's database session was lost before the end of the run: %s", type(exc.orig).__name__)


def _advisory_holder(connection: Connection) -> str:
    row = connection.execute(
        text(
            "SELECT a.application_name, a.client_addr, a.pid FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid = CAST(:cls AS integer)::oid AND l.objid = hashtext(current_schema())::oid "
            "AND l.objsubid = 2"
        ),
        {"cls": RUN_LOCK_CLASS},
    ).first()
    if row is None:
        return "unknown holder (it may just have finished)"
    name, address, pid = row
    where = f" from {address}" if address else ""
    return f"{name or 'a PostgreSQL session'} (server pid {pid}{where})"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
