"""Alembic environment: the schema is SQLModel.metadata (models/tables.py).

Run through models/migrate.py (`auditor db upgrade`, or automatically by init_db), which hands over an
open connection in config.attributes["connection"]. Batch mode everywhere, so that a migration
written once also runs on SQLite (which cannot ALTER most things) as well as on PostgreSQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from models import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    # Plain `alembic` command line (a config whose script_location is this folder): the database is
    # the auditor's (DATABASE_URL / .env) unless sqlalchemy.url says otherwise.
    from auditor.settings import Settings
    from models.db import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or Settings().database_url)
    with engine.begin() as connection:
        run_migrations(connection)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `auditor db upgrade`")
run_online()
