"""The summary's list of people whose departure still has open consequences, grouped by person.

A finding belongs to a departed person when it names them (its subject, or `person_id` in its
evidence) and they have left: as the rule saw them (the evidence's `status` / `departure_date`, so a
`check --person --departed` run lists its assumed departure), else as the stored directory says.
People are named (staff names, from the directory) and never by id alone; students never appear.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from auditor.person import display_name, has_left
from models.severity import OPEN_STATUSES
from models.tables import Person


def _left(evidence: dict[str, Any], person: Person, on: date) -> bool:
    if "status" in evidence and evidence.get("person_id") == person.person_id:
        departure = evidence.get("departure_date")
        return evidence["status"] == "departed" or (departure is not None and date.fromisoformat(departure) <= on)
    return has_left(person, on)


def departures(db: Session, findings: list[dict[str, Any]], as_of: datetime) -> list[dict[str, Any]]:
    people: dict[str, dict[str, Any]] = {}
    for finding in findings:
        if finding["status"] not in OPEN_STATUSES:
            continue
        evidence = finding.get("evidence") or {}
        person_id = evidence.get("person_id") or finding["subject"]
        person = db.get(Person, person_id) if isinstance(person_id, str) else None
        if person is None or person.role == "student" or not _left(evidence, person, as_of.date()):
            continue
        entry = people.setdefault(
            person.person_id,
            {
                "person_id": person.person_id,
                "name": display_name(person),
                "departure_date": evidence.get("departure_date")
                or (person.departure_date.isoformat() if person.departure_date else None),
                "accounts": {},
            },
        )
        account = entry["accounts"].setdefault(
            finding["account"],
            {"account": finding["account"], "handle": finding["handle"], "school": finding["school"], "findings": []},
        )
        account["findings"].append(
            {
                "fingerprint": finding["fingerprint"],
                "rule": finding["rule"],
                "title": finding["title"],
                "severity": finding["severity"],
                "status": finding["status"],
            }
        )
    ordered = sorted(people.values(), key=lambda p: (p["name"].casefold(), p["person_id"]))
    return [{**p, "accounts": sorted(p["accounts"].values(), key=lambda a: a["account"])} for p in ordered]
