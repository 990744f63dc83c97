"""Schema migrations, on SQLite and PostgreSQL: the migrations build exactly the models' schema,
an existing database keeps its history through an upgrade, and `auditor db upgrade` reports what it did."""

from __future__ import annotations

import stat
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel
from typer.testing import CliRunner

from auditor.cli import app
from auditor.store import (
    latest_run,
    load_snapshot,
    previous_findings,
    run_findings,
    run_snapshots,
    waivers_by_fingerprint,
)
from models import migrate
from models.db import init_db, session
from models.snapshot import AccountSnapshot
from tests.databases import database_url, empty_engine

RUN_AT = datetime(2026, 10, 1, 6, tzinfo=UTC)
RUN_ID = "20261001T060000Z-aaaaaa"


def test_migrations_build_exactly_the_models_schema(engine: Engine) -> None:
    """`alembic check`: a model change without its migration fails here (see docs/database.md)."""
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert migrate.current_revision(connection) == migrate.head_revision()
    assert differences == []


def test_sqlite_database_file_is_private(tmp_path: Path) -> None:
    from models.db import make_engine

    path = tmp_path / "var" / "auditor.db"
    init_db(make_engine(f"sqlite:///{path}"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "audit_run" in inspect(make_engine(f"sqlite:///{path}")).get_table_names()


def _legacy_rows() -> dict[str, list[dict[str, Any]]]:
    """Rows as the release before migrations wrote them: only that schema's columns, so that this stays
    the old data however the models grow."""
    snapshot = AccountSnapshot(account_key="hhs-news", platform="facebook", taken_at=RUN_AT)
    finding = {
        "run_id": RUN_ID, "rule_id": "departed-staff-admin", "account_key": "hhs-news", "severity": "high",
        "confidence": "certain", "section": "Departures", "title": "Departed staff still admin", "status": "new",
        "regressed": False, "platform": "facebook", "school": "Hillside", "handle": "HillsideNews", "url": None,
        "clause": "", "remediation": "Remove the admin.", "first_seen_run": RUN_ID, "first_seen_at": RUN_AT,
        "last_seen_run": RUN_ID,
    }  # fmt: skip
    return {
        "audit_run": [
            {
                "id": RUN_ID,
                "started_at": RUN_AT,
                "finished_at": RUN_AT,
                "as_of": RUN_AT,
                "kind": "run",
                "status": "complete",
                "accounts": ["hhs-news"],
                "exit_code": 1,
                "policy_digest": "sha256:0",
                "division": "Prairie Sky",
                "fail_threshold": "high",
                "spend": {},
            }
        ],
        "snapshot": [
            {
                "id": 1,
                "run_id": RUN_ID,
                "account_key": "hhs-news",
                "platform": "facebook",
                "taken_at": RUN_AT,
                "state": "complete",
                "data": snapshot.model_dump(mode="json", exclude={"participants"}),
            }
        ],
        "participant": [{"snapshot_id": 1, "platform_id": str(n), "handle": f"member{n}"} for n in range(50)],
        "finding": [
            {
                **finding,
                "fingerprint": f"fp-{who}",
                "subject": who,
                "message": f"{who} left but is still an admin",
                "evidence": {"person": who},
            }
            for who in ("E1011", "E1012")
        ],
        "waiver": [
            {
                "fingerprint": "fp-E1012",
                "reason": "parent volunteer",
                "approver": "Director of ITS",
                "expires_on": date(2027, 6, 30),
                "created_at": RUN_AT,
                "revoked": False,
            }
        ],
    }


def _pre_migration_release(engine: Engine) -> None:
    """The database the release before migrations left: its tables (the baseline revision is the schema
    its SQLModel create_all made) with history in them, and no alembic_version table."""
    with engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection), migrate.BASELINE)
        connection.execute(text("DROP TABLE alembic_version"))
        old_schema = MetaData()
        old_schema.reflect(connection)
        for table, rows in _legacy_rows().items():
            connection.execute(old_schema.tables[table].insert(), rows)


def test_upgrading_a_pre_migration_database_keeps_its_history(bare_engine: Engine) -> None:
    _pre_migration_release(bare_engine)
    init_db(bare_engine)  # what the first command after the update does
    with bare_engine.connect() as connection:
        assert migrate.current_revision(connection) == migrate.head_revision()
    with session(bare_engine) as db:
        run = latest_run(db)
        assert run is not None and run.id == RUN_ID and run.as_of == RUN_AT
        assert sorted(f.subject for f in run_findings(db, run.id)) == ["E1011", "E1012"]
        # The next run reconciles against them: they are its previous findings.
        assert len(previous_findings(db, "hhs-news", datetime(2026, 11, 1, tzinfo=UTC))) == 2
        assert waivers_by_fingerprint(db)["fp-E1012"].approver == "Director of ITS"
        snapshot = run_snapshots(db, RUN_ID)[0]
        assert len(load_snapshot(db, snapshot).participants) == 50 and snapshot.taken_at == RUN_AT


def test_an_unversioned_database_of_unknown_shape_is_refused(bare_engine: Engine) -> None:
    with bare_engine.begin() as connection:
        connection.execute(text("CREATE TABLE audit_run (id VARCHAR PRIMARY KEY)"))
    with pytest.raises(migrate.UnknownSchema, match=r"audit_run\.as_of"):
        init_db(bare_engine)
    tables = inspect(bare_engine).get_table_names()
    assert "alembic_version" not in tables and "finding" not in tables  # nothing half-done


@pytest.mark.postgres
def test_two_hosts_starting_on_an_empty_postgresql_database_both_succeed(tmp_path: Path) -> None:
    """(SQLite is one host's file: concurrent first use from two hosts is a PostgreSQL case.)"""
    with database_url("postgresql", tmp_path) as url:
        _first_use_from_two_hosts(url)


def _first_use_from_two_hosts(url: str) -> None:
    from models.db import make_engine

    first, second = make_engine(url), make_engine(url)
    errors: list[BaseException] = []

    def first_use(engine: Engine) -> None:
        try:
            init_db(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(e,)) for e in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with first.connect() as connection:
        assert migrate.current_revision(connection) == migrate.head_revision()
    first.dispose()
    second.dispose()


def test_db_upgrade_and_current_commands(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    with database_url(backend, tmp_path) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("AUDITOR_LOCK_FILE", str(tmp_path / "var" / "auditor.lock"))
        monkeypatch.chdir(tmp_path)
        outdated = runner.invoke(app, ["db", "current"])
        assert outdated.exit_code == 1 and "revision none" in outdated.output
        first = runner.invoke(app, ["db", "upgrade"])
        assert first.exit_code == 0, first.output
        assert f"upgraded from unversioned to {migrate.head_revision()}" in first.output
        assert "password" not in first.output.lower() and "@" not in first.output
        again = runner.invoke(app, ["db", "upgrade"])
        assert again.exit_code == 0 and "already at revision" in again.output
        assert runner.invoke(app, ["db", "current"]).exit_code == 0


def test_a_batch_migration_can_rebuild_a_referenced_table_on_sqlite(tmp_path: Path) -> None:
    """What a future migration altering audit_run does on SQLite (copy, drop, rename) while findings
    reference it: the upgrade turns foreign-key enforcement off for the rebuild, and back on after.
    (PostgreSQL alters tables in place.)"""
    with empty_engine("sqlite", tmp_path) as bare_engine:
        _rebuild_audit_run(bare_engine)


def _rebuild_audit_run(bare_engine: Engine) -> None:
    _pre_migration_release(bare_engine)
    init_db(bare_engine)
    with bare_engine.connect() as connection, migrate.sqlite_foreign_keys_off(connection), connection.begin():
        operations = Operations(MigrationContext.configure(connection, opts={"render_as_batch": True}))
        with operations.batch_alter_table("audit_run", recreate="always") as batch:
            batch.alter_column("division", new_column_name="division_name")
    with session(bare_engine) as db:
        assert db.execute(text("SELECT division_name FROM audit_run")).scalar_one() == "Prairie Sky"
        assert db.execute(text("SELECT count(*) FROM finding")).scalar_one() == 2
        assert db.execute(text("PRAGMA foreign_keys")).scalar_one() == 1  # enforced again


@pytest.mark.postgres
def test_no_schema_upgrade_under_another_hosts_run(
    tmp_path: Path, division_dir: Path, auditor_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Host A audits with the old release; host B, already updated, must not migrate under it."""
    from auditor.locking import run_lock
    from models.db import make_engine

    with database_url("postgresql", tmp_path) as url:
        host_a, host_b = make_engine(url), make_engine(url)
        monkeypatch.setenv("DATABASE_URL", url)
        with run_lock(tmp_path / "a.lock", host_a):
            with pytest.raises(migrate.SchemaBusy, match=r"auditor pid \d+"):
                init_db(host_b)
            refused = CliRunner().invoke(app, ["db", "upgrade"])
            assert refused.exit_code == 75 and "Not upgraded: an audit run is in progress" in refused.output
            waiting = CliRunner().invoke(app, ["run", "--division", str(division_dir)])
            assert waiting.exit_code == 75 and "Another audit run is in progress" in waiting.output
            assert inspect(host_b).get_table_names() == []
        init_db(host_b)  # the run is over
        assert "audit_run" in inspect(host_b).get_table_names()
        host_a.dispose()
        host_b.dispose()


def test_findings_stored_before_owners_existed_get_none_and_new_ones_keep_theirs(bare_engine: Engine) -> None:
    """Revision 0002 adds finding.owners: old rows read as no owners (never today's owners, who may differ),
    and a new finding's owners come back exactly as stored, so `auditor report` re-renders them."""
    with bare_engine.begin() as connection:
        command.upgrade(migrate.alembic_config(connection), "0001")
        old_schema = MetaData()
        old_schema.reflect(connection)
        for table, rows in _legacy_rows().items():
            if table in ("audit_run", "finding"):
                connection.execute(old_schema.tables[table].insert(), rows)
    init_db(bare_engine)
    owners = [{"person_id": "E1009", "name": "Anne Tremblay", "role": "principal"}, {"name": "ITS", "role": "its"}]
    with session(bare_engine) as db:
        old = run_findings(db, RUN_ID)
        assert [f.owners for f in old] == [[], []]
        old[0].owners = owners
        subject = old[0].subject
        db.add(old[0])
        db.commit()
    with session(bare_engine) as db:
        assert {f.subject: f.owners for f in run_findings(db, RUN_ID)}[subject] == owners
