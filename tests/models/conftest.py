"""`backend` and `engine`: every test that takes them runs against SQLite and PostgreSQL.

Reuse elsewhere: `from tests.databases import BACKENDS, empty_engine` and the same two fixtures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from models.db import init_db
from tests.databases import BACKENDS, SERVER, empty_engine

OUTCOMES: Counter[tuple[str, str]] = Counter()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def bare_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """An empty database: no table, no schema version."""
    with empty_engine(backend, tmp_path) as engine:
        yield engine


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    """A database upgraded to the newest schema, as every command leaves it."""
    init_db(bare_engine)
    return bare_engine


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count this folder's results per database, for the summary below."""
    if "tests/models/" not in report.nodeid.replace("\\", "/"):
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        backend = "postgresql" if "postgres" in report.keywords else "sqlite"
        OUTCOMES[backend, report.outcome] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """CI output says which databases the storage tests ran against, and how they fared."""
    if not OUTCOMES:
        return
    lines = []
    for backend, label in (("sqlite", "SQLite"), ("postgresql", SERVER.get("postgresql", "PostgreSQL"))):
        counts = ", ".join(f"{n} {outcome}" for (b, outcome), n in sorted(OUTCOMES.items()) if b == backend)
        lines.append(f"{label}: {counts or 'none run'}")
    terminalreporter.write_sep("-", "storage tests by database")
    for line in lines:
        terminalreporter.write_line(line)
