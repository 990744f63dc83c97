"""Environment faults are told in one line that names the place, never the password."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from sqlalchemy.exc import OperationalError

from auditor.faults import EnvironmentFault, describe, file_fault

URL = "postgresql+psycopg://auditor:Sw0rdfish-Secret@db.example.org:5432/auditor"


def _driver_error(message: str) -> OperationalError:
    return OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))


def test_a_driver_message_that_repeats_the_password_is_masked() -> None:
    line = describe(_driver_error("connection to auditor:Sw0rdfish-Secret@db failed: timeout expired\nmore"), URL)
    assert line is not None and "Sw0rdfish-Secret" not in line and "\n" not in line
    assert line.startswith("Database postgresql+psycopg://auditor:***@db.example.org:5432/auditor: ")


def test_the_auditors_own_sql_mistakes_are_not_environment_faults() -> None:
    assert describe(_driver_error("no such table: audit_run"), "sqlite:///var/auditor.db") is None
    assert describe(ZeroDivisionError("division by zero"), URL) is None


def test_a_failed_write_without_a_file_name_names_the_folder_it_was_writing(tmp_path: Path) -> None:
    full = OSError(errno.ENOSPC, "No space left on device")
    line = file_fault(full, tmp_path / "reports" / "RUN")
    assert line.startswith(f"No space left to write {tmp_path / 'reports' / 'RUN'} ") and "Free space" in line


def test_the_fault_is_found_behind_the_exceptions_that_wrap_it() -> None:
    try:
        try:
            raise PermissionError(errno.EACCES, "Permission denied", "var/auditor.db.lock")
        except OSError as exc:
            raise RuntimeError("while locking") from exc
    except RuntimeError as wrapped:
        line = describe(wrapped, URL)
    assert line is not None and f"Permission denied on {Path('var/auditor.db.lock').absolute()}" in line
    assert describe(EnvironmentFault("said already"), URL) == "said already"
