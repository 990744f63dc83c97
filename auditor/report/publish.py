"""Write a run's reports into its own folder, atomically, and point `latest` at it."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from auditor.report.build import build_report
from auditor.report.school import filter_report_for_school
from models.db import session

log = logging.getLogger("auditor.report")

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
]


def atomic_write(path: Path, content: str | bytes) -> None:
    """Temporary file in the same folder, then rename: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # reports hold data about minors
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def render_csv(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for finding in report["findings"]:
        row = {column: finding.get(column) for column in CSV_COLUMNS}
        row["evidence"] = json.dumps(finding["evidence"], ensure_ascii=False, sort_keys=True)
        row["waiver"] = json.dumps(finding["waiver"], sort_keys=True) if finding["waiver"] else ""
        writer.writerow(row)
    return buffer.getvalue()


def write_report_files(report: dict[str, Any], folder: Path) -> list[Path]:
    """report.json, report.csv and, where the writers are installed, report.html and summary.md."""
    written = []
    for name, content in (("report.json", render_json(report)), ("report.csv", render_csv(report))):
        atomic_write(folder / name, content)
        written.append(folder / name)
    for name, renderer in _optional_writers():
        atomic_write(folder / name, renderer(report))
        written.append(folder / name)
    return written


def _optional_writers() -> list[tuple[str, Any]]:
    writers: list[tuple[str, Any]] = []
    try:
        from auditor.report.html import render_html

        writers.append(("report.html", render_html))
    except ImportError:
        pass
    try:
        from auditor.report.markdown import render_summary_md

        writers.append(("summary.md", render_summary_md))
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


def report_for_run(engine: Engine, run_id: str, school: str | None = None) -> dict[str, Any]:
    """The run's report; with `school`, only that school's part (raises UnknownSchool)."""
    with session(engine) as db:
        report = build_report(db, run_id)
    return report if school is None else filter_report_for_school(report, school)


def publish_run(engine: Engine, run_id: str, report_root: Path, school: str | None = None) -> Path:
    report = report_for_run(engine, run_id, school)
    folder = report_root / (run_id if school is None else f"{run_id}-{_slug(school)}")
    write_report_files(report, folder)
    if school is None:
        point_latest(report_root, folder)
    log.info("report written to %s", folder)
    return folder


def write_run_reports(engine: Engine, run_id: str, report_root: Path, status: str) -> Path:
    """A finishing run's reports, saying `status` (the run row says so only once they are written);
    `latest` is left alone: the caller points it here once the run is recorded as ended."""
    report = report_for_run(engine, run_id)
    report["run"]["status"] = status
    folder = report_root / run_id
    write_report_files(report, folder)
    return folder


def _slug(text: str) -> str:
    return "".join(c.lower() if c.isalnum() else "-" for c in text).strip("-")
