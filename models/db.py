"""Database engine: SQLite file by default (WAL, busy timeout, foreign keys), any SQLAlchemy URL otherwise."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from models import (
    migrate,
    tables,  # noqa: F401  (registers the tables on SQLModel.metadata)
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _postgres_utc(dbapi_connection: Any, _record: Any) -> None:
    # Times are stored as timestamptz (sqlmodel UTCDateTime); whatever the server's TimeZone, the
    # session works in UTC like the auditor's clock, so dates the server derives agree with reports.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.autocommit = autocommit


def database_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 (the driver the auditor installs)."""
    if url.startswith(("postgresql://", "postgres://")):
        return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def make_engine(url: str) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            folder = Path(path).parent
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not Path(path).exists():
                # Minors' data: the database is private to the account that runs the audit.
                Path(path).touch(mode=0o600)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", _postgres_utc)
    return engine


def init_db(engine: Engine) -> None:
    """Bring an empty or older database up to the current schema (Alembic: `auditor db upgrade`)."""
    migrate.upgrade(engine)
    if engine.url.get_backend_name() == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        os.chmod(str(engine.url.database), 0o600)


class StoreSettings(Protocol):
    """What opening the store reads of the auditor's settings (models/ never imports auditor/)."""

    @property
    def database_url(self) -> str: ...


def open_store(settings: StoreSettings, *, migrate: bool = True) -> Engine:
    """The store DATABASE_URL names; brought to the current schema first unless `migrate` is False
    (a read-only look, or a command that migrates by itself)."""
    engine = make_engine(settings.database_url)
    if migrate:
        init_db(engine)
    return engine


def missing_sqlite_file(url: str) -> bool:
    """A SQLite URL whose file does not exist yet: a command that only reads must not create it."""
    parsed = make_url(database_url(url))
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return False
    return not Path(str(database)).exists()


def open_store_to_read(settings: StoreSettings) -> Engine:
    """The store as it is (no migration, nothing created): when its SQLite file does not exist yet, an
    empty store in memory, so a prediction reads as for a first run and no file is made."""
    if not missing_sqlite_file(settings.database_url):
        return make_engine(settings.database_url)
    engine = make_engine("sqlite:///:memory:")
    migration_log = logging.getLogger("auditor.db")
    level = migration_log.level
    migration_log.setLevel(logging.WARNING)  # "schema upgraded" would read as if a store was written
    try:
        init_db(engine)
    finally:
        migration_log.setLevel(level)
    return engine


def redacted_url(url: str) -> str:
    """The database URL to show: never its password."""
    return re.sub(r"//[^@/]*@", "//", url)


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
