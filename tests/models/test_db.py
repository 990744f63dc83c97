"""open_store (#16): the one way every command opens the store, migrated or only looked at."""

from __future__ import annotations

import ast
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect

from models import migrate
from models.db import missing_sqlite_file, open_store, open_store_to_read, redacted_url

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class _Settings:
    database_url: str


def test_open_store_brings_a_new_database_to_the_newest_schema_privately(tmp_path: Path) -> None:
    path = tmp_path / "data" / "auditor.db"
    engine = open_store(_Settings(f"sqlite:///{path}"))
    with engine.connect() as connection:
        assert migrate.current_revision(connection) == migrate.head_revision()
    assert "finding" in inspect(engine).get_table_names()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # minors' data: the owner's only


def test_open_store_without_migrating_leaves_the_schema_alone(tmp_path: Path) -> None:
    engine = open_store(_Settings(f"sqlite:///{tmp_path / 'auditor.db'}"), migrate=False)
    assert inspect(engine).get_table_names() == []


def test_a_store_opened_to_read_creates_no_file(tmp_path: Path) -> None:
    path = tmp_path / "auditor.db"
    assert missing_sqlite_file(f"sqlite:///{path}")
    engine = open_store_to_read(_Settings(f"sqlite:///{path}"))
    assert "finding" in inspect(engine).get_table_names()  # an empty store, as for a first run
    assert not path.exists()
    assert not missing_sqlite_file("postgresql://auditor@db/auditor")  # a server: nothing to create


def test_the_database_url_is_shown_without_its_password() -> None:
    assert redacted_url("postgresql://auditor:s3cret@db:5432/auditor") == "postgresql://db:5432/auditor"


def test_no_command_opens_the_store_by_hand() -> None:
    """The CLI modules call open_store(); an engine made and migrated inline is how they drifted apart."""
    by_hand = []
    for path in sorted((REPO / "auditor").glob("cli*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "models.db":
                by_hand += [f"{path.name}: {a.name}" for a in node.names if a.name in ("make_engine", "init_db")]
    assert not by_hand, by_hand
