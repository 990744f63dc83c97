"""The report's parts as types: what report.json holds (see report.schema.json, which they must agree with).

TypedDicts, not pydantic models: a report of 100,000 findings stays plain dicts at run time (a model
instance per finding cost about 1 KB more each and seconds of validation), while mypy checks the
code that builds and reads them, and pydantic's TypeAdapter validates a report and gives its JSON
schema (tests/auditor/report/test_model.py compares it with report.schema.json).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import (
    Any,
    Literal,
    NotRequired,  # pydantic reads these on Python < 3.12
    get_args,
)

from pydantic import ConfigDict, with_config
from typing_extensions import ReadOnly, TypedDict

from models.severity import Severity

SeverityName = Literal["info", "low", "medium", "high", "critical"]
StatusName = Literal["new", "persisting", "resolved", "unknown", "waived"]
ConfidenceName = Literal["certain", "likely", "declared"]
CoverageState = Literal["complete", "partial", "failed"]
CollectionStateName = Literal["complete", "partial", "failed", "unavailable", "not_supported"]
RunKind = Literal["run", "check", "what-if"]
RunStatus = Literal["running", "complete", "incomplete", "crashed"]

SEVERITIES: list[SeverityName] = ["critical", "high", "medium", "low", "info"]  # most severe first
SEVERITY_RANK: dict[str, int] = {s.value: s.rank for s in Severity}  # higher is more severe


def one_of(value: str, allowed: Any, what: str) -> str:
    """`value` if the Literal `allowed` names it. The store keeps these fields as plain text: they are
    checked here, once, where a report part is built from it, and typed by a cast after this check."""
    if value not in get_args(allowed):
        known = ", ".join(get_args(allowed))
        raise ValueError(f"the store holds {what} {value!r}, which a report cannot say ({known})")
    return value


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
    confidence: ConfidenceName
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
    billable: dict[str, dict[str, int]]
    estimated_cost: float
    by_account: dict[str, Spend]  # each account's own (a school's or a filtered report keeps its accounts')
    shared_requests: int  # a school's report: requests made for many accounts at once, not counted as its own


@with_config(_CLOSED)
class RunInfo(TypedDict):
    id: str
    kind: RunKind
    division: str
    started_at: str
    finished_at: str | None
    as_of: str
    status: RunStatus
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


# What a notification reads (auditor/notify.py, summary.md): the report without each finding's message
# and evidence, which stay in the access-controlled files. ReadOnly, so that a whole Report is one too.
class FindingLabels(TypedDict):
    fingerprint: ReadOnly[str]
    rule: ReadOnly[str]
    title: ReadOnly[str]
    severity: ReadOnly[SeverityName]
    status: ReadOnly[StatusName]
    regressed: NotRequired[ReadOnly[bool]]
    school: ReadOnly[str]
    account: ReadOnly[str]
    handle: ReadOnly[str | None]
    platform: ReadOnly[str]
    waiver: ReadOnly[WaiverEntry | None]


class ReportLabels(TypedDict):
    """A report as the notifications read it: a full Report, or a finishing run's notice (publish.Published)."""

    run: ReadOnly[RunInfo]
    summary: ReadOnly[Summary]
    coverage: ReadOnly[list[CoverageEntry]]
    findings: ReadOnly[Sequence[FindingLabels]]
