"""A school's own report for its principal: only that school's findings and coverage."""

from __future__ import annotations

import copy

from auditor.report.build import report_of, summarize
from auditor.report.model import Departure, Report, Spend


class UnknownSchool(ValueError):
    """The name matches no school in the report; the message lists the ones that do exist."""


def schools_in(report: Report) -> list[str]:
    names = {f["school"] for f in report["findings"]} | {c["school"] for c in report["coverage"]}
    return sorted((n for n in names if n), key=str.lower)


def resolve_school(report: Report, school: str) -> str:
    """The report's spelling of `school`, matched without regard to case or surrounding spaces."""
    wanted = " ".join(school.split()).casefold()
    for name in schools_in(report):
        if " ".join(name.split()).casefold() == wanted:
            return name
    known = ", ".join(schools_in(report)) or "none"
    raise UnknownSchool(f"no school named {school!r} in this report; schools: {known}")


def filter_report_for_school(report: Report, school: str) -> Report:
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
    run["spend"] = school_spend(
        run.get("spend") or {}, {c["account"] for c in coverage}, {c["account"] for c in report["coverage"]}
    )
    summary = summarize(findings)
    summary["departures"] = school_departures(report, name)
    return report_of(report, run, summary, coverage, findings)


def school_departures(report: Report, school: str) -> list[Departure]:
    """The summary's departed people, each with only this school's accounts; none left: not listed."""
    kept = []
    for person in report["summary"].get("departures") or []:
        accounts = [copy.deepcopy(a) for a in person["accounts"] if a["school"] == school]
        if accounts:
            entry = copy.deepcopy(person)
            entry["accounts"] = accounts
            kept.append(entry)
    return kept


def school_spend(spend: Spend, mine: set[str], every_account: set[str]) -> Spend:
    """What the school's own accounts spent; requests shared by many accounts (batched lookups,
    searches across accounts) are counted apart, never as the school's, and other schools' never.
    A run stored before spend was kept per account gives nothing rather than the division's."""
    by_account = spend.get("by_account") or {}
    own = {key: value for key, value in by_account.items() if key in mine}
    shared = [value for key, value in by_account.items() if key not in every_account]
    requests: dict[str, dict[str, int]] = {}
    units: dict[str, int] = {}
    billable: dict[str, dict[str, int]] = {}
    for value in own.values():
        _add_nested(requests, value.get("requests") or {})
        _add_nested(billable, value.get("billable") or {})
        for platform, count in (value.get("units") or {}).items():
            units[platform] = units.get(platform, 0) + count
    return {
        "requests": requests,
        "units": units,
        "billable": billable,
        "estimated_cost": round(sum(v.get("estimated_cost", 0.0) for v in own.values()), 4),
        "by_account": own,
        "shared_requests": sum(sum(e.values()) for v in shared for e in (v.get("requests") or {}).values()),
    }


def _add_nested(total: dict[str, dict[str, int]], counts: dict[str, dict[str, int]]) -> None:
    for platform, endpoints in counts.items():
        into = total.setdefault(platform, {})
        for endpoint, count in endpoints.items():
            into[endpoint] = into.get(endpoint, 0) + count
