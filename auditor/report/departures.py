"""The summary's list of people whose departure still has open consequences, grouped by person.

A finding belongs to a departed person when it names them (its subject, or `person_id` in its
evidence) and they have left: as the rule saw them (the evidence's `status` / `departure_date`, so a
`check --person --departed` run lists its assumed departure), else as the stored directory says.
People are named (staff names, from the directory) and never by id alone; students never appear.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from auditor.person import display_name, has_left
from auditor.report.model import Departure, DepartureAccount, FindingEntry
from models.severity import OPEN_STATUSES
from models.tables import Person


def _left(evidence: dict[str, Any], person: Person, on: date) -> bool:
    if "status" in evidence and evidence.get("person_id") == person.person_id:
        departure = evidence.get("departure_date")
        return evidence["status"] == "departed" or (departure is not None and date.fromisoformat(departure) <= on)
    return has_left(person, on)


class _Person:
    """A departed person as found: their accounts by key, each with its findings, until sorted."""

    def __init__(self, person_id: str, name: str, departure_date: str | None) -> None:
        self.person_id, self.name, self.departure_date = person_id, name, departure_date
        self.accounts: dict[str, DepartureAccount] = {}

    def entry(self) -> Departure:
        return {
            "person_id": self.person_id,
            "name": self.name,
            "departure_date": self.departure_date,
            "accounts": sorted(self.accounts.values(), key=lambda a: a["account"]),
        }


def departures(db: Session, findings: Sequence[FindingEntry], as_of: datetime) -> list[Departure]:
    people: dict[str, _Person] = {}
    for finding in findings:
        if finding["status"] not in OPEN_STATUSES:
            continue
        evidence = finding.get("evidence") or {}
        person_id = evidence.get("person_id") or finding["subject"]
        person = db.get(Person, person_id) if isinstance(person_id, str) else None
        if person is None or person.role == "student" or not _left(evidence, person, as_of.date()):
            continue
        entry = people.get(person.person_id)
        if entry is None:
            departure = evidence.get("departure_date") or (
                person.departure_date.isoformat() if person.departure_date else None
            )
            entry = people[person.person_id] = _Person(person.person_id, display_name(person), departure)
        account = entry.accounts.setdefault(
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
    ordered = sorted(people.values(), key=lambda p: (p.name.casefold(), p.person_id))
    return [p.entry() for p in ordered]
