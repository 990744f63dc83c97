"""`auditor check --person ID [--departed YYYY-MM-DD]`: a person-centred audit (auditor/person.py).

The person's accounts go through the same pipeline as `auditor check KEY`; the run's report then
gains a `person` section (report.json, report.html), written into the run's own folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from auditor.cli_ops import division_or_exit
from auditor.person import (
    UnknownPerson,
    accounts_of,
    assume_departure,
    display_name,
    find_person,
    person_section,
)
from auditor.report.publish import write_report_files
from auditor.run import EXIT_BAD_INPUT, EXIT_CLEAN
from auditor.settings import Settings
from auditor.store import WHAT_IF_KIND
from models.db import open_store

console = Console(stderr=False)
err = Console(stderr=True)


def check_person(
    division_dir: Path,
    reference: str,
    departed: str | None,
    as_of: datetime | None,
    *,
    execute: Callable[..., Any],
    summarise: Callable[[Any], None],
) -> None:
    """Audit the person's accounts and write the person report; always ends with typer.Exit."""
    division = division_or_exit(division_dir)
    try:
        person = find_person(division.directory(), reference)
    except UnknownPerson as exc:
        err.print(f"--person: {exc}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    clock = as_of or datetime.now(UTC)
    evaluated = division
    if departed is not None:
        try:
            left = date.fromisoformat(departed)
        except ValueError:
            err.print(f"--departed must be a date YYYY-MM-DD, got {departed!r}", markup=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        evaluated = assume_departure(division, person, left, clock.date())
        assert evaluated.assumed is not None
        person = evaluated.assumed
    engine = open_store(Settings())
    entries = accounts_of(evaluated, person.person_id, engine, clock)
    label = f"{display_name(person)} ({person.person_id})"
    # Disabled accounts too, as `check KEY` does: what the platform still shows of them is evidence.
    keys = [e.account.key for e in entries]
    if not keys:  # an empty `only` would mean every account
        console.print(f"{label}: no registered account names this person; nothing to audit.", markup=False)
        raise typer.Exit(EXIT_CLEAN)
    kind = "check" if departed is None else WHAT_IF_KIND
    outcome = execute(division_dir, only=keys, kind=kind, full=False, as_of=clock, loaded=evaluated)
    if outcome.report_folder is not None:
        folder: Path = outcome.report_folder
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        report["person"] = person_section(
            report,
            evaluated,
            person,
            entries,
            engine,
            departed_override=date.fromisoformat(departed) if departed else None,
        )
        write_report_files(report, folder)
        _print_person(report["person"], label)
    summarise(outcome)
    raise typer.Exit(outcome.exit_code)


def _print_person(section: dict[str, Any], label: str) -> None:
    left = section["departure_date"]
    source = " (assumed with --departed)" if section["departure_source"] == "--departed" else ""
    console.print(f"Person: {label}; departure: {left or 'none recorded'}{source}", markup=False)
    table = Table(title="When someone leaves (AP 80-06)", show_header=True)
    for column in ("account", "role", "action", "status", "why"):
        table.add_column(column)
    for account in section["accounts"]:
        for item in account["checklist"] or [{"text": "-", "status": "-", "why": "no action for this role"}]:
            table.add_row(account["account"], ", ".join(account["roles"]), item["text"], item["status"], item["why"])
    console.print(table)
