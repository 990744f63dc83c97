"""The store: SQLModel tables for inputs, runs, snapshots, findings and waivers."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.severity import FindingStatus, Severity  # noqa: F401  (they were defined here: kept importable)

RowT = TypeVar("RowT", bound=SQLModel)


def checked_row(table: type[RowT], *, session_ready: bool = True, **values: Any) -> RowT:
    """A table object from values its loader has already checked, without SQLModel's per-field
    validation (ten times the cost): a 150,000-person directory is built this way in seconds.
    Give it every field. `session_ready`: a full ORM object (it can be added to a session, its
    attributes set); False: read-only data without SQLAlchemy's per-object state (about 600 bytes,
    125 MB of a 150,000-person directory), for rows stored by value (`store.replace_inputs`)."""
    row: RowT = table.model_construct(**values)  # type: ignore[assignment]
    # Every field is set: all rows of a table share one "fields set" (pydantic only ever adds to it
    # a name it already holds) instead of a set each, a third of a directory row's memory.
    object.__setattr__(row, "__pydantic_fields_set__", _all_fields(table))
    if session_ready:
        table._sa_class_manager._new_state_if_none(row)  # type: ignore[attr-defined]
    return row


@cache
def _all_fields(table: type[SQLModel]) -> set[str]:
    return set(table.model_fields)


def _json_column() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def _json_dict_column() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# --- inputs ---------------------------------------------------------------------------------


class RegisteredAccount(SQLModel, table=True):
    """One Form 8-06 registration."""

    __tablename__ = "registered_account"

    key: str = Field(primary_key=True)
    platform: str
    connector: str  # which connector audits it (defaults to the platform; `manual` for exports)
    handle: str | None = None
    platform_id: str | None = None
    school: str
    purpose: str
    activity: str | None = None
    kind: str  # individual | joint
    audience: str  # public | closed
    holders: list[str] = _json_column()
    declared_admins: list[str] = _json_column()
    its_admin: str | None = None  # the ITS administrator's handle or id on that platform
    reviewed_by: str | None = None
    reviewed_on: date | None = None
    approved_by: str | None = None  # platform approval, for platforms not approved by default
    approved_on: date | None = None
    password_reset_on: date | None = None
    status: str = "active"  # active | disabled
    export: str | None = None  # manual connector: path of the ITS export (CSV)
    source: str = ""  # file:line the registration came from, for messages


class Person(SQLModel, table=True):
    """A directory person (HR or SIS export)."""

    person_id: str = Field(primary_key=True)
    role: str
    school: str | None = None
    first_name: str = ""
    last_name: str = ""
    preferred_name: str | None = None
    status: str = "active"  # active | departed | inactive
    departure_date: date | None = None

    @property
    def full_name(self) -> str:
        return f"{self.preferred_name or self.first_name} {self.last_name}".strip()


class PersonIdentity(SQLModel, table=True):
    """A platform handle or id the directory declares for a person."""

    __tablename__ = "person_identity"
    __table_args__ = (UniqueConstraint("platform", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: str = Field(foreign_key="person.person_id", index=True)
    platform: str
    value: str  # a handle (without @, lower case) or a platform id


class Activity(SQLModel, table=True):
    activity_id: str = Field(primary_key=True)
    school: str | None = None
    name: str
    sponsors: list[str] = _json_column()
    hashtags: list[str] = _json_column()
    keywords: list[str] = _json_column()
    accounts: list[str] = _json_column()


# --- runs -----------------------------------------------------------------------------------


class AuditRun(SQLModel, table=True):
    __tablename__ = "audit_run"

    id: str = Field(primary_key=True)  # sortable: 20261129T020000Z-abcdef
    started_at: datetime
    finished_at: datetime | None = None
    as_of: datetime  # the run's clock: every rule sees this, never the wall clock
    kind: str = "run"  # run | check
    status: str = "running"  # running | complete | incomplete | crashed
    accounts: list[str] = _json_column()
    exit_code: int | None = None
    policy_digest: str = ""
    division: str = ""  # as the policy named it at run time, so a re-render is identical
    fail_threshold: str = "high"
    spend: dict[str, Any] = _json_dict_column()


class Snapshot(SQLModel, table=True):
    __table_args__ = (Index("ix_snapshot_account_run", "account_key", "run_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="audit_run.id", index=True)
    account_key: str
    platform: str
    taken_at: datetime
    state: str  # complete | partial | failed: the worst collection state
    data: dict[str, Any] = _json_dict_column()  # AccountSnapshot without participants


class Participant(SQLModel, table=True):
    """Participants are the bulk of a snapshot: written with one executemany, never row by row."""

    id: int | None = Field(default=None, primary_key=True)
    snapshot_id: int = Field(foreign_key="snapshot.id", index=True)
    platform_id: str | None = None
    handle: str | None = None
    display_name: str | None = None


class Finding(SQLModel, table=True):
    """One rule result for one subject in one run. History keys on `fingerprint`."""

    __table_args__ = (UniqueConstraint("run_id", "fingerprint"), Index("ix_finding_fingerprint", "fingerprint"))

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="audit_run.id", index=True)
    fingerprint: str
    rule_id: str
    account_key: str
    subject: str
    severity: str
    confidence: str  # certain | likely | declared
    section: str
    title: str
    message: str
    evidence: dict[str, Any] = _json_dict_column()
    status: str  # FindingStatus
    regressed: bool = False  # was resolved in an earlier run and is back
    # Copies of what the report shows, so that a re-render is identical even after the registry
    # or the rule text changes.
    platform: str = ""
    school: str = ""
    handle: str | None = None
    url: str | None = None
    clause: str = ""
    remediation: str = ""
    # Who must act: [{"person_id", "name", "role"}] (ITS: {"name": "ITS", "role": "its"}), named as
    # the directory had them at run time.
    owners: list[dict[str, str]] = _json_column()
    first_seen_run: str
    first_seen_at: datetime
    last_seen_run: str


class Waiver(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(index=True)
    reason: str
    approver: str
    expires_on: date
    created_at: datetime
    revoked: bool = False
    # Revoking keeps the row (`auditor unwaive`): who took the waiver back, when and why.
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None


class PatternWaiver(SQLModel, table=True):
    """An entry of the division's reviewed waivers.yaml, as of the latest run that loaded it.

    Replaced wholesale with the other inputs, so that removing an entry from the file ends it; the
    report re-renders from here without the division folder.
    """

    __tablename__ = "pattern_waiver"

    id: int | None = Field(default=None, primary_key=True)
    rule: str
    account: str  # an account key or a glob over account keys
    subject: str = "*"  # a glob over the finding's subject
    reason: str
    approver: str
    expires_on: date
    source: str  # "waivers.yaml:12": the report names the entry that waived each finding
