"""Large divisions (#21): a big directory loads without per-row model validation, and the loaded
people are still complete, storable rows. (The figures are bench/scale_bench.py's; no timed test.)"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlmodel import select

from auditor.inputs import load_division
from auditor.store import replace_inputs
from models.db import init_db, make_engine, session
from models.tables import Person, PersonIdentity

EXTRA = 2000


def _grow_directory(division_dir: Path) -> None:
    """Append EXTRA students (a declared Facebook id each) to the demo's SIS export."""
    with open(division_dir / "directory" / "students.csv", "a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for n in range(EXTRA):
            writer.writerow(
                [f"39{n:07d}", "student", "Hillside High School", f"First{n}", f"Last{n}", "", "active", "",
                 f"facebook:{71550000000000 + n}"]
            )  # fmt: skip


def test_a_large_directory_loads_without_validating_each_row(
    division_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _grow_directory(division_dir)
    validated: list[str] = []
    for table in (Person, PersonIdentity):
        original = table.__init__

        def counting(self: object, *args: object, __original=original, __table=table, **kwargs: object) -> None:  # type: ignore[no-untyped-def]
            validated.append(__table.__name__)
            __original(self, *args, **kwargs)

        monkeypatch.setattr(table, "__init__", counting)

    division = load_division(division_dir)

    assert validated == []  # the loader checked every value itself: no SQLModel validation per row
    people = {p.person_id: p for p in division.people}
    assert people["390001999"].full_name == "First1999 Last1999"
    assert division.directory().declared_person("facebook", "71550000001999") == "390001999"
    # the rows are real table objects: stored and read back like any other
    engine = make_engine(f"sqlite:///{tmp_path / 'auditor.db'}")
    init_db(engine)
    with session(engine) as db:
        replace_inputs(db, division)
        db.commit()
        stored = db.exec(select(Person).where(Person.person_id == "390000007")).one()
        assert (stored.first_name, stored.role, stored.status) == ("First7", "student", "active")
        assert len(db.exec(select(PersonIdentity)).all()) == len(division.identities)


def test_a_run_with_more_fingerprints_than_sqlite_takes_variables_finds_the_resolved_ones(tmp_path: Path) -> None:
    """A division of 1,000 accounts evaluates more results than one SQLite statement takes
    variables: the run crashed ("too many SQL variables") after collecting everything."""
    from datetime import UTC, datetime

    from auditor.store import ever_resolved
    from models.tables import AuditRun, Finding

    engine = make_engine(f"sqlite:///{tmp_path / 'auditor.db'}")
    init_db(engine)
    now = datetime(2026, 11, 29, tzinfo=UTC)
    with session(engine) as db:
        db.add(AuditRun(id="r1", started_at=now, as_of=now))
        db.add(
            Finding(
                run_id="r1", fingerprint="fp-fixed", rule_id="r", account_key="a", subject="s", severity="high",
                confidence="certain", section="x", title="t", message="m", status="resolved",
                first_seen_run="r1", first_seen_at=now, last_seen_run="r1",
            )
        )  # fmt: skip
        db.commit()
        fingerprints = [f"fp-{n:06d}" for n in range(260_000)] + ["fp-fixed"]
        assert ever_resolved(db, fingerprints) == {"fp-fixed"}
