"""`backend` and `engine`: every test that takes them runs against SQLite and PostgreSQL.

Reuse elsewhere: `from tests.databases import BACKENDS, empty_engine` and the same two fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from models.db import init_db
from tests.databases import BACKENDS, empty_engine


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
