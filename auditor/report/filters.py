"""`auditor report --severity/--rule/--account`: a report holding only the findings asked for.

The filtered report says so (`run.filters`, a banner in the HTML and Markdown), so that nobody takes
it for the whole run; its summary is recomputed from the findings it keeps.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from fnmatch import fnmatchcase

from auditor.report.build import summarize
from auditor.report.model import FindingLabels, Report
from auditor.report.school import school_spend
from models.tables import Severity


class BadFilter(ValueError):
    """A filter that matches nothing the run knows: the message says what exists."""


@dataclass(frozen=True)
class ReportFilters:
    severity: Severity | None = None  # the minimum
    rules: tuple[str, ...] = ()  # rule ids or globs; any may match
    accounts: tuple[str, ...] = ()  # account keys or globs; any may match

    def __bool__(self) -> bool:
        return self.severity is not None or bool(self.rules) or bool(self.accounts)

    def describe(self) -> str:
        parts = []
        if self.severity is not None:
            parts.append(f"severity {self.severity.value} or above")
        if self.rules:
            parts.append(f"rule {' or '.join(self.rules)}")
        if self.accounts:
            parts.append(f"account {' or '.join(self.accounts)}")
        return "; ".join(parts)

    def slug(self) -> str:
        """A short, stable folder suffix: the same filters re-render into the same folder."""
        return "filtered-" + hashlib.sha256(self.describe().encode()).hexdigest()[:8]

    def keeps(self, finding: FindingLabels) -> bool:
        if self.severity is not None and Severity(finding["severity"]).rank < self.severity.rank:
            return False
        if self.rules and not any(fnmatchcase(finding["rule"], p) for p in self.rules):
            return False
        return not self.accounts or self.matches_account(finding["account"])

    def matches_account(self, key: str) -> bool:
        return any(fnmatchcase(key, p) for p in self.accounts)


def parse_filters(severity: str | None, rules: list[str], accounts: list[str], known_rules: set[str]) -> ReportFilters:
    """Validate the options: an unknown severity or a rule pattern naming no rule is bad input."""
    level = None
    if severity is not None:
        try:
            level = Severity(severity.strip().lower())
        except ValueError:
            raise BadFilter(
                f"--severity {severity!r}: expected one of {', '.join(s.value for s in Severity)}"
            ) from None
    for pattern in rules:
        if not any(fnmatchcase(rule, pattern) for rule in known_rules):
            raise BadFilter(f"--rule {pattern!r} matches no rule (see `auditor rules`)")
    return ReportFilters(level, tuple(rules), tuple(accounts))


def filter_report(report: Report, filters: ReportFilters) -> Report:
    """A new report dict (the input is not changed) with only the findings the filters keep; with
    --account, coverage and account count are those accounts' too."""
    known = {f["account"] for f in report["findings"]} | {c["account"] for c in report["coverage"]}
    for pattern in filters.accounts:
        if not any(fnmatchcase(key, pattern) for key in known):
            raise BadFilter(
                f"--account {pattern!r} matches no account of this run; accounts: {', '.join(sorted(known))}"
            )
    findings = [copy.deepcopy(f) for f in report["findings"] if filters.keeps(f)]
    coverage = [
        copy.deepcopy(c) for c in report["coverage"] if not filters.accounts or filters.matches_account(c["account"])
    ]
    run = copy.deepcopy(report["run"])
    run["filters"] = {  # the schema leaves `filters` open: what was asked, in words and as given
        "severity": filters.severity.value if filters.severity else None,
        "rules": list(filters.rules),
        "accounts": list(filters.accounts),
        "description": filters.describe(),
        "findings_left_out": len(report["findings"]) - len(findings),
    }
    run["accounts_audited"] = len(coverage)
    if filters.accounts:  # these accounts' own requests, never the division's
        run["spend"] = school_spend(run.get("spend") or {}, {c["account"] for c in coverage}, known)
    return {**report, "run": run, "summary": summarize(findings), "coverage": coverage, "findings": findings}
