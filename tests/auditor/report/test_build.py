"""report.json's data built from the store (auditor/report/build.py): bounded memory at scale (#21)."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from auditor.report.publish import report_for_run
from models.db import init_db, make_engine, session
from models.tables import AuditRun, Finding

OWNERS = [{"person_id": f"E{n:07d}", "name": f"Principal Number {n}", "role": "principal"} for n in range(8)]
CLAUSE = "No less than two staff members should have administrative access to a given account or site. " * 3


def _store_findings(path: Path, count: int) -> tuple[object, str]:
    """`count` findings of one account, as a run of the bench division stores them: each names the
    same owners and quotes the same clause and remediation; subject, message and evidence are its own."""
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    now = datetime(2026, 11, 29, 6, tzinfo=UTC)
    rows = [
        dict(
            run_id="r1", fingerprint=f"fp-{n:06d}", rule_id="non-school-participant", account_key="group-0001",
            platform="facebook", school="Ashton Elementary School", handle="SchoolGroup0001",
            subject=f"facebook:id:9{n:013d}",
            severity="high", confidence="certain", section="Online Interactions", clause=CLAUSE,
            title="Participant outside the school body in a closed group",
            message=f"Stranger {n} is not in the directory",
            evidence={"identity": f"Stranger {n}", "platform_id": f"9{n:013d}", "match_method": "none",
                      "match_score": 0.0, "reason": "not matched to anyone in the directory",
                      "audience_declared": "closed", "audience_observed": "closed"},
            remediation="Remove the participant from the closed group, or record why they belong to it.",
            owners=OWNERS, status="new", regressed=False, first_seen_run="r1", first_seen_at=now, last_seen_run="r1",
        )
        for n in range(count)
    ]  # fmt: skip
    with session(engine) as db:
        db.add(AuditRun(id="r1", started_at=now, as_of=now, division="Bench", status="complete", exit_code=1))
        db.commit()
        db.execute(insert(Finding), rows)
        db.commit()
    return engine, "r1"


def test_a_report_holds_what_its_findings_share_once(tmp_path: Path) -> None:
    """100,000 findings must be reported within 1 GB: each finding costs its own text, not one more
    copy of its account's owners, its rule's clause and remediation and the run ids (the bench
    division's report took 940 MB, 290 MB of it owners)."""
    engine, run_id = _store_findings(tmp_path / "auditor.db", 2000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        report = report_for_run(engine, run_id)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    findings = report["findings"]
    assert len(findings) == 2000
    assert findings[1999]["owners"] == OWNERS and findings[0]["clause"] == CLAUSE  # the data is whole
    assert findings[5]["evidence"]["identity"] == "Stranger 5"
    assert (
        held / len(findings) < 4_000
    )  # (7,600 before: a copy of everything per finding), f"{held / len(findings):,.0f} bytes a finding"
