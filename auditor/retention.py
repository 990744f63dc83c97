"""Retention: keep data about people no longer than the audit needs it (`auditor purge`).

Four things age out, each by its own policy period:
- snapshots (`snapshot_retention_days`; each account's newest is kept: the next pull starts there);
- the evidence of resolved findings (`evidence_retention_days` after the run that resolved them):
  names, handles, message excerpts and links go; fingerprint, rule, account, severity and dates stay,
  so history, regressions and waivers keep working;
- report folders (`report_retention_days`), except the one `latest` points at and the report each
  active waiver was granted on;
- rotated log files (`log_retention_days`).

`plan_purge` lists what would go without changing anything (`auditor purge --dry-run`);
`apply_purge` deletes exactly what a plan lists.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, func, select

from auditor.logs import LOG_FILE
from auditor.policy import Policy
from auditor.store import count_purgeable_snapshots, purge_snapshots
from models.tables import AuditRun, Finding, FindingStatus, Waiver

PURGED = "purged_on"  # evidence key marking a finding whose evidence retention removed
RUN_FOLDER = re.compile(r"^(\d{8}T\d{6}Z)-[0-9a-f]{6}")  # a run id, optionally followed by "-<school>"
ROTATED_LOG = re.compile(re.escape(LOG_FILE) + r"\.(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Cutoffs:
    snapshots: datetime
    evidence: datetime
    reports: datetime
    logs: date

    @classmethod
    def from_policy(cls, policy: Policy, now: datetime, snapshot_days: int | None = None) -> Cutoffs:
        return cls(
            snapshots=now - timedelta(days=snapshot_days or policy.snapshot_retention_days),
            evidence=now - timedelta(days=policy.evidence_retention_days),
            reports=now - timedelta(days=policy.report_retention_days),
            logs=(now - timedelta(days=policy.log_retention_days)).date(),
        )


@dataclass
class PurgePlan:
    cutoffs: Cutoffs
    snapshots: int = 0
    evidence: list[str] = field(default_factory=list)  # fingerprints whose evidence goes
    evidence_rows: int = 0
    report_folders: list[Path] = field(default_factory=list)
    log_files: list[Path] = field(default_factory=list)


def plan_purge(db: Session | None, cutoffs: Cutoffs, report_root: Path, log_dir: Path | None) -> PurgePlan:
    """What the retention periods expire now; `db` None: no database yet, only files are considered."""
    plan = PurgePlan(
        cutoffs=cutoffs,
        log_files=expired_log_files(log_dir, cutoffs.logs) if log_dir is not None else [],
    )
    if db is not None:
        plan.snapshots = count_purgeable_snapshots(db, cutoffs.snapshots)
        plan.evidence, plan.evidence_rows = expired_evidence(db, cutoffs.evidence)
    keep = waived_report_runs(db) if db is not None else set()
    plan.report_folders = expired_report_folders(report_root, cutoffs.reports, keep)
    return plan


@dataclass
class PurgeResult:
    snapshots: int
    participants: int
    evidence_rows: int
    report_folders: int
    log_files: int


def apply_purge(db: Session, plan: PurgePlan, now: datetime) -> PurgeResult:
    """Deletes what `plan` lists; the caller commits (files go first only after the rows are staged)."""
    snapshots, participants = purge_snapshots(db, plan.cutoffs.snapshots)
    evidence_rows = scrub_evidence(db, plan.evidence, now)
    for folder in plan.report_folders:
        shutil.rmtree(folder, ignore_errors=True)
    for log in plan.log_files:
        log.unlink(missing_ok=True)
    return PurgeResult(snapshots, participants, evidence_rows, len(plan.report_folders), len(plan.log_files))


# --- resolved findings' evidence ------------------------------------------------------------------


def expired_evidence(db: Session, cutoff: datetime) -> tuple[list[str], int]:
    """Fingerprints whose newest row is `resolved` in a run before `cutoff`, with unpurged rows left."""
    newest = select(func.max(Finding.id)).group_by(Finding.fingerprint)
    resolved = (
        select(Finding.fingerprint)
        .join(AuditRun, col(AuditRun.id) == Finding.run_id)
        .where(col(Finding.id).in_(newest), Finding.status == FindingStatus.RESOLVED.value)
        .where(AuditRun.started_at < cutoff)
    )
    fingerprints = sorted(set(db.exec(resolved).all()))
    rows = [row for row in _rows_of(db, fingerprints) if PURGED not in (row.evidence or {})]
    return sorted({row.fingerprint for row in rows}), len(rows)


def scrub_evidence(db: Session, fingerprints: list[str], now: datetime) -> int:
    """Every row of each fingerprint loses what names a person; what keys history stays."""
    count = 0
    for row in _rows_of(db, fingerprints):
        if PURGED in (row.evidence or {}):
            continue
        row.evidence = {PURGED: now.date().isoformat()}
        row.message = f"Evidence removed on {now:%Y-%m-%d} under the retention policy (resolved finding)."
        row.subject = ""
        row.handle = None
        row.url = None
        db.add(row)
        count += 1
    return count


def _rows_of(db: Session, fingerprints: list[str]) -> list[Finding]:
    rows: list[Finding] = []
    for start in range(0, len(fingerprints), 500):  # stay under SQLite's bound-parameter limit
        chunk = fingerprints[start : start + 500]
        rows += db.exec(select(Finding).where(col(Finding.fingerprint).in_(chunk))).all()
    return rows


# --- report folders ------------------------------------------------------------------------------


def waived_report_runs(db: Session) -> set[str]:
    """For each waiver still in force, the run whose report it was granted on: the newest run
    holding its finding that started before the waiver was made."""
    today = datetime.now(UTC).date()
    keep: set[str] = set()
    waivers = db.exec(select(Waiver).where(col(Waiver.revoked).is_(False), Waiver.expires_on >= today)).all()
    for waiver in waivers:
        run_id = db.exec(
            select(Finding.run_id)
            .join(AuditRun, col(AuditRun.id) == Finding.run_id)
            .where(Finding.fingerprint == waiver.fingerprint, AuditRun.started_at <= waiver.created_at)
            .order_by(col(AuditRun.started_at).desc())
            .limit(1)
        ).first()
        if run_id is not None:
            keep.add(run_id)
    return keep


def expired_report_folders(report_root: Path, cutoff: datetime, keep_runs: set[str]) -> list[Path]:
    """Run folders (also a principal's `<run>-<school>` copies, and those one level down, such as
    single-account checks) older than `cutoff`. A folder whose name is not a run id is never touched."""
    if not report_root.is_dir():
        return []
    latest = report_root / "latest"
    current = latest.resolve() if latest.is_symlink() or latest.exists() else None
    expired = []
    for folder in _report_folders(report_root):
        match = RUN_FOLDER.match(folder.name)
        if match is None or folder.resolve() == current:
            continue
        run_id = folder.name[: match.end()]
        taken = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if taken < cutoff and run_id not in keep_runs:
            expired.append(folder)
    return sorted(expired)


def _report_folders(report_root: Path) -> list[Path]:
    folders = []
    for entry in report_root.iterdir():
        if entry.is_symlink() or not entry.is_dir():
            continue
        if RUN_FOLDER.match(entry.name):
            folders.append(entry)
        else:  # e.g. checks/<run id>
            folders += [sub for sub in entry.iterdir() if sub.is_dir() and not sub.is_symlink()]
    return folders


# --- logs ----------------------------------------------------------------------------------------


def expired_log_files(log_dir: Path, cutoff: date) -> list[Path]:
    """Rotated `auditor.log.YYYY-MM-DD` files dated before `cutoff`; the current log stays."""
    if not log_dir.is_dir():
        return []
    expired = []
    for entry in log_dir.iterdir():
        match = ROTATED_LOG.match(entry.name)
        if match and entry.is_file() and date.fromisoformat(match.group(1)) < cutoff:
            expired.append(entry)
    return sorted(expired)
