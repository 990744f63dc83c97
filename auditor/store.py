"""Reading and writing the store: inputs, snapshots (participants in bulk), findings, waivers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert
from sqlmodel import Session, col, select

from auditor.inputs import Division
from models.severity import TRACKED_STATUSES
from models.snapshot import AccountSnapshot, Capability, CollectionState, CollectionStatus, Identity
from models.tables import (
    Activity,
    AuditRun,
    Finding,
    FindingStatus,
    Participant,
    PatternWaiver,
    Person,
    PersonIdentity,
    RegisteredAccount,
    Snapshot,
    Waiver,
)

# Runs whose results count: a `running` or `publishing` row is a run in progress or one that died
# (then `crashed`); a `publish-failed` run's reports were never seen, so the next run compares with
# the last published one.
FINISHED_STATUSES = ("complete", "incomplete")
# `check --person --departed`: evaluated with a departure the directory does not record. Its findings
# describe a hypothesis, so it is never the baseline of a later run, nor "the latest run".
WHAT_IF_KIND = "what-if"


def replace_inputs(session: Session, division: Division) -> None:
    """Store the validated inputs as the current registry, directory and activities.

    Delete then bulk insert, in the caller's transaction: the registry replaces the previous one
    wholesale (a removed account must disappear), so there is nothing to upsert. Rows are built from
    the values, never by attaching the Division's objects, so storing one Division twice works.
    """
    for table in (PersonIdentity, Person, Activity, RegisteredAccount, PatternWaiver):
        session.execute(delete(table))
    for table, rows in (
        (Person, division.people),
        (PersonIdentity, division.identities),
        (Activity, division.activities),
        (RegisteredAccount, division.accounts),
        (PatternWaiver, division.waivers),
    ):
        if rows:
            generated_id = table in (PersonIdentity, PatternWaiver)
            values = [row.model_dump(exclude={"id"} if generated_id else set()) for row in rows]
            session.execute(insert(table), values)


def worst_state(snapshot: AccountSnapshot) -> str:
    states = {status.state for status in snapshot.collections.values()}
    if CollectionState.FAILED in states and not any(s.usable for s in snapshot.collections.values()):
        return "failed"
    if snapshot.incomplete:
        return "partial"
    return "complete"


def save_snapshot(session: Session, run_id: str, snapshot: AccountSnapshot, account: RegisteredAccount) -> int:
    data = snapshot.model_dump(mode="json", exclude={"participants"})
    data["account"] = {
        "school": account.school,
        "handle": account.handle,
        "audience": account.audience,
        "connector": account.connector,
    }
    row = Snapshot(
        run_id=run_id,
        account_key=snapshot.account_key,
        platform=snapshot.platform,
        taken_at=snapshot.taken_at,
        state=worst_state(snapshot),
        data=data,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    if snapshot.participants:
        # One executemany: a snapshot may hold hundreds of thousands of participants.
        session.execute(
            insert(Participant),
            [
                {"snapshot_id": row.id, "platform_id": p.id, "handle": p.handle, "display_name": p.display_name}
                for p in snapshot.participants
            ],
        )
    return row.id


def load_snapshot(session: Session, row: Snapshot) -> AccountSnapshot:
    data = {k: v for k, v in row.data.items() if k != "account"}
    snapshot = AccountSnapshot.model_validate(data)
    assert row.id is not None
    snapshot.participants = participants_of(session, row.id, row.platform)
    return snapshot


def participants_of(session: Session, snapshot_id: int, platform: str) -> list[Identity]:
    """A snapshot's participants, read as plain rows (no ORM objects: there may be 100,000s)."""
    rows = session.execute(
        select(Participant.platform_id, Participant.handle, Participant.display_name).where(
            Participant.snapshot_id == snapshot_id
        )
    ).all()
    return [
        Identity(platform=platform, id=platform_id, handle=handle, display_name=name)
        for platform_id, handle, name in rows
    ]


@dataclass
class StoredParticipants:
    """The participant list of an account's newest snapshot that has one, and how it was collected."""

    identities: list[Identity]
    status: CollectionStatus
    taken_at: datetime


def latest_participants(session: Session, account_key: str, search: int = 30) -> StoredParticipants | None:
    """The newest participant list collected (completely or partly) among the account's last `search`
    snapshots; a run whose listing failed stored none, so it is skipped."""
    rows = session.exec(
        select(Snapshot)
        .where(Snapshot.account_key == account_key, Snapshot.state != "failed")
        .order_by(col(Snapshot.id).desc())
        .limit(search)
    )
    for row in rows:  # fetched one at a time: usually the newest one has the list
        raw = (row.data.get("collections") or {}).get(Capability.PARTICIPANTS.value)
        if raw is None:
            continue
        status = CollectionStatus.model_validate(raw)
        if status.usable and not row.data.get("participants_delta"):
            assert row.id is not None
            return StoredParticipants(participants_of(session, row.id, row.platform), status, row.taken_at)
    return None


def _latest_usable_row(session: Session, account_key: str) -> Snapshot | None:
    """The account's newest snapshot that was not a failure."""
    return session.exec(
        select(Snapshot)
        .where(Snapshot.account_key == account_key, Snapshot.state != "failed")
        .order_by(col(Snapshot.id).desc())
        .limit(1)
    ).first()


def latest_content(session: Session, account_key: str) -> AccountSnapshot | None:
    """The newest usable snapshot's posts and interactions (participants are not loaded)."""
    row = _latest_usable_row(session, account_key)
    if row is None:
        return None
    return AccountSnapshot.model_validate({k: v for k, v in row.data.items() if k != "account"})


def latest_cursor(session: Session, account_key: str) -> dict[str, str]:
    """Where the next incremental pull starts: the newest snapshot that was not a failure."""
    row = _latest_usable_row(session, account_key)
    return dict(row.data.get("cursor") or {}) if row else {}


def previous_run(session: Session, run: AuditRun) -> AuditRun | None:
    return session.exec(
        select(AuditRun)
        .where(
            AuditRun.started_at < run.started_at,
            col(AuditRun.status).in_(FINISHED_STATUSES),
            AuditRun.kind != WHAT_IF_KIND,
        )
        .order_by(col(AuditRun.started_at).desc())
        .limit(1)
    ).first()


def previous_findings(session: Session, account_key: str, before: datetime) -> list[Finding]:
    """Still-tracked (open or waived) findings of the latest earlier finished run that audited this account
    (crashed runs have none)."""
    last = session.exec(
        select(Snapshot.run_id)
        .join(AuditRun, col(AuditRun.id) == col(Snapshot.run_id))
        .where(
            Snapshot.account_key == account_key,
            AuditRun.started_at < before,
            col(AuditRun.status).in_(FINISHED_STATUSES),
            AuditRun.kind != WHAT_IF_KIND,
        )
        .order_by(col(AuditRun.started_at).desc())
        .limit(1)
    ).first()
    return _tracked_findings(session, last, Finding.account_key == account_key)


def previous_division_findings(session: Session, before: datetime) -> list[Finding]:
    """Still-tracked (open or waived) division-scope findings (unregistered accounts) of the latest earlier full run."""
    last = session.exec(
        select(AuditRun.id)
        .where(AuditRun.started_at < before, AuditRun.kind == "run", col(AuditRun.status).in_(FINISHED_STATUSES))
        .order_by(col(AuditRun.started_at).desc())
        .limit(1)
    ).first()
    return _tracked_findings(session, last, col(Finding.account_key).startswith("unregistered:"))


def _tracked_findings(session: Session, run_id: str | None, condition: Any) -> list[Finding]:
    if run_id is None:
        return []
    statuses = [s.value for s in TRACKED_STATUSES]  # waived too: the next run keeps them waived
    query = select(Finding).where(Finding.run_id == run_id, condition, col(Finding.status).in_(statuses))
    return list(session.exec(query).all())


def ever_resolved(session: Session, fingerprints: Iterable[str]) -> set[str]:
    wanted = sorted(set(fingerprints))
    found: set[str] = set()
    # A batch at a time: a large division's run has more fingerprints than SQLite takes variables
    # in one statement (32,766 or 250,000, depending on how it was built).
    for start in range(0, len(wanted), IN_BATCH):
        rows = session.exec(
            select(Finding.fingerprint).where(
                col(Finding.fingerprint).in_(wanted[start : start + IN_BATCH]),
                Finding.status == FindingStatus.RESOLVED.value,
            )
        ).all()
        found.update(rows)
    return found


def waivers_by_fingerprint(session: Session) -> dict[str, Waiver]:
    """The newest unrevoked waiver of each fingerprint (expired ones included: the report says so)."""
    result: dict[str, Waiver] = {}
    for waiver in session.exec(select(Waiver).where(Waiver.revoked == False).order_by(col(Waiver.id))).all():  # noqa: E712
        result[waiver.fingerprint] = waiver
    return result


def add_waiver(
    session: Session, fingerprint: str, reason: str, approver: str, expires_on: date, now: datetime
) -> Waiver:
    waiver = Waiver(fingerprint=fingerprint, reason=reason, approver=approver, expires_on=expires_on, created_at=now)
    session.add(waiver)
    return waiver


FINDING_BATCH = 5000
IN_BATCH = 10_000


def store_findings(session: Session, findings: Iterable[Finding]) -> int:
    """Insert a run's findings through SQLAlchemy Core, a batch at a time (an executemany each):
    no ORM unit of work tracking 100,000 objects. Returns how many were stored."""
    columns = [column.name for column in Finding.__table__.columns if column.name != "id"]  # type: ignore[attr-defined]
    stored = 0
    batch: list[dict[str, Any]] = []
    for finding in findings:
        batch.append({name: getattr(finding, name) for name in columns})
        if len(batch) == FINDING_BATCH:
            session.execute(insert(Finding), batch)
            stored, batch = stored + len(batch), []
    if batch:
        session.execute(insert(Finding), batch)
    return stored + len(batch)


def run_finding_rows(session: Session, run_id: str) -> list[Any]:
    """A run's findings as plain rows (attribute access like a Finding, no ORM object or identity
    map): what a report of 100,000 findings is built from."""
    columns = Finding.__table__.columns  # type: ignore[attr-defined]
    return list(session.execute(select(*columns).where(columns.run_id == run_id)).all())


def run_findings(session: Session, run_id: str) -> list[Finding]:
    return list(session.exec(select(Finding).where(Finding.run_id == run_id)).all())


def run_snapshots(session: Session, run_id: str) -> list[Snapshot]:
    return list(
        session.exec(select(Snapshot).where(Snapshot.run_id == run_id).order_by(col(Snapshot.account_key))).all()
    )


def latest_run(session: Session) -> AuditRun | None:
    return session.exec(
        select(AuditRun)
        .where(col(AuditRun.status).in_(FINISHED_STATUSES), AuditRun.kind != WHAT_IF_KIND)
        .order_by(col(AuditRun.started_at).desc())
        .limit(1)
    ).first()


# --- runs that died, retention ----------------------------------------------------------------------


# Statuses of a run that has not ended: collecting and evaluating, then writing its reports.
RUNNING, PUBLISHING = "running", "publishing"
CRASHED, PUBLISH_FAILED = "crashed", "publish-failed"


def mark_crashed_runs(session: Session, now: datetime) -> list[str]:
    """Runs not ended while we hold the run lock died (SIGKILL, power loss): mark them crashed."""
    stale = list(session.exec(select(AuditRun).where(col(AuditRun.status).in_((RUNNING, PUBLISHING)))).all())
    for run in stale:
        end_run(session, run, CRASHED, now)
    return [run.id for run in stale]


def end_run(session: Session, run: AuditRun, status: str, now: datetime) -> None:
    """Record how a run ended, in the caller's transaction.

    A crashed run's snapshots were never reported: they are deleted (with their participants and
    any findings), so that no name read by a dead run stays in the store. A publish-failed run
    keeps them: its results are sound, only its reports could not be written.
    """
    if status == CRASHED:
        snapshot_ids = select(Snapshot.id).where(Snapshot.run_id == run.id)
        session.execute(delete(Participant).where(col(Participant.snapshot_id).in_(snapshot_ids)))
        session.execute(delete(Snapshot).where(col(Snapshot.run_id) == run.id))
        session.execute(delete(Finding).where(col(Finding.run_id) == run.id))
    run.status = status
    run.finished_at = run.finished_at or now
    session.add(run)


def _purgeable_snapshots(older_than: datetime) -> Any:
    """Snapshots taken before `older_than`, except each account's newest whatever its age:
    reconciliation finds an account's previous findings through it, and its cursor is where the
    next pull starts."""
    newest = select(func.max(Snapshot.id)).group_by(Snapshot.account_key)
    return select(Snapshot.id).where(Snapshot.taken_at < older_than, col(Snapshot.id).not_in(newest))


def count_purgeable_snapshots(session: Session, older_than: datetime) -> int:
    return int(session.exec(select(func.count()).select_from(_purgeable_snapshots(older_than).subquery())).one())


def purge_snapshots(session: Session, older_than: datetime) -> tuple[int, int]:
    """Delete snapshots (and their participants) taken before `older_than`. Findings are kept."""
    doomed = _purgeable_snapshots(older_than)
    participants = session.execute(delete(Participant).where(col(Participant.snapshot_id).in_(doomed)))
    snapshots = session.execute(delete(Snapshot).where(col(Snapshot.id).in_(doomed)))
    return int(getattr(snapshots, "rowcount", 0) or 0), int(getattr(participants, "rowcount", 0) or 0)


# --- waivers: history and patterns ---------------------------------------------------------------


def pattern_waivers(session: Session) -> list[PatternWaiver]:
    """The waivers.yaml entries the latest run loaded, in file order (the first match wins)."""
    return list(session.exec(select(PatternWaiver).order_by(col(PatternWaiver.id))).all())


def all_waivers(session: Session) -> list[Waiver]:
    """Every waiver granted with `auditor waive`, revoked ones included (the history)."""
    return list(session.exec(select(Waiver).order_by(col(Waiver.id))).all())


def revoke_waivers(session: Session, fingerprint: str, by: str, reason: str, now: datetime) -> list[Waiver]:
    """Take back the fingerprint's unrevoked waivers; the rows stay, with who revoked them, when and why."""
    rows = list(
        session.exec(select(Waiver).where(Waiver.fingerprint == fingerprint, Waiver.revoked == False)).all()  # noqa: E712
    )
    for waiver in rows:
        waiver.revoked, waiver.revoked_at, waiver.revoked_by, waiver.revoke_reason = True, now, by, reason
        session.add(waiver)
    return rows


def latest_finding(session: Session, fingerprint: str) -> Finding | None:
    """The newest stored row of a fingerprint: what the finding is (rule, account, subject)."""
    return session.exec(
        select(Finding).where(Finding.fingerprint == fingerprint).order_by(col(Finding.id).desc()).limit(1)
    ).first()


def finding_rows_by_id(session: Session, ids: list[int], batch: int = 1000) -> Iterable[Any]:
    """Findings as plain rows (see run_finding_rows), in the order of `ids`, read `batch` at a time:
    a report of 100,000 findings never holds every row at once."""
    columns = Finding.__table__.columns  # type: ignore[attr-defined]
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        rows = {row.id: row for row in session.execute(select(*columns).where(columns.id.in_(chunk)))}
        yield from (rows[i] for i in chunk)
