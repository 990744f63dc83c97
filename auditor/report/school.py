"""A school's own report for its principal: only that school's findings and coverage."""

from __future__ import annotations

import copy
from typing import Any

from auditor.report.build import summarize


class UnknownSchool(ValueError):
    """The name matches no school in the report; the message lists the ones that do exist."""


def schools_in(report: dict[str, Any]) -> list[str]:
    names = {f["school"] for f in report["findings"]} | {c["school"] for c in report["coverage"]}
    return sorted((n for n in names if n), key=str.lower)


def resolve_school(report: dict[str, Any], school: str) -> str:
    """The report's spelling of `school`, matched without regard to case or surrounding spaces."""
    wanted = " ".join(school.split()).casefold()
    for name in schools_in(report):
        if " ".join(name.split()).casefold() == wanted:
            return name
    known = ", ".join(schools_in(report)) or "none"
    raise UnknownSchool(f"no school named {school!r} in this report; schools: {known}")


def filter_report_for_school(report: dict[str, Any], school: str) -> dict[str, Any]:
    """A new report dict (the input is not changed) holding only `school`'s findings and coverage.

    The summary is recomputed from the kept findings, so counts, changes and coverage describe that
    school alone; `run.school` names it and `run.accounts_audited` counts its accounts.
    """
    name = resolve_school(report, school)
    findings = [copy.deepcopy(f) for f in report["findings"] if f["school"] == name]
    coverage = [copy.deepcopy(c) for c in report["coverage"] if c["school"] == name]
    run = copy.deepcopy(report["run"])
    run["school"] = name
    run["accounts_audited"] = len(coverage)
    return {
        **{k: copy.deepcopy(v) for k, v in report.items() if k not in ("run", "summary", "coverage", "findings")},
        "run": run,
        "summary": summarize(findings),
        "coverage": coverage,
        "findings": findings,
    }
