"""summary.md: a short Markdown summary of a report for e-mail bodies and chat.

It names accounts and rules, never a finding's message or evidence: those can name students and
stay in report.html, which is access-controlled.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from auditor.report.html import SEVERITIES, SEVERITY_RANK
from auditor.report.publish import atomic_write
from auditor.report.safe_text import display_line
from models.severity import OPEN_STATUSES

TOP_NEW = 10
# Values never start a line, and with [ and ] escaped no link can form: these are the only specials left.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def md_escape(text: Any) -> str:
    """Report data is plain text: a handle like `_x_` must not turn into italics or a link, a bidi
    override must show as `<U+202E>` and a huge name is cut (safe_text.display_line)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", display_line(text))


def render_summary_md(report: dict[str, Any], *, top: int = TOP_NEW) -> str:
    lines = _heading(report)
    lines += _changes(report)
    lines += _open_counts(report)
    lines += _departures(report)
    lines += _coverage(report)
    lines += _waivers(report)
    lines += _top_new(report, top)
    lines += ["", "Full details, evidence and AP 80-06 clauses: report.html (beside report.json)."]
    return "\n".join(lines).rstrip() + "\n"


def write_summary_md(report: dict[str, Any], folder: Path) -> Path:
    path = folder / "summary.md"
    atomic_write(path, render_summary_md(report))
    return path


def open_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["status"] in OPEN_STATUSES]


def _heading(report: dict[str, Any]) -> list[str]:
    run = report["run"]
    scope = f" — {md_escape(run['school'])}" if run.get("school") else ""
    status = run["status"]
    state = "complete" if status == "complete" else f"**{status}** (not every account was fully audited)"
    lines = [
        f"# AP 80-06 social media audit: {md_escape(run['division'])}{scope}",
        "",
        f"Run `{run['id']}` as of {run['as_of'][:16].replace('T', ' ')} UTC, {state}; "
        f"{run['accounts_audited']} accounts audited.",
    ]
    if run.get("kind") == "check":
        scope = run.get("scope") or "single-account check (auditor check), not the nightly division run"
        lines += ["", f"**Scope:** {md_escape(scope[:1].upper() + scope[1:])}."]
    if run.get("filters"):
        left_out = run["filters"]["findings_left_out"]
        lines += [
            "",
            f"**Filtered:** only findings with {md_escape(run['filters']['description'])}; "
            f"{left_out} other finding{'' if left_out == 1 else 's'} of this run left out.",
        ]
    return lines


def _changes(report: dict[str, Any]) -> list[str]:
    changes = report["summary"]["changes"]
    previous = report["run"].get("previous_run")
    since = f"since run `{previous}`" if previous else "(first run: everything is new)"
    return [
        "",
        f"## Changes {since}",
        "",
        f"- New: {changes['new']}",
        f"- Resolved: {changes['resolved']}",
        f"- Regressed (resolved before, found again): {changes['regressed']}",
    ]


def _open_counts(report: dict[str, Any]) -> list[str]:
    by_severity = report["summary"]["by_severity"]
    total = sum(by_severity.values())
    lines = ["", f"## Open findings: {total}"]
    if not total:
        return [*lines, "", "No open findings among the accounts audited."]
    lines += ["", "| Severity | Open |", "|---|---:|"]
    lines += [f"| {s} | {by_severity[s]} |" for s in SEVERITIES if by_severity.get(s)]
    titles = {f["rule"]: f["title"] for f in report["findings"]}
    lines += ["", "By rule:", ""]
    lines += [
        f"- `{rule}` ({md_escape(titles.get(rule, ''))}): {count}"
        for rule, count in sorted(report["summary"]["by_rule"].items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return lines


def _departures(report: dict[str, Any]) -> list[str]:
    """People who left whose departure still has open findings: staff names, accounts and rules only."""
    people = report["summary"].get("departures") or []
    if not people:
        return []
    lines = ["", f"## People who left with open consequences: {len(people)}", ""]
    for person in people:
        left = f", left {person['departure_date']}" if person.get("departure_date") else ""
        accounts = "; ".join(
            f"{md_escape(a.get('handle') or a['account'])} ({', '.join('`' + f['rule'] + '`' for f in a['findings'])})"
            for a in person["accounts"]
        )
        lines.append(f"- **{md_escape(person['name'])}** ({md_escape(person['person_id'])}){left}: {accounts}")
    return lines


def _coverage(report: dict[str, Any]) -> list[str]:
    coverage = report["coverage"]
    problems = [c for c in coverage if c["state"] != "complete"]
    lines = ["", "## Coverage", ""]
    if not coverage:
        return [*lines, "**No account was audited**: an empty report does not mean compliance."]
    if not problems:
        return [*lines, f"All {len(coverage)} accounts were fully audited."]
    lines.append(
        f"**{len(problems)} of {len(coverage)} accounts were not fully audited**; findings may be missing for them:"
    )
    lines.append("")
    for c in problems:
        gaps = "; ".join(
            _gap_text(name, status)
            for name, status in sorted(c["collections"].items())
            if status.get("state") != "complete"
        )
        label = md_escape(c.get("handle") or c["account"])
        lines.append(
            f"- {label} ({md_escape(c['account'])}, {md_escape(c['platform'])}, {md_escape(c['school'])}): "
            f"{c['state']} — {gaps or 'no detail recorded'}"
        )
    return lines


def _gap_text(name: str, status: dict[str, Any]) -> str:
    text = f"{name} {status['state'].replace('_', ' ')}"
    if status.get("reason"):
        text += f" ({md_escape(status['reason'])})"
    if status.get("retry_after"):
        text += f", retry after {md_escape(status['retry_after'])}"
    return text


def _waivers(report: dict[str, Any]) -> list[str]:
    waivers = [f["waiver"] for f in report["findings"] if f.get("waiver")]
    soon = sum(1 for w in waivers if w["expiring_soon"] and not w["expired"])
    expired = sum(1 for w in waivers if w["expired"])
    if not soon and not expired:
        return []
    lines = ["", "## Waivers", ""]
    if soon:
        lines.append(f"- {soon} waiver{'s' if soon != 1 else ''} expire within 14 days")
    if expired:
        lines.append(f"- {expired} waiver{'s' if expired != 1 else ''} expired: those findings count again")
    return lines


def _top_new(report: dict[str, Any], top: int) -> list[str]:
    new = [f for f in report["findings"] if f["status"] == "new"]
    if not new:
        return []
    return ["", f"## New findings ({len(new)})", "", *finding_lines(new, top)]


def finding_lines(findings: list[dict[str, Any]], limit: int) -> list[str]:
    """One Markdown bullet per finding, most severe first: severity, rule title, account, school."""
    ordered = sorted(
        findings, key=lambda f: (-SEVERITY_RANK.get(f["severity"], 0), f["school"], f["account"], f["rule"])
    )
    lines = []
    for f in ordered[:limit]:
        label = md_escape(f.get("handle") or f["account"])
        flag = " (regressed)" if f.get("regressed") else ""
        lines.append(
            f"- **{f['severity'].upper()}** {md_escape(f['title'])}: {label} "
            f"({md_escape(f['platform'])}, {md_escape(f['school'])}){flag}"
        )
    if len(ordered) > limit:
        lines.append(f"- … and {len(ordered) - limit} more in report.html")
    return lines
