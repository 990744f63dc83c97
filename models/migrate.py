"""Schema migrations: Alembic scripts in auditor/migrations/, run programmatically.

`upgrade(engine)` brings any database to the newest revision: an empty one gets the whole schema, an
older one its missing revisions, and one created before migrations existed (SQLModel create_all, no
`alembic_version` table) is first recognised as the baseline revision, then upgraded.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine

from models import pglocks

log = logging.getLogger("auditor.db")
# Alembic announces its dialect at INFO each time the revision is read (every command): our own
# "schema upgraded from .. to .." line is the one worth keeping in the run log.
logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS = Path(str(resources.files("auditor") / "migrations"))
# The schema of the last release without migrations: a database without `alembic_version` that has
# exactly these tables and columns is stamped with it.
BASELINE = "0001"


class UnknownSchema(RuntimeError):
    """The database holds some of the auditor's tables, but not a schema any revision knows."""


class SchemaBusy(RuntimeError):
    """An audit run (on another host) is using the database: its schema cannot change under it."""

    def __init__(self, holder: str) -> None:
        self.holder = holder
        super().__init__(f"an audit run is in progress ({holder}): upgrade the schema when it has finished")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str | None:
    return _scripts().get_current_head()


def next_revision_id() -> str:
    """Revisions are numbered 0001, 0002, ...: the order is plain to read in versions/."""
    numbers = [int(script.revision) for script in _scripts().walk_revisions() if script.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to `revision`; returns (revision before, revision after). None = not versioned yet."""
    with engine.connect() as connection, sqlite_foreign_keys_off(connection), connection.begin():
        _serialise(connection)
        before = current_revision(connection)
        if revision == "head" and before is not None and before == head_revision():
            return before, before  # the usual case, every run: nothing to do, nothing loaded
        _refuse_during_a_run(connection)
        if before is None:
            _adopt_unversioned(connection)
        command.upgrade(alembic_config(connection), revision)
        _check_foreign_keys(connection)
        after = current_revision(connection)
    if before != after:
        log.info("database schema upgraded from %s to %s", before or "unversioned", after)
    return before, after


@contextmanager
def sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite batch migrations rebuild a table (copy, drop, rename): with foreign keys enforced,
    dropping a table that other rows reference fails. Off for the migration (it can only change
    outside a transaction), checked before commit, back on before the connection returns to the pool."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()  # (nothing pending after a normal exit: the migration committed)
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def _check_foreign_keys(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left {len(broken)} row(s) with a dangling reference, e.g. {broken[0]}")


def _serialise(connection: Connection) -> None:
    """Two hosts starting at once on an empty PostgreSQL database: the second waits, then finds it done."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock{pglocks.KEY}"), {"cls": pglocks.MIGRATION})


def _refuse_during_a_run(connection: Connection) -> None:
    """A host with a newer release must not change the tables under another host's run; holding the
    run lock until commit also keeps a run from starting on a half-migrated schema."""
    if connection.dialect.name == "postgresql" and not pglocks.try_lock(connection, pglocks.RUN, transaction=True):
        raise SchemaBusy(pglocks.holder(connection, pglocks.RUN))


def _adopt_unversioned(connection: Connection) -> None:
    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    if not existing:
        return  # an empty database: the migrations create everything
    baseline = baseline_schema()
    if not existing & baseline.keys():
        return  # someone else's tables only: ours are created beside them
    missing = []
    for table, columns in sorted(baseline.items()):
        if table not in existing:
            missing.append(table)
            continue
        present = {column["name"] for column in inspector.get_columns(table)}
        missing += [f"{table}.{column}" for column in sorted(columns - present)]
    if missing:
        raise UnknownSchema(
            "the database has auditor tables but no schema version, and is not the schema of the release "
            f"before migrations (missing: {', '.join(missing[:10])}); restore a backup or start a new database"
        )
    command.stamp(alembic_config(connection), BASELINE)
    log.info("database created before schema migrations: recognised as revision %s", BASELINE)


@lru_cache(maxsize=1)
def baseline_schema() -> dict[str, frozenset[str]]:
    """Table -> column names at the baseline revision (built in a throwaway in-memory SQLite)."""
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), BASELINE)
        inspector = inspect(connection)
        schema = {
            table: frozenset(column["name"] for column in inspector.get_columns(table))
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    engine.dispose()
    return schema


def new_revision(message: str, rev_id: str | None = None) -> list[Path]:
    """Write a migration for whatever models/tables.py has that the migrations do not (autogenerate,
    against a throwaway SQLite database upgraded to the current head)."""
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{folder}/schema.db")
        upgrade(engine)
        with engine.begin() as connection:
            scripts = command.revision(alembic_config(connection), message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()
    _scripts.cache_clear()
    written = scripts if isinstance(scripts, list) else [scripts]
    return [Path(script.path) for script in written if script is not None]
