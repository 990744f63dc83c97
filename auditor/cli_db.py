"""`auditor db ...`: the database schema (Alembic migrations in auditor/migrations/)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

db_app = typer.Typer(no_args_is_help=True, help="Database schema: upgrade after an update, show the revision.")
console = Console()
err = Console(stderr=True)
EXIT_OUTDATED, EXIT_BAD_INPUT, EXIT_LOCKED = 1, 2, 75


@db_app.command()
def upgrade() -> None:
    """Bring the database (DATABASE_URL) to the newest schema. Safe to repeat; every run does it too."""
    from auditor.settings import Settings  # imported by the command, so `auditor --help` starts fast
    from models import migrate
    from models.db import open_store, redacted_url

    settings = Settings()
    engine = open_store(settings, migrate=False)  # migrated below, its before and after reported
    try:
        before, after = migrate.upgrade(engine)
    except migrate.UnknownSchema as exc:
        err.print(f"Cannot upgrade {redacted_url(settings.database_url)}: {exc}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except migrate.SchemaBusy as exc:
        err.print(f"Not upgraded: {exc}", markup=False)
        raise typer.Exit(EXIT_LOCKED) from None
    if before == after:
        console.print(f"{redacted_url(settings.database_url)}: schema already at revision {after}.", markup=False)
    else:
        console.print(
            f"{redacted_url(settings.database_url)}: schema upgraded from {before or 'unversioned'} to {after}.",
            markup=False,
        )


@db_app.command()
def current() -> None:
    """Show the database's schema revision and the newest one; exit 1 when an upgrade is due."""
    from auditor.settings import Settings
    from models import migrate
    from models.db import open_store, redacted_url

    settings = Settings()
    with open_store(settings, migrate=False).connect() as connection:  # only looks
        revision = migrate.current_revision(connection)
    head = migrate.head_revision()
    label = redacted_url(settings.database_url)
    console.print(f"{label}: revision {revision or 'none'} (newest: {head})", markup=False)
    if revision != head:
        console.print("Run `auditor db upgrade` (a run also upgrades it before auditing).", markup=False)
        raise typer.Exit(EXIT_OUTDATED)


@db_app.command(hidden=True)
def revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What the migration changes.")],
    rev_id: Annotated[str | None, typer.Option("--rev-id", help="Revision id (default: next number).")] = None,
) -> None:
    """For developers: write a migration for what models/tables.py changed (see docs/database.md)."""
    from models import migrate

    for path in migrate.new_revision(message, rev_id or migrate.next_revision_id()):
        console.print(f"Wrote {path}: review it, then run the tests (tests/models/test_migrations.py).", markup=False)
