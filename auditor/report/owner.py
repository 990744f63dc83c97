"""One owner's report (`auditor report --owner PERSON_ID`): only the findings that person must act on."""

from __future__ import annotations

import copy

from auditor.report.build import report_of, summarize
from auditor.report.model import Report

ITS = "its"  # ITS is an owner without a person id: `--owner its`


class UnknownOwner(ValueError):
    """The id owns nothing in the report; the message names the owners that do exist."""


def owners_in(report: Report) -> dict[str, str]:
    """Owner key (person id, or `its`) -> `Name (ID)`, for every owner the report names."""
    found: dict[str, str] = {}
    for finding in report["findings"]:
        for owner in finding.get("owners") or []:
            person_id = owner.get("person_id")
            key = person_id or ITS
            found.setdefault(key, f"{owner.get('name')} ({person_id})" if person_id else str(owner.get("name")))
    return found


def filter_report_for_owner(report: Report, owner: str) -> Report:
    """A new report dict holding only `owner`'s findings, and coverage of the accounts they concern."""
    wanted = owner.strip()
    known = owners_in(report)
    key = next((k for k in known if k.casefold() == wanted.casefold()), None)
    if key is None:
        names = "; ".join(sorted(known.values(), key=str.lower)) or "none"
        raise UnknownOwner(f"no finding in this report is owned by {owner!r}; owners: {names}")
    findings = [
        copy.deepcopy(f)
        for f in report["findings"]
        if any((o.get("person_id") or ITS) == key for o in f.get("owners") or [])
    ]
    accounts = {f["account"] for f in findings}
    coverage = [copy.deepcopy(c) for c in report["coverage"] if c["account"] in accounts]
    run = copy.deepcopy(report["run"])
    run["owner"] = known[key]
    run["accounts_audited"] = len(coverage)
    return report_of(report, run, summarize(findings), coverage, findings)
