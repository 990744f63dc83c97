"""Write a run's reports into its own folder, atomically, and point `latest` at it.

`latest` is the nightly run's: ITS reads it. A single-account `auditor check` writes under
`checks/<run>/` and leaves `latest` alone, so a check at noon never hides last night's division report.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy.engine import Engine

from auditor.report.build import build_report
from auditor.report.filters import ReportFilters, filter_report
from auditor.report.owner import filter_report_for_owner
from auditor.report.safe_text import VALUE_LIMIT, display_tree, spreadsheet_cell
from auditor.report.school import filter_report_for_school
from connectors.scrub import scrub_data
from models.db import session

log = logging.getLogger("auditor.report")

CHECKS_FOLDER = "checks"

CSV_COLUMNS = [
    "fingerprint",
    "status",
    "severity",
    "confidence",
    "rule",
    "title",
    "school",
    "account",
    "platform",
    "handle",
    "section",
    "subject",
    "message",
    "first_seen",
    "url",
    "evidence",
    "waiver",
    "owners",
]


TextWriter = Callable[[IO[str]], None]


def atomic_write(path: Path, content: str | bytes | TextWriter) -> None:
    """Temporary file in the same folder, then rename: a reader never sees half a report.

    `content` may be a function that writes the text to the open file: a report of 100,000
    findings then goes to disk piece by piece, never held whole in memory as one string."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(content):
                with io.TextIOWrapper(handle, encoding="utf-8", newline="", write_through=False) as text:
                    content(text)
                    text.flush()
                    os.fsync(handle.fileno())
            else:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # reports hold data about minors
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_json(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    write_json(report, buffer)
    return buffer.getvalue()


def write_json(report: dict[str, Any], out: IO[str]) -> None:
    """report.json, written as it is encoded: the run's parts indented, then one finding a line
    (compact, so 100,000 findings stay a file of their own size, and each line greps as one finding)."""
    head = {key: value for key, value in report.items() if key != "findings"}
    text = json.dumps(head, indent=2, ensure_ascii=False, sort_keys=False)
    findings = report.get("findings")
    if findings is None:
        out.write(text + "\n")
        return
    out.write(text[:-2] + ',\n  "findings": [' if head else '{\n  "findings": [')
    for number, finding in enumerate(findings):
        out.write(("\n    " if number == 0 else ",\n    ") + json.dumps(finding, ensure_ascii=False, sort_keys=False))
    out.write("\n  ]\n}\n" if findings else "]\n}\n")


def render_csv(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    write_csv(report, buffer)
    return buffer.getvalue()


def write_csv(report: dict[str, Any], buffer: IO[str]) -> None:
    """report.csv for spreadsheets: every cell is quoted, shown safely and never read as a formula
    (a handle starts with `@`, a subject may be `=HYPERLINK(...)`); see safe_text."""
    csv.writer(buffer, lineterminator="\n").writerow(CSV_COLUMNS)  # our own names: left unquoted
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for finding in report["findings"]:
        row: dict[str, Any] = {column: finding.get(column) for column in CSV_COLUMNS}
        # long evidence strings are cut inside the JSON, so the cell stays valid JSON
        row["evidence"] = json.dumps(display_tree(finding["evidence"], VALUE_LIMIT), ensure_ascii=False, sort_keys=True)
        row["waiver"] = json.dumps(finding["waiver"], sort_keys=True) if finding["waiver"] else ""
        row["owners"] = owners_text(finding.get("owners") or [])
        writer.writerow({column: spreadsheet_cell(value) for column, value in row.items()})


def owners_text(owners: list[dict[str, str]]) -> str:
    """`Ada Okafor (E1001, holder); ITS (its)`: each owner by name, id and why they own it."""
    parts = []
    for owner in owners:
        inside = ", ".join(v for v in (owner.get("person_id"), owner.get("role")) if v)
        parts.append(f"{owner.get('name') or owner.get('person_id')} ({inside})")
    return "; ".join(parts)


def write_report_files(report: dict[str, Any], folder: Path) -> list[Path]:
    """report.json, report.csv and, where the writers are installed, report.html and summary.md.

    Each is streamed to its file (see atomic_write): only the report itself is in memory."""
    written = []
    for name, writer in (("report.json", write_json), ("report.csv", write_csv), *_optional_writers()):
        atomic_write(folder / name, functools.partial(writer, report))
        written.append(folder / name)
    return written


ReportWriter = Callable[[dict[str, Any], IO[str]], None]


def _write_summary_md(report: dict[str, Any], out: IO[str]) -> None:
    from auditor.report.markdown import render_summary_md

    out.write(render_summary_md(report))  # a short summary: the top findings only


def _optional_writers() -> list[tuple[str, ReportWriter]]:
    writers: list[tuple[str, ReportWriter]] = []
    try:
        from auditor.report.html import stream_html

        writers.append(("report.html", stream_html))
    except ImportError:
        pass
    try:
        from auditor.report.markdown import render_summary_md  # noqa: F401  (installed?)

        writers.append(("summary.md", _write_summary_md))
    except ImportError:
        pass
    return writers


def point_latest(report_root: Path, folder: Path) -> None:
    """`latest` is a symlink swapped atomically (rename over the old one)."""
    link = report_root / "latest"
    tmp = report_root / f".latest.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(folder.name, tmp)
    os.replace(tmp, link)


def report_for_run(engine: Engine, run_id: str, school: str | None = None, owner: str | None = None) -> dict[str, Any]:
    """The run's report; with `school`, only that school's part (raises UnknownSchool); with `owner`,
    only the findings that person (or `its`) must act on (raises UnknownOwner).

    Scrubbed of every configured secret: the last line of defence for every report file, export and
    the notifications read from it."""
    with session(engine) as db:
        built = build_report(db, run_id, clean=scrub_data)  # each finding as it is built: never two copies
    findings = built.pop("findings")
    report = scrub_data(built)
    report["findings"] = findings
    # A principal-only finding (about one person's private life) is in that school's report alone.
    report = filter_report_for_school(report, school) if school is not None else without_principal_only(report)
    if owner is not None:
        report = filter_report_for_owner(report, owner)
    return report


def without_principal_only(report: dict[str, Any]) -> dict[str, Any]:
    """The division's report (and so its exports and notifications) without the findings that only a school's
    principal sees (rules with `principal_only`, e.g. staff-student-personal-connection)."""
    from auditor.report.build import summarize
    from auditor.rules.base import principal_only_rules

    hidden = principal_only_rules()
    if not any(f["rule"] in hidden for f in report["findings"]):
        return report
    findings = [f for f in report["findings"] if f["rule"] not in hidden]
    summary = {**summarize(findings), "departures": report["summary"].get("departures", [])}
    return {**report, "summary": summary, "findings": findings}


def report_folder(
    report_root: Path, report: dict[str, Any], school: str | None = None, owner: str | None = None
) -> Path:
    """`<root>/<run>` for a division run, `<root>/checks/<run>` for a check (one account, a person, a what-if)."""
    run = report["run"]
    name = run["id"] if school is None else f"{run['id']}-{_slug(school)}"
    if owner is not None:
        name += f"-owner-{_slug(owner)}"
    if run["kind"] != "run":  # a check or a what-if: never beside the nightly runs
        return report_root / CHECKS_FOLDER / name
    return report_root / name


def publish_run(
    engine: Engine,
    run_id: str,
    report_root: Path,
    school: str | None = None,
    filters: ReportFilters | None = None,
    out: Path | None = None,
    owner: str | None = None,
) -> Path:
    """Write the run's reports; `latest` moves only for a whole nightly report written in its own folder.

    With `filters` (raises BadFilter), only the findings they keep, in `<run>-filtered-<digest>` unless
    `out` names the folder; with `owner` (raises UnknownOwner), only that owner's findings.
    """
    report = report_for_run(engine, run_id, school, owner)
    if filters:
        report = filter_report(report, filters)
    folder = out if out is not None else report_folder(report_root, report, school, owner)
    if filters and out is None:
        folder = folder.with_name(f"{folder.name}-{filters.slug()}")
    if folder.parent != report_root:
        if out is None:
            report_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # reports hold data about minors
    write_report_files(report, folder)
    # `latest` is the whole nightly report: never a check, a what-if, a filtered, an owner's or redirected copy
    if school is None and owner is None and not filters and out is None and report["run"]["kind"] == "run":
        point_latest(report_root, folder)
    log.info("report written to %s", folder)
    return folder


# What a notification reads of each finding (auditor.notify, report/markdown.py): its labels, never
# its message or evidence, which stay in the access-controlled report files.
NOTICE_FIELDS = (
    "fingerprint",
    "rule",
    "title",
    "severity",
    "status",
    "regressed",
    "school",
    "account",
    "handle",
    "platform",
    "waiver",
)


@dataclass(frozen=True)
class Published:
    """A finishing run's published reports: where, whether `latest` may show them (a nightly run's),
    and `notice`, the report as the notifications read it (run, summary, coverage, each finding's
    NOTICE_FIELDS), kept in memory instead of reading report.json back from disk."""

    folder: Path
    nightly: bool
    notice: dict[str, Any]


def write_run_reports(engine: Engine, run_id: str, report_root: Path, status: str) -> Published:
    """A finishing run's reports, saying `status` (the run row says so only once they are written).
    The caller points `latest` at a nightly run's once the run is recorded as ended; a check's or a
    what-if's never move it."""
    report = report_for_run(engine, run_id)
    report["run"]["status"] = status
    folder = report_folder(report_root, report)
    write_report_files(report, folder)
    findings = report.pop("findings")
    for index, finding in enumerate(findings):  # in place: the full findings are let go one by one
        findings[index] = {key: finding[key] for key in NOTICE_FIELDS if key in finding}
    report["findings"] = findings
    return Published(folder, report["run"]["kind"] == "run", report)


def _slug(text: str) -> str:
    return "".join(c.lower() if c.isalnum() else "-" for c in text).strip("-")
