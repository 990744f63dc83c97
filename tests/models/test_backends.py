"""The store behaves the same on SQLite and PostgreSQL: inputs, snapshots with bulk participants,
findings and waivers round-trip; reconciliation across runs; the single-run lock; whole runs."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import select
from typer.testing import CliRunner

from auditor.cli import app
from auditor.inputs import load_division
from auditor.reconcile import Evaluated, reconcile
from auditor.rules.base import RuleMeta, RuleResult
from auditor.run import RunLocked, execute_run, run_lock
from auditor.settings import Settings
from auditor.store import (
    add_waiver,
    ever_resolved,
    load_snapshot,
    previous_findings,
    replace_inputs,
    run_findings,
    save_snapshot,
    waivers_by_fingerprint,
)
from models import pglocks
from models.db import init_db, make_engine, session
from models.snapshot import AccountSnapshot, CollectionState, CollectionStatus, Identity
from models.tables import AuditRun, Person, PersonIdentity, RegisteredAccount, Severity, Snapshot
from tests.databases import empty_engine
from tests.waiting import wait_for

T0 = datetime(2026, 11, 1, 6, tzinfo=UTC)
META = RuleMeta(
    id="too-few-staff-admins",
    title="Too few staff admins",
    section="Online Interactions",
    severity=Severity.HIGH,
    remediation="Add a staff admin.",
)
ACCOUNT = RegisteredAccount(
    key="hhs-news",
    platform="facebook",
    connector="manual",
    school="Hillside",
    purpose="news",
    kind="joint",
    audience="public",
)


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


# --- storage round trips ------------------------------------------------------------------------


def test_inputs_round_trip_and_replace_the_previous_registry(engine: Engine, division_dir: Path) -> None:
    division = load_division(division_dir)
    with session(engine) as db:
        replace_inputs(db, division)
        db.commit()
    with session(engine) as db:
        stored = {a.key: a for a in db.exec(select(RegisteredAccount)).all()}
        assert set(stored) == {a.key for a in division.accounts}
        reading = stored["rbe-reading-group"]
        assert reading.holders == ["E1011", "E1012"] and reading.password_reset_on == date(2026, 3, 1)
        assert len(db.exec(select(Person)).all()) == len(division.people)
        assert len(db.exec(select(PersonIdentity)).all()) == len(division.identities)
    division.accounts = [a for a in division.accounts if a.key != "rbe-reading-group"]
    with session(engine) as db:
        replace_inputs(db, division)  # the same objects again: still stored
        db.commit()
    with session(engine) as db:
        keys = {a.key for a in db.exec(select(RegisteredAccount)).all()}
    assert keys == {a.key for a in division.accounts} and "rbe-reading-group" not in keys


def test_snapshot_participants_are_written_in_bulk_and_read_back(engine: Engine) -> None:
    participants = [
        Identity(platform="facebook", id=f"6155{n:08d}", handle=f"member{n}", display_name=f"Member Ñumber {n}")
        for n in range(20_000)
    ]
    snapshot = AccountSnapshot(account_key="hhs-news", platform="facebook", taken_at=T0, participants=participants)
    snapshot.collections["participants"] = CollectionStatus(state=CollectionState.COMPLETE)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with session(engine) as db:
        db.add(AuditRun(id="r1", started_at=T0, as_of=T0))
        snapshot_id = save_snapshot(db, "r1", snapshot, ACCOUNT)
        db.commit()
    participant_inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO PARTICIPANT")]
    assert 1 <= len(participant_inserts) <= 25  # executemany (batched by the driver), never 20,000 statements
    with session(engine) as db:
        row = db.get(Snapshot, snapshot_id)
        assert row is not None and row.taken_at == T0  # an aware UTC time, on both backends
        loaded = load_snapshot(db, row)
    assert loaded.participants == participants
    assert loaded.collections["participants"].state == CollectionState.COMPLETE


def test_waivers_round_trip(engine: Engine) -> None:
    with session(engine) as db:
        add_waiver(db, "fp-1", "club volunteer", "Director of ITS", date(2027, 1, 31), T0)
        revoked = add_waiver(db, "fp-2", "mistake", "Director of ITS", date(2027, 1, 31), T0)
        revoked.revoked = True
        add_waiver(db, "fp-1", "renewed for the year", "Principal", date(2027, 6, 30), T0 + timedelta(days=1))
        db.commit()
    with session(engine) as db:
        waivers = waivers_by_fingerprint(db)
    assert set(waivers) == {"fp-1"}  # revoked ones never apply
    assert (waivers["fp-1"].reason, waivers["fp-1"].expires_on) == ("renewed for the year", date(2027, 6, 30))


# --- reconciliation across runs, through the store ----------------------------------------------------


def _audit(engine: Engine, run_id: str, day: int, subjects: list[str]) -> dict[str, Any]:
    """One run of one account: what the store says were the previous findings, reconciled, stored."""
    started = T0 + timedelta(days=day)
    evaluated = [
        Evaluated(META, ACCOUNT, RuleResult(subject=s, message=f"{s} failed"), Severity.HIGH) for s in subjects
    ]
    with session(engine) as db:
        db.add(AuditRun(id=run_id, started_at=started, as_of=started, accounts=[ACCOUNT.key]))
        save_snapshot(
            db, run_id, AccountSnapshot(account_key=ACCOUNT.key, platform="facebook", taken_at=started), ACCOUNT
        )
        findings = reconcile(
            run_id=run_id,
            as_of=started,
            evaluated=evaluated,
            previous={ACCOUNT.key: previous_findings(db, ACCOUNT.key, started)},
            incomplete=set(),
            waivers=waivers_by_fingerprint(db),
            resolved_before=ever_resolved(db, [e.fingerprint for e in evaluated]),
        )
        db.add_all(findings)
        run = db.get(AuditRun, run_id)
        assert run is not None
        run.status, run.finished_at = "complete", started + timedelta(minutes=5)
        db.commit()
    with session(engine) as db:
        return {f.subject: f for f in run_findings(db, run_id)}


def test_reconciliation_across_runs(engine: Engine) -> None:
    first = _audit(engine, "r1", 0, ["alice", "bob"])
    assert {s: f.status for s, f in first.items()} == {"alice": "new", "bob": "new"}
    second = _audit(engine, "r2", 1, ["alice", "carol"])
    assert {s: f.status for s, f in second.items()} == {"alice": "persisting", "bob": "resolved", "carol": "new"}
    assert (second["alice"].first_seen_run, second["alice"].first_seen_at) == ("r1", T0)
    with session(engine) as db:
        add_waiver(db, second["carol"].fingerprint, "parent volunteer", "Principal", date(2027, 1, 1), T0)
        db.commit()
    third = _audit(engine, "r3", 2, ["alice", "bob", "carol"])
    assert {s: f.status for s, f in third.items()} == {"alice": "persisting", "bob": "new", "carol": "waived"}
    assert third["bob"].regressed and not third["alice"].regressed


# --- the single-run lock -------------------------------------------------------------------------------


def test_a_second_run_lock_is_refused_while_the_first_is_held(engine: Engine, tmp_path: Path) -> None:
    lock_file = tmp_path / "var" / "auditor.lock"
    other_host = make_engine(_url(engine))  # another engine: on PostgreSQL another session, as another host
    # The other host has its own AUDITOR_LOCK_FILE: only the database can stop it.
    other_lock_file = tmp_path / "other-host" / "auditor.lock"
    try:
        with run_lock(lock_file, engine):
            with pytest.raises(RunLocked) as refused, run_lock(other_lock_file, other_host):
                pytest.fail("two runs held the lock at once")
            assert "pid" in refused.value.holder
        with run_lock(other_lock_file, other_host):  # released at the end of the run
            pass
    finally:
        other_host.dispose()


@pytest.mark.postgres
def test_postgresql_lock_is_freed_when_the_holding_session_dies(tmp_path: Path) -> None:
    """A host that crashes or loses the network: PostgreSQL ends its session, and the lock with it."""
    with empty_engine("postgresql", tmp_path) as first:
        other_host = make_engine(_url(first))
        with run_lock(tmp_path / "a.lock", first):
            with other_host.connect() as admin:
                holders = _run_lock_holders(admin)
                assert len(holders) == 1
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holders[0]})
                # pg_terminate_backend only signals: the backend releases its locks as it exits.
                wait_for(lambda: _run_lock_holders(admin) == [], 30, "the dead session's lock to be released")
            with run_lock(tmp_path / "b.lock", other_host):
                pass  # acquired although the first holder never released it
            first.dispose()  # its dead connection
        other_host.dispose()


def _run_lock_holders(connection: Connection) -> list[int]:
    """Server pids holding this test's run lock (its schema's key), as pg_locks shows them."""
    rows = connection.execute(
        text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = :cls "
            "AND objid = hashtext(current_schema())::oid"
        ),
        {"cls": pglocks.RUN},
    ).all()
    return [pid for (pid,) in rows]


# --- whole runs -----------------------------------------------------------------------------------------


def _run_twice(engine: Engine, division_dir: Path) -> tuple[Any, Any, list[dict[str, Any]]]:
    first = execute_run(load_division(division_dir), Settings(), engine=engine, as_of=T0)
    second = execute_run(load_division(division_dir), Settings(), engine=engine, as_of=T0 + timedelta(days=1))
    report = json.loads((second.report_folder / "report.json").read_text(encoding="utf-8"))
    return first, second, report["findings"]


def test_two_runs_with_the_manual_connector(engine: Engine, division_dir: Path, auditor_env: Path) -> None:
    first, second, findings = _run_twice(engine, division_dir)
    assert first.exit_code == second.exit_code == 1  # the demo accounts break the procedure
    assert first.findings_by_status.get("new", 0) > 0
    assert second.findings_by_status.get("persisting") == first.findings_by_status["new"]
    assert {f["status"] for f in findings} == {"persisting"}
    with session(engine) as db:
        assert {r.status for r in db.exec(select(AuditRun)).all()} == {"complete"}


def test_locked_run_exits_75_naming_the_holder(
    engine: Engine, division_dir: Path, auditor_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", _url(engine))
    with run_lock(Settings().lock_file, engine):
        result = CliRunner().invoke(app, ["run", "--division", str(division_dir)])
    assert result.exit_code == 75, result.output
    said = " ".join(result.output.split())
    assert "Another audit run is in progress (" in said and f"pid {os.getpid()}" in said


@pytest.mark.postgres
def test_postgresql_runs_report_what_sqlite_reports(tmp_path: Path, division_dir: Path, auditor_env: Path) -> None:
    """The same two runs, one store on each database: the same report, apart from run ids and wall-clock times."""
    reports = {}
    for backend in ("postgresql", "sqlite"):
        with empty_engine(backend, tmp_path) as engine:
            init_db(engine)
            first, second, _ = _run_twice(engine, division_dir)
            text_ = (second.report_folder / "report.json").read_text(encoding="utf-8")
            report = json.loads(text_.replace(first.run_id, "RUN-1").replace(second.run_id, "RUN-2"))
            report["run"]["started_at"] = report["run"]["finished_at"] = "(wall clock)"
            reports[backend] = report
    assert {f["status"] for f in reports["sqlite"]["findings"]} == {"persisting"}
    assert reports["postgresql"] == reports["sqlite"]
