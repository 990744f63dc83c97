"""report.ocsf.json: report.json's findings as OCSF Detection Findings, validated with py-ocsf-models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from typer.testing import CliRunner

from auditor.cli import app
from auditor.report.ocsf import ocsf_findings
from tests.auditor.report.factory import make_report, validate

runner = CliRunner()


def _dropped(sent: Any, kept: Any, path: str = "") -> list[str]:
    """Fields the OCSF models did not take (pydantic ignores unknown names): a misspelt field."""
    if isinstance(sent, dict):
        missing = [f"{path}.{k}" for k in sent if k not in kept]
        return missing + [p for k in sent if k in kept for p in _dropped(sent[k], kept[k], f"{path}.{k}")]
    if isinstance(sent, list):
        return [p for a, b in zip(sent, kept, strict=True) for p in _dropped(a, b, f"{path}[]")]
    return [] if sent == kept else [f"{path}: {sent!r} became {kept!r}"]


def _validated(events: list[dict[str, Any]]) -> None:
    for event in events:
        model = DetectionFinding.model_validate(event)
        assert _dropped(event, json.loads(model.model_dump_json(exclude_none=True))) == []


def test_every_status_and_severity_maps_to_ocsf_and_validates() -> None:
    report = make_report(60)
    validate(report)
    events = ocsf_findings(report)
    _validated(events)
    assert len(events) == len(report["findings"])
    status = {"new": "New", "persisting": "In Progress", "resolved": "Resolved", "waived": "Suppressed"}
    status_id = {"New": 1, "In Progress": 2, "Resolved": 4, "Suppressed": 3, "Unknown": 0}
    severity_id = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
    for finding, event in zip(report["findings"], events, strict=True):
        assert event["class_uid"] == 2004 and event["category_uid"] == 2
        assert event["type_uid"] == 2004 * 100 + event["activity_id"]
        assert event["severity_id"] == severity_id[finding["severity"]]
        assert event["status"] == status.get(finding["status"], "Unknown")
        assert event["status_id"] == status_id[event["status"]]
        assert event["activity_id"] == {"new": 1, "resolved": 3}.get(finding["status"], 2)
        assert event["finding_info"]["uid"] == finding["fingerprint"]
        assert event["finding_info"]["title"] == finding["title"]
        assert event["metadata"]["event_code"] == finding["rule"]
        assert event["finding_info"]["analytic"]["uid"] == finding["rule"]
        resource = event["resources"][0]
        assert resource["uid"] == finding["account"] and resource["group"]["name"] == finding["school"]
    assert {e["status"] for e in events} == {"New", "In Progress", "Resolved", "Suppressed", "Unknown"}
    assert {e["severity_id"] for e in events} >= {1, 3, 4}


def _strings(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {s for v in value.values() for s in _strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v)}
    return {value} if isinstance(value, str) else set()


def test_no_name_from_the_evidence_leaves_in_the_export() -> None:
    report = make_report(40)
    shown = {s for f in report["findings"] for k, v in f.items() if k != "evidence" for s in _strings(v)}
    evidence = {s for f in report["findings"] for s in _strings(f["evidence"]) if len(s) > 3}
    evidence_only = {s for s in evidence if not any(s in text for text in shown)}
    text = json.dumps(ocsf_findings(report))
    assert evidence_only and not [s for s in evidence_only if json.dumps(s)[1:-1] in text]


def test_auditor_report_format_ocsf_writes_beside_report_json(division_dir: Path, auditor_env: Path) -> None:
    result = runner.invoke(app, ["run", "--division", str(division_dir), "--as-of", "2026-11-15T06:00:00"])
    assert result.exit_code == 1, result.output
    latest = (auditor_env / "reports" / "latest").resolve()
    before = {p.name: p.read_bytes() for p in latest.iterdir()}

    result = runner.invoke(app, ["report", "--format", "ocsf"])
    assert result.exit_code == 0, result.output
    source = json.loads((latest / "report.json").read_text())
    events = json.loads((latest / "report.ocsf.json").read_text())
    _validated(events)
    assert [e["finding_info"]["uid"] for e in events] == [f["fingerprint"] for f in source["findings"]]
    assert {p.name: p.read_bytes() for p in latest.iterdir() if p.name in before} == before  # the source stays
    assert oct((latest / "report.ocsf.json").stat().st_mode & 0o777) == "0o600"
    assert runner.invoke(app, ["report", "--format", "xml"]).exit_code == 2
