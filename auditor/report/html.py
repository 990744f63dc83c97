"""report.html: one self-contained page ITS staff read, rendered from report.json's data.

The page makes no request of any kind: CSS and JS are inline, a Content-Security-Policy meta tag
forbids everything else (scripts and styles are allowed only by their SHA-256 hash), and the
favicon is an empty data: URL so the browser does not fetch one. Every value from the report goes
through jinja2's autoescape; links to platform content are kept only when they are http(s).

The findings themselves (list, act-first items, waived list) are not markup: they are embedded as
JSON (`script_text`, escaped for a script context) and report.js builds one page of them at a time
with textContent only. 100,000 findings as markup were 1.76 M elements and took 49 s to open.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from auditor.report.publish import atomic_write
from auditor.report.safe_text import display_tree
from models.severity import OPEN_STATUSES

SEVERITIES = ["critical", "high", "medium", "low", "info"]  # most severe first
SEVERITY_RANK = {name: len(SEVERITIES) - i for i, name in enumerate(SEVERITIES)}
STATUSES = ["new", "persisting", "unknown", "resolved", "waived"]
STATUS_TEXT = {
    "new": "New",
    "persisting": "Persisting",
    "unknown": "Unknown",  # the account could not be fully audited: neither confirmed nor resolved
    "resolved": "Resolved",
    "waived": "Waived",
}
STATUS_HELP = {"unknown": "not fully audited"}
# A leaving checklist item's status shown with the coverage states' colours.
PERSON_STATES = {"done": "complete", "open": "failed", "unknown": "partial", "not-due": "none"}
ACT_FIRST_SEVERITIES = {"high", "critical"}
ITS_KEY = "its"  # the owner filter's value for ITS, which has no person id


def render_html(report: dict[str, Any], *, clauses: dict[str, str] | None = None) -> str:
    """The report as one HTML page.

    `clauses` maps a rule id to its AP 80-06 clause, used for findings whose own `clause` is empty
    (e.g. a report built before the rule quoted its clause).
    """
    # every string shown is cut if huge and has its bidi controls made visible (safe_text); the
    # template then isolates each platform-supplied value in <bdi> so right-to-left text stays in place
    buffer = io.StringIO()
    stream_html(report, buffer, clauses=clauses)
    return buffer.getvalue()


def stream_html(report: dict[str, Any], out: IO[str], *, clauses: dict[str, str] | None = None) -> None:
    """render_html, written to `out` as the template yields it (a page of 100,000 findings is never
    one string in memory)."""
    view = build_view(report, clauses or {})
    template = _environment().get_template("report.html.j2")
    script = _asset("report.js")
    style = _asset("report.css")
    out.writelines(template.generate(**view, script=script, style=style, csp=_content_security_policy(script, style)))


def write_html(report: dict[str, Any], folder: Path, *, clauses: dict[str, str] | None = None) -> Path:
    """Write report.html into `folder` atomically (temporary file, then rename), readable by its owner only."""
    path = folder / "report.html"
    atomic_write(path, lambda out: stream_html(report, out, clauses=clauses))
    return path


# --- the view: everything the template shows ---------------------------------------------------
#
# A report of 100,000 findings is read finding by finding, each made safe to show (display_tree) as
# it is read: no copy of the report, no view of every finding and no JSON text of all of them is
# ever held. A first pass (`_Survey`) counts what the summary shows and numbers the texts the data
# blocks share; the blocks are then encoded a finding at a time while the template streams.


def build_view(report: dict[str, Any], clauses: dict[str, str]) -> dict[str, Any]:
    head = display_tree({key: value for key, value in report.items() if key != "findings"})
    run = head["run"]
    summary = head["summary"]
    coverage = head["coverage"]
    survey = _Survey()
    for finding in _shown_findings(report, clauses):
        survey.add(finding)
    survey.row_texts.frozen = survey.detail_texts.frozen = True  # the data blocks reuse these numbers
    coverage_views = [_coverage_view(c, survey.open_by_account.get(c["account"], 0)) for c in coverage]
    urgent = [key[-1] for key in sorted(survey.act_first_keys)]
    accounts = {c["account"]: c["state"] for c in coverage}  # for the account headings
    rows = _streamed_json(
        {
            "fields": ROW_FIELDS,
            "texts": survey.row_texts.items,
            "rows": (finding_row(f, survey.row_texts) for f in _shown_findings(report, clauses)),
            "accounts": accounts,
            "act_first": urgent,
        }
    )
    details = _streamed_json(
        {
            "fields": DETAIL_FIELDS,
            "texts": survey.detail_texts.items,
            "findings": (finding_detail(f, survey.detail_texts) for f in _shown_findings(report, clauses)),
        }
    )
    return {
        "run": run,
        "as_of": _display_time(run.get("as_of")),
        "started_at": _display_time(run.get("started_at")),
        "finished_at": _display_time(run.get("finished_at")),
        "changes": summary["changes"],
        "severity_counts": [(s, summary["by_severity"].get(s, 0)) for s in SEVERITIES],
        "rule_counts": [(rule, survey.titles.get(rule, ""), n) for rule, n in sorted(summary["by_rule"].items())],
        "status_counts": [(s, STATUS_TEXT[s], summary["by_status"].get(s, 0)) for s in STATUSES],
        "open_total": sum(summary["by_severity"].values()),
        "coverage": coverage_views,
        "coverage_problems": [c for c in coverage_views if c["state"] != "complete"],
        "spend": _spend_view(run.get("spend") or {}),
        "listed_total": survey.listed,
        "waived_total": survey.waived,
        "act_first_total": len(urgent),
        "rows": rows,
        "details": details,
        "waiver_counts": survey.waiver_counts,
        "filters": {name: sorted(values, key=str.lower) for name, values in survey.filters.items()},
        "owner_options": sorted(survey.owners.items(), key=lambda kv: (kv[0] == ITS_KEY, kv[1].lower())),
        "severities": SEVERITIES,
        "statuses": STATUSES,
        "status_text": STATUS_TEXT,
        "status_help": STATUS_HELP,
        **person_view(head),
    }


def _shown_findings(report: dict[str, Any], clauses: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The report's findings as the page shows them, one at a time (each a short-lived copy)."""
    for index, finding in enumerate(report["findings"]):
        yield _finding_view(display_tree(finding), index, clauses)


def _finding_view(finding: dict[str, Any], index: int, clauses: dict[str, str]) -> dict[str, Any]:
    return {
        **finding,
        "index": index,
        "rank": SEVERITY_RANK.get(finding["severity"], 0),
        "clause_text": finding.get("clause") or clauses.get(finding["rule"], ""),
        "first_seen_date": (finding.get("first_seen") or "")[:10],
        "label": finding.get("handle") or finding["account"],
        "owner_keys": " ".join(owner_key(o) for o in finding.get("owners") or []),
        "owner_labels": [owner_label(o) for o in finding.get("owners") or []],
    }


class _Texts:
    """Strings shared by many findings (school, rule, title, clause…) stored once: a third of the file at 100,000.

    Numbered in a first pass and then `frozen`: the data block lists them before the findings that use them."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}
        self.frozen = False

    def __call__(self, text: str) -> int:
        found = self._index.get(text)
        if found is None:
            if self.frozen:  # the findings changed between the passes: the page would point at no text
                raise RuntimeError("the report changed while report.html was written")
            found = self._index[text] = len(self.items)
            self.items.append(text)
        return found


class _Survey:
    """What the page's summary, filters and act-first list need, gathered a finding at a time."""

    def __init__(self) -> None:
        self.row_texts = _Texts()
        self.detail_texts = _Texts()
        self.listed = 0
        self.waived = 0
        self.titles: dict[str, str] = {}
        self.open_by_account: dict[str, int] = {}
        self.act_first_keys: list[tuple[str, int, int]] = []
        self.waiver_counts = {"active": 0, "expiring_soon": 0, "expired": 0}
        self.filters: dict[str, set[str]] = {"rules": set(), "schools": set(), "platforms": set()}
        self.owners: dict[str, str] = {}  # the owner filter's choices: value -> label

    def add(self, f: dict[str, Any]) -> None:
        finding_row(f, self.row_texts)
        finding_detail(f, self.detail_texts)
        if f["status"] == "waived":
            self.waived += 1
        else:
            self.listed += 1
            if is_act_first(f):
                self.act_first_keys.append(act_first_key(f))
        self.titles.setdefault(f["rule"], f["title"])
        if f["status"] in OPEN_STATUSES:
            self.open_by_account[f["account"]] = self.open_by_account.get(f["account"], 0) + 1
        if waiver := f.get("waiver"):
            expired = bool(waiver["expired"])
            self.waiver_counts["active"] += not expired
            self.waiver_counts["expiring_soon"] += bool(waiver["expiring_soon"]) and not expired
            self.waiver_counts["expired"] += expired
        for name, field in (("rules", "rule"), ("schools", "school"), ("platforms", "platform")):
            if f.get(field):
                self.filters[name].add(str(f[field]))
        for owner in f.get("owners") or []:
            self.owners.setdefault(owner_key(owner), owner_label(owner, with_role=False))


def owner_key(owner: dict[str, Any]) -> str:
    return str(owner.get("person_id") or ITS_KEY)


def owner_label(owner: dict[str, Any], with_role: bool = True) -> str:
    """`Ada Okafor (E1001, holder)`: a person is never shown by id alone."""
    name = owner.get("name") or "?"
    inside = [v for v in (owner.get("person_id"), owner.get("role") if with_role else None) if v]
    if owner.get("role") == ITS_KEY and not owner.get("person_id"):
        return name
    return f"{name} ({', '.join(inside)})" if inside else name


def is_act_first(finding: dict[str, Any]) -> bool:
    """New or regressed, high or critical, neither resolved nor waived: what to do today."""
    return (
        finding["severity"] in ACT_FIRST_SEVERITIES
        and (finding["status"] == "new" or bool(finding.get("regressed")))
        and finding["status"] in OPEN_STATUSES
    )


def act_first_key(finding: dict[str, Any]) -> tuple[str, int, int]:
    """Oldest first, then most severe, then the report's order."""
    return (finding.get("first_seen") or "", -finding["rank"], finding["index"])


# A finding as report.js reads it: one array per finding, in this order (the page reads the names
# from the data, so adding a field does not shift the others). `*` fields are indexes into `texts`.
ROW_FIELDS = [
    "sev", "status", "rule*", "school*", "platform*", "account*", "label*", "title*", "message",
    "owners*", "owner_labels*", "first_seen", "regressed", "confidence", "waiver",
]  # fmt: skip


def finding_row(f: dict[str, Any], shared: _Texts) -> list[Any]:
    """What the finding lists show of a finding, as data: report.js renders a page of rows at a time and
    filters, searches and sorts over them, not over the DOM. Findings keep the report's order (school,
    account, severity): the grouped view is that order."""
    owners = f.get("owners") or []
    return [
        f["severity"],
        f["status"],
        shared(f["rule"]),
        shared(f["school"]),
        shared(f["platform"]),
        shared(f["account"]),
        shared(f["label"]),
        shared(f["title"]),
        f["message"],
        shared(f" {f['owner_keys']} " if owners else ""),  # " id id its ": E10 never matches E100
        shared("; ".join(f["owner_labels"])),
        f.get("first_seen") or "",
        1 if f.get("regressed") else 0,
        f["confidence"],
        f.get("waiver"),
    ]


DETAIL_FIELDS = [
    "source", "evidence", "section*", "clause*", "remediation*", "url", "url_text", "fingerprint", "subject",
    "first_seen_run*", "last_seen_run*",
]  # fmt: skip


def finding_detail(f: dict[str, Any], shared: _Texts) -> list[Any]:
    """What a finding shows when opened, as data: the page parses it only when a finding is opened or
    a search is made (textContent only), and lists there every identity match inside the evidence
    (match_method, match_score, best_candidate). One array per finding like the rows (`fields`
    names the positions); long texts shared by many findings (clause, remediation, run ids) are
    stored once. School, account, platform, confidence, first seen and waiver are in the rows."""
    url = f.get("url")
    return [
        evidence_source(f),
        f.get("evidence") or {},
        shared(f["section"]),
        shared(f["clause_text"]),
        shared(f["remediation"]),
        safe_link(url),
        url if url and not safe_link(url) else None,
        f["fingerprint"],
        f["subject"],
        shared(f["first_seen_run"]),
        shared(f["last_seen_run"]),
    ]


def _streamed_json(members: dict[str, Any]) -> Iterator[Markup]:
    """The JSON of `members` (compact, escaped by script_text), each list or generator among them
    encoded 200 items at a time: the same text, without a list of every finding or its JSON ever
    whole in memory."""
    opening = "{"
    for name, value in members.items():
        key = f"{opening}{_dumps(name)}:"
        opening = ","
        if not isinstance(value, list | Iterator):
            yield script_text(key + _dumps(value))
            continue
        batch = [key, "["]
        for number, item in enumerate(value):
            batch.append(("," if number else "") + _dumps(item))
            if len(batch) >= 200:
                yield script_text("".join(batch))
                batch.clear()
        batch.append("]")
        yield script_text("".join(batch))
    yield Markup("}" if members else "{}")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def script_text(json_text: str) -> Markup:
    """JSON text safe inside <script type="application/json">: `<`, `>` and `&` as \\u escapes, so platform
    text such as `</script><script>…` or `<!--` can neither close the element nor start a comment
    (a piece of the JSON at a time gives the same text: each escape replaces one character)."""
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        json_text = json_text.replace(char, escaped)
    return Markup(json_text)


def evidence_source(finding: dict[str, Any]) -> str:
    """`observed` (seen on the platform) or `declared` (from the registry), as the rule said."""
    evidence = finding.get("evidence") or {}
    source = evidence.get("source")
    if source in ("observed", "declared"):
        return str(source)
    return "declared" if finding.get("confidence") == "declared" else "observed"


def safe_link(url: Any) -> str | None:
    """Only http(s) links become clickable: a `javascript:` URL from a platform must stay text."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if any(c.isspace() for c in url):  # not a URL: e.g. one cut with a "[truncated, …]" marker
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def person_view(report: dict[str, Any]) -> dict[str, Any]:
    """`check --person`'s section and the summary's departed people (auditor/person.py)."""
    return {
        "person": report.get("person"),
        "person_states": PERSON_STATES,
        "departures": report["summary"].get("departures") or [],
    }


def _coverage_view(entry: dict[str, Any], open_findings: int) -> dict[str, Any]:
    gaps = [
        {"name": name, **status}
        for name, status in sorted(entry.get("collections", {}).items())
        if status.get("state") != "complete"
    ]
    return {**entry, "gaps": gaps, "open_findings": open_findings}


def _spend_view(spend: dict[str, Any]) -> list[str]:
    """API requests per platform (and quota units, estimated cost) this run spent: one phrase each."""
    units = spend.get("units") or {}
    phrases = []
    for platform, endpoints in sorted((spend.get("requests") or {}).items()):
        phrase = f"{platform}: {sum(endpoints.values())} requests"
        if units.get(platform):
            phrase += f", {units[platform]} quota units"
        phrases.append(phrase)
    if spend.get("estimated_cost"):
        phrases.append(f"estimated cost ${spend['estimated_cost']:.2f}")
    if spend.get("shared_requests"):  # a school's report: searches shared with other schools' accounts
        phrases.append(f"{spend['shared_requests']} requests shared across the division's accounts not counted")
    return phrases


def _display_time(value: str | None) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    zone = moment.strftime("%Z") or ""
    return moment.strftime("%Y-%m-%d %H:%M") + (f" {zone}" if zone else "")


# --- template machinery -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("auditor.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False}  # keep the rules' own order
    env.filters["humanize"] = humanize_key
    env.filters["bdi"] = bdi
    return env


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    source = _environment().loader
    assert source is not None
    text, _, _ = source.get_source(_environment(), name)
    return text


def _content_security_policy(script: str, style: str) -> str:
    """Nothing may load: only this page's own script and style (by hash) and data: images run."""
    return (
        "default-src 'none'; "
        f"script-src '{_sha256(script)}'; "
        f"style-src '{_sha256(style)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def bdi(value: Any) -> Markup:
    """`value` escaped inside <bdi>: its direction (e.g. a right-to-left name) cannot reorder the text around it."""
    return Markup("<bdi>%s</bdi>") % value


def humanize_key(key: Any) -> str:
    text = str(key).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]
