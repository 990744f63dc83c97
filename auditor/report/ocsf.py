"""report.json as OCSF Detection Findings (class_uid 2004), for the division's security tooling.

report.json stays the source: this only maps its findings, one OCSF event each, as Prowler emits
them (finding_info.uid the finding's own stable id, metadata.event_code the rule). Nothing is added
that report.json does not show; the evidence (names of people, most of them minors) is left out
entirely: the message says what the breach is and the division's report carries the details.

`auditor report --format ocsf` writes `report.ocsf.json` (a JSON array) beside report.json.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from auditor.report.model import FindingEntry, Report, RunInfo

OCSF_VERSION = "1.5.0"  # the schema version py-ocsf-models validates against (tests)
PRODUCT = "school-social-auditor"
OCSF_FILE = "report.ocsf.json"

CLASS_UID = 2004  # Findings / Detection Finding
CATEGORY_UID = 2
SEVERITY_ID = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_CAPTION = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
# (status_id, status caption, activity_id): the finding's life in OCSF terms.
STATUS = {
    "new": (1, "New", 1),  # Create
    "persisting": (2, "In Progress", 2),  # Update: still open, known since an earlier run
    # The account could not be fully audited: neither confirmed nor resolved, so not "Resolved".
    "unknown": (0, "Unknown", 2),
    "waived": (3, "Suppressed", 2),  # accepted until the waiver's expiry
    "resolved": (4, "Resolved", 3),  # Close
}
ACTIVITY_CAPTION = {1: "Create", 2: "Update", 3: "Close"}
CONFIDENCE_ID = {"certain": 3, "declared": 3, "likely": 2}  # OCSF: 1 Low, 2 Medium, 3 High
CONFIDENCE_CAPTION = {2: "Medium", 3: "High"}


def _epoch_ms(value: str | None) -> int | None:
    return int(datetime.fromisoformat(value).timestamp() * 1000) if value else None


def _utc_z(value: str) -> str:
    """ISO 8601 in UTC with a `Z`, as OCSF consumers and py-ocsf-models write it."""
    return datetime.fromisoformat(value).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _version() -> str:
    try:
        return metadata.version(PRODUCT)
    except metadata.PackageNotFoundError:  # run from a source tree
        return "0"


def ocsf_finding(finding: FindingEntry, run: RunInfo) -> dict[str, Any]:
    """One report.json finding as an OCSF Detection Finding."""
    status_id, status, activity_id = STATUS[finding["status"]]
    severity_id = SEVERITY_ID[finding["severity"]]
    time = _epoch_ms(run["as_of"]) or 0
    details = [f"report.json status: {finding['status']}"]
    if finding.get("regressed"):
        details.append("regressed: it had been resolved")
    if waiver := finding.get("waiver"):
        details.append(f"waived until {waiver['expires_on']}" + (" (expired)" if waiver.get("expired") else ""))
    confidence_id = CONFIDENCE_ID.get(finding.get("confidence") or "", 0)
    event: dict[str, Any] = {
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": ACTIVITY_CAPTION[activity_id],
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": f"Detection Finding: {ACTIVITY_CAPTION[activity_id]}",
        "time": time,
        "time_dt": _utc_z(run["as_of"]),
        "severity_id": severity_id,
        "severity": SEVERITY_CAPTION[severity_id],
        "status_id": status_id,
        "status": status,
        "status_detail": "; ".join(details),
        "message": finding["message"],
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": PRODUCT, "vendor_name": PRODUCT, "version": _version()},
            "event_code": finding["rule"],
            "tenant_uid": run["division"],
            "correlation_uid": run["id"],
        },
        "finding_info": {
            "uid": finding["fingerprint"],
            "title": finding["title"],
            "desc": finding["message"],
            "types": [finding["rule"]],
            "analytic": {"uid": finding["rule"], "name": finding["title"], "type": "Rule", "type_id": 1},
            "first_seen_time": _epoch_ms(finding.get("first_seen")),
            "src_url": finding.get("url"),
        },
        "resources": [
            {
                "uid": finding["account"],
                "name": finding.get("handle") or finding["account"],
                "type": f"{finding['platform']} account",
                "group": {"name": finding["school"]},
                "labels": [finding["platform"]],
            }
        ],
        "remediation": {"desc": finding["remediation"]},
        "unmapped": {"ap_80_06_section": finding["section"]},
    }
    if confidence_id:
        event["confidence_id"] = confidence_id
        event["confidence"] = CONFIDENCE_CAPTION[confidence_id]
    # OCSF leaves out what is unknown rather than sending null.
    event["finding_info"] = {k: v for k, v in event["finding_info"].items() if v is not None}
    return event


def ocsf_findings(report: Report) -> list[dict[str, Any]]:
    return [ocsf_finding(finding, report["run"]) for finding in report["findings"]]


def render_ocsf(report: Report) -> str:
    return json.dumps(ocsf_findings(report), indent=2, ensure_ascii=False) + "\n"
