"""Test databases for both backends: a private SQLite file, or a private schema on the PostgreSQL
server named by AUDITOR_TEST_POSTGRES_URL (`.ci/postgres.sh start` prints one). Without that
variable the PostgreSQL leg is skipped, with the reason in pytest's summary (-ra)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from models.db import make_engine

POSTGRES_ENV = "AUDITOR_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
SERVER: dict[str, str] = {}  # what the PostgreSQL leg ran against, for pytest's summary


def postgres_url_or_skip() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f'PostgreSQL leg skipped: {POSTGRES_ENV} is not set (run `eval "$(.ci/postgres.sh start)"`)')
    return url


@contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database of that backend, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'auditor.db'}"
        return
    server = postgres_url_or_skip()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        SERVER.setdefault("postgresql", f"PostgreSQL {connection.execute(text('SHOW server_version')).scalar_one()}")
    separator = "&" if "?" in server else "?"
    try:
        # Every connection of the test sees only its own schema: tests never see each other's rows.
        yield f"{server}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def empty_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    with database_url(backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
