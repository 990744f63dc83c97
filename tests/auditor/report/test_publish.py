"""report.csv, report.json and the report folder: hostile platform text cannot harm a reader."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from auditor.report.publish import CSV_COLUMNS, owners_text, render_csv, render_json, write_report_files
from tests.auditor.report.factory import (
    FORMULA_SUBJECT,
    RLO,
    SPOOFED_HANDLE,
    TEN_MB,
    make_report,
    post_text,
    with_hostile_finding,
)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TRUNCATED = "… [truncated, 10,485,760 characters]"
MD_TRUNCATED = r"… \[truncated, 10,485,760 characters\]"  # Markdown-escaped: shown as TRUNCATED


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def import_into_spreadsheet(text: str, path: Path) -> Worksheet:
    """What a spreadsheet's CSV import does: each field becomes a cell value, and one starting with
    `=` becomes a formula (openpyxl: data_type 'f'). Saved as .xlsx and opened again."""
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    for r, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        for c, value in enumerate(row, start=1):
            sheet.cell(row=r, column=c, value=value)
    book.save(path)
    reloaded = load_workbook(path).active
    assert isinstance(reloaded, Worksheet)
    return reloaded


def recovered(cell: str) -> str:
    """The reader's way back to the text: drop the one leading quote the CSV added."""
    return cell[1:] if cell.startswith("'") else cell


def formula_report() -> dict[str, Any]:
    return with_hostile_finding(
        make_report(12),
        subject=FORMULA_SUBJECT,
        message="+1 (555) 0100: call the coach tonight",
        title="-2 admins: fewer than required",
        section="'Online Interactions' (quoted)",
        url="https://example.test/post?id=-1",
        account="@hhs-spoof",
        handle="@hillside_hs",
    )


def test_no_csv_cell_becomes_a_formula_in_a_spreadsheet(tmp_path: Path) -> None:
    report = formula_report()
    text = render_csv(report)
    sheet = import_into_spreadsheet(text, tmp_path / "report.xlsx")

    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert len(cells) > len(CSV_COLUMNS) * len(report["findings"]) // 2  # the whole file was imported
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    # Excel and LibreOffice also compute cells starting with + - @ tab and CR
    assert [c.coordinate for c in cells if str(c.value).startswith(FORMULA_STARTS)] == []
    # every data field is quoted, so a separator inside a value cannot start a new cell
    assert all(line.startswith('"') for line in text.splitlines()[1:])
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)


def test_the_original_text_is_recovered_by_dropping_the_leading_quote() -> None:
    report = formula_report()
    rows = csv_rows(render_csv(report))
    assert len(rows) == len(report["findings"])
    for finding, row in zip(report["findings"], rows, strict=True):
        for column in CSV_COLUMNS:
            if column == "evidence":
                assert json.loads(recovered(row[column])) == finding["evidence"]
            elif column == "waiver":
                assert (json.loads(row[column]) if row[column] else None) == finding["waiver"]
            elif column == "owners":  # written as words: name (id, role); ...
                assert recovered(row[column]) == owners_text(finding["owners"])
            else:
                expected = "" if finding[column] is None else str(finding[column])
                assert recovered(row[column]) == expected, column
    hostile = rows[0]
    assert hostile["subject"] == "'" + FORMULA_SUBJECT
    assert hostile["handle"].startswith("'@")  # every X handle starts with @


def test_report_json_keeps_the_data_exactly_as_collected() -> None:
    report = with_hostile_finding(make_report(6), subject=FORMULA_SUBJECT, handle=SPOOFED_HANDLE)
    assert json.loads(render_json(report)) == report


def test_a_bidi_override_is_shown_escaped_in_the_csv() -> None:
    report = with_hostile_finding(
        make_report(6),
        handle=SPOOFED_HANDLE,
        evidence={"source": "observed", "excerpt": "Go \u2066team\u2069 " + RLO + "won"},
    )
    text = render_csv(report)
    hostile = csv_rows(text)[0]
    assert hostile["handle"] == "<U+202E>sh_edisllih@"
    assert json.loads(hostile["evidence"])["excerpt"] == "Go <U+2066>team<U+2069> <U+202E>won"
    assert not any(chr(c) in text for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def test_a_ten_megabyte_post_is_cut_in_every_report_but_json(tmp_path: Path) -> None:
    huge = post_text(TEN_MB)
    plain = make_report(12)
    report = with_hostile_finding(
        plain, message=huge, handle=huge, subject=huge, evidence={"source": "observed", "excerpt": huge}
    )
    baseline = {p.name: p.stat().st_size for p in write_report_files(plain, tmp_path / "plain")}
    written = {p.name: p for p in write_report_files(report, tmp_path / "hostile")}
    assert set(written) == {"report.json", "report.csv", "report.html", "summary.md"}

    for name, marker in (("report.csv", TRUNCATED), ("report.html", TRUNCATED), ("summary.md", MD_TRUNCATED)):
        grown = written[name].stat().st_size - baseline[name]
        assert grown < 100_000, f"{name} grew by {grown:,} bytes"
        assert marker in written[name].read_text(encoding="utf-8"), name
    # report.json is the canonical data, kept whole: the other files are rendered from it
    assert json.loads(written["report.json"].read_text(encoding="utf-8"))["findings"][0]["message"] == huge

    hostile = csv_rows(written["report.csv"].read_text(encoding="utf-8"))[0]
    assert hostile["message"] == huge[:10_000] + TRUNCATED
    assert json.loads(hostile["evidence"])["excerpt"] == huge[:1_000] + TRUNCATED  # the cell is still JSON


# --- large divisions (#21): the report files are streamed -----------------------------------------


def test_report_files_are_written_without_holding_a_whole_file_in_memory(tmp_path: Path) -> None:
    import tracemalloc

    report = make_report(5000)
    tracemalloc.start()
    try:
        write_report_files(report, tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    written = sum(path.stat().st_size for path in tmp_path.iterdir())
    # Building each file as one string (and its bytes) cost almost three times what was written;
    # streamed, only the HTML page's view of the findings is held, about what the files weigh.
    assert peak < 1.5 * written, f"peak {peak / 1e6:.1f} MB for {written / 1e6:.1f} MB written"
    assert json.loads((tmp_path / "report.json").read_text()) == report


def test_report_json_holds_one_finding_a_line(tmp_path: Path) -> None:
    report = make_report(30)
    write_report_files(report, tmp_path)
    text = (tmp_path / "report.json").read_text()
    lines = [line for line in text.splitlines() if line.startswith('    {"fingerprint"')]
    assert [json.loads(line.rstrip(",")) for line in lines] == report["findings"]
    assert render_json(report) == text
    empty = {**report, "findings": []}
    assert json.loads(render_json(empty)) == empty
