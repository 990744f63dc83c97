"""PostgreSQL advisory locks of the auditor's database: their keys, and who holds one.

A key is (class, hash of the current schema): two divisions in two schemas of one database never
block each other. Session-level and transaction-level locks on one key conflict with each other.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

RUN = 0x41554400  # "AUD\x00": one audit (or purge, or schema upgrade) at a time
MIGRATION = 0x41554401  # "AUD\x01": one schema upgrade at a time
KEY = "(CAST(:cls AS integer), hashtext(current_schema()))"  # the arguments of pg_*advisory_lock


def try_lock(connection: Connection, cls: int, *, transaction: bool = False) -> bool:
    function = "pg_try_advisory_xact_lock" if transaction else "pg_try_advisory_lock"
    return bool(connection.execute(text(f"SELECT {function}{KEY}"), {"cls": cls}).scalar_one())


def holder(connection: Connection, cls: int) -> str:
    """Who holds the lock, from pg_stat_activity: the auditor names its lock session (application_name)."""
    row = connection.execute(
        text(
            "SELECT a.application_name, a.client_addr, a.pid FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid = CAST(:cls AS integer)::oid AND l.objid = hashtext(current_schema())::oid "
            "AND l.objsubid = 2"
        ),
        {"cls": cls},
    ).first()
    if row is None:
        return "unknown holder (it may just have finished)"
    name, address, pid = row
    where = f" from {address}" if address else ""
    return f"{name or 'a PostgreSQL session'} (server pid {pid}{where})"
