"""The report's parts as types: what report.json holds (see report.schema.json, which they must agree with).

TypedDicts, not pydantic models: a report of 100,000 findings stays plain dicts at run time (a model
instance per finding cost about 1 KB more each and seconds of validation), while mypy checks the
code that builds and reads them, and pydantic's TypeAdapter validates a report and gives its JSON
schema (tests/auditor/report/test_model.py compares it with report.schema.json).
"""

from __future__ import annotations

from typing import (
    Any,
    Literal,
    NotRequired,  # pydantic reads these on Python < 3.12
)

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

SeverityName = Literal["info", "low", "medium", "high", "critical"]
StatusName = Literal["new", "persisting", "resolved", "unknown", "waived"]
CoverageState = Literal["complete", "partial", "failed"]
CollectionStateName = Literal["complete", "partial", "failed", "unavailable", "not_supported"]
_CLOSED = ConfigDict(extra="forbid")  # the schema's additionalProperties: false
_OPEN = ConfigDict(extra="allow")  # said of each open part: pydantic would pass the closed one down


@with_config(_CLOSED)
class Owner(TypedDict):
    """Who must act on a finding: a holder, an admin, the school's principal, or ITS (no person id)."""

    person_id: NotRequired[str]
    name: str
    role: Literal["holder", "admin", "principal", "its"]


@with_config(_OPEN)
class WaiverEntry(TypedDict):
    source: NotRequired[str]  # `auditor waive`, or the waivers.yaml entry ("waivers.yaml:12")
    reason: str
    approver: str
    expires_on: str
    expired: bool
    expiring_soon: bool


@with_config(_CLOSED)
class FindingEntry(TypedDict):
    fingerprint: str
    rule: str
    title: str
    account: str
    platform: str
    school: str
    handle: str | None
    severity: SeverityName
    confidence: Literal["certain", "likely", "declared"]
    section: str
    clause: str
    subject: str
    message: str
    evidence: dict[str, Any]
    remediation: str
    owners: NotRequired[list[Owner]]
    status: StatusName
    regressed: NotRequired[bool]
    first_seen: str
    first_seen_run: str
    last_seen_run: str
    url: str | None
    waiver: WaiverEntry | None


@with_config(_OPEN)
class CollectionEntry(TypedDict):
    state: CollectionStateName
    reason: NotRequired[str | None]
    error: NotRequired[str | None]
    retry_after: NotRequired[str | None]


@with_config(_CLOSED)
class CoverageEntry(TypedDict):
    account: str
    platform: str
    school: str
    handle: NotRequired[str | None]
    state: CoverageState
    last_full_reconciliation: NotRequired[str | None]
    audience_declared: NotRequired[str | None]
    audience_observed: NotRequired[str | None]
    collections: dict[str, CollectionEntry]


@with_config(_OPEN)
class Changes(TypedDict):
    new: int
    resolved: int
    regressed: int


@with_config(_OPEN)
class FindingRef(TypedDict):
    fingerprint: str
    rule: str
    title: str
    severity: SeverityName
    status: StatusName


@with_config(_CLOSED)
class DepartureAccount(TypedDict):
    account: str
    handle: str | None
    school: str
    findings: list[FindingRef]


@with_config(_CLOSED)
class Departure(TypedDict):
    person_id: str
    name: str
    departure_date: str | None
    accounts: list[DepartureAccount]


@with_config(_OPEN)
class Summary(TypedDict):
    by_severity: dict[str, int]
    by_rule: dict[str, int]
    by_status: dict[str, int]
    changes: Changes
    departures: NotRequired[list[Departure]]


@with_config(_OPEN)
class Spend(TypedDict, total=False):
    requests: dict[str, dict[str, int]]
    units: dict[str, int]
    estimated_cost: float


@with_config(_CLOSED)
class RunInfo(TypedDict):
    id: str
    kind: Literal["run", "check", "what-if"]
    division: str
    started_at: str
    finished_at: str | None
    as_of: str
    status: Literal["running", "complete", "incomplete", "crashed"]
    exit_code: int | None
    accounts_audited: int
    previous_run: str | None
    fail_threshold: SeverityName
    policy_digest: str
    school: NotRequired[str | None]
    filters: NotRequired[dict[str, Any] | None]
    owner: NotRequired[str | None]
    scope: NotRequired[str]
    spend: Spend


@with_config(_CLOSED)
class Report(TypedDict):
    """report.json. `person` is `auditor check --person`'s section (auditor/person.py)."""

    schema_version: Literal[1]
    run: RunInfo
    summary: Summary
    coverage: list[CoverageEntry]
    findings: list[FindingEntry]
    person: NotRequired[dict[str, Any]]
