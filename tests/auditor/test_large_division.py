"""Large divisions (#21): a big directory loads without per-row model validation, and the loaded
people are still complete, storable rows. (The figures are bench/scale_bench.py's; no timed test.)"""

from __future__ import annotations

import csv
import gc
import sys
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from auditor.directory import Directory
from auditor.evaluate import Evaluated
from auditor.inputs import Division, load_division
from auditor.owners import OwnerBook
from auditor.rules.base import RuleResult, load_rules
from auditor.store import replace_inputs
from connectors.registry import ConnectorRegistry
from models.db import init_db, make_engine, session
from models.severity import Severity
from models.tables import Person, PersonIdentity, RegisteredAccount

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


# --- what a large division's run holds in memory (the peak is collection and evaluation) ----------


def _held_bytes(build: Callable[[], object]) -> tuple[int, object]:
    """Bytes still allocated once `build` has returned (its result kept alive)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, kept
    finally:
        tracemalloc.stop()


def test_a_directory_person_is_held_in_about_a_kilobyte(division_dir: Path) -> None:
    """A 150,000-person directory stays resident for the whole run: each row is plain data, without
    the ORM's per-object bookkeeping (it is stored by value)."""
    load_division(division_dir)  # caches and imports warm
    small, _ = _held_bytes(lambda: load_division(division_dir))
    _grow_directory(division_dir)
    large, division = _held_bytes(lambda: load_division(division_dir))
    per_person = (large - small) / EXTRA  # a person, the name strings and a declared identity
    # 2,100 bytes with the ORM's state on every row
    assert per_person < 1300, f"{per_person:.0f} bytes held per directory person"
    assert isinstance(division, Division) and len(division.people) > EXTRA


def test_a_held_finding_costs_little_beyond_its_own_text(tmp_path: Path) -> None:
    """Every account's findings are held until reconcile (100,000 in a large division): their
    owners are shared per account and the result objects carry no per-object dict."""
    people = [
        Person(person_id="E1", role="administrator", school="Hillside", first_name="Ada", last_name="Okafor"),
        Person(person_id="E2", role="staff", school="Hillside", first_name="Ben", last_name="Ng"),
    ]
    directory = Directory(people={p.person_id: p for p in people})
    book = OwnerBook(directory, datetime(2026, 11, 15, tzinfo=UTC), connectors=ConnectorRegistry.installed())
    account = RegisteredAccount(
        key="hs-group", platform="facebook", connector="manual", handle="HillsideGroup", school="Hillside",
        purpose="class families", kind="joint", audience="closed", holders=["E1", "E2"],
    )  # fmt: skip
    meta = load_rules()["non-school-participant"].meta
    count = 2000
    subjects = [f"facebook:9{n:013d}" for n in range(count)]  # the rule's own strings, allocated before

    def held() -> list[Evaluated]:
        results = [
            Evaluated(meta, account, RuleResult(subject, "outsider", {}, "certain"), Severity.HIGH)
            for subject in subjects
        ]
        for item in results:
            book.annotate(item)
        return results

    size, results = _held_bytes(held)
    assert isinstance(results, list) and len(results) == count
    assert [o.get("person_id") for o in results[-1].owners] == ["E1", "E2"]  # still named, each finding
    # the remediation text is the finding's own (it names the participant): stored and reported
    own_text = sum(sys.getsizeof(item.remediation) for item in results)
    per_finding = (size - own_text) / count
    assert per_finding < 400, f"{per_finding:.0f} bytes held per finding beyond its text"  # 800 with copied owners
