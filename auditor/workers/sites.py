"""One division as the workers see it: its folder, settings, credentials and its own PostgreSQL schema.

Isolation is a schema per division in the workers' database: every connection a division's job makes
has `search_path` set to that schema only, so its findings, snapshots, runs and waivers are rows no
other division's connection can name. Reports go to a folder per division, and credentials come from
the division's own secrets file (`$AUDITOR_SECRETS_DIR/<slug>.env`) when there is one.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from auditor.inputs import Division, load_division
from auditor.settings import Settings
from connectors.registry import ConnectorRegistry
from models.db import database_url, init_db, make_engine

if TYPE_CHECKING:
    from auditor.workers.pacing import PostgresPacer

SECRETS_DIR_VARIABLE = "AUDITOR_SECRETS_DIR"


def slug(name: str) -> str:
    """A division's name as a schema and folder name: `Prairie Rose SD 8` -> `prairie_rose_sd_8`."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return (cleaned or "division")[:50]


def schema_for(division_slug: str) -> str:
    return f"division_{division_slug}"


def division_database_url(queue_url: str, division_slug: str) -> str:
    """The workers' database, seen through the division's schema only (whatever schema the queue's
    own URL names: its `options` are replaced)."""
    url = make_url(database_url(queue_url)).update_query_dict({"options": f"-csearch_path={schema_for(division_slug)}"})
    return url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class Site:
    folder: Path
    division: Division
    slug: str
    settings: Settings
    connectors: ConnectorRegistry  # its credentials (the connectors' own settings) and their pacing

    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)


def secrets_file(division_slug: str) -> Path | None:
    folder = os.environ.get(SECRETS_DIR_VARIABLE)
    if not folder:
        return None
    return Path(folder) / f"{division_slug}.env"


def load_site(folder: Path, queue_url: str, pacer: PostgresPacer | None = None) -> Site:
    """The division's inputs (validated as `auditor run` does) and its settings as a worker uses them:
    the core's and every connector's from the division's secrets file, when there is one; with a
    `pacer`, each connector's requests paced per credential across every worker."""
    division = load_division(folder)
    name = slug(division.policy.division)
    overrides = {"DATABASE_URL": division_database_url(queue_url, name)}
    base = Settings()
    overrides["AUDITOR_REPORT_DIR"] = str(base.report_dir / name)
    file = secrets_file(name)
    if file is not None:
        if not file.exists():
            raise FileNotFoundError(f"no secrets file {file} for division {division.policy.division!r}")
        settings = Settings.from_secrets_file(file, **overrides)
    else:
        settings = Settings(**overrides)  # type: ignore[arg-type]  # aliases: the variables' names
    connectors = ConnectorRegistry.installed().for_credentials(file)
    if pacer is not None:
        unpaced = connectors
        gates = pacer.gates(lambda platform: credential_key(unpaced, platform, name), division.policy.rate_limits)
        connectors = unpaced.for_credentials(file, gates)
    return Site(folder.resolve(), division, name, settings, connectors)


def credential_key(connectors: ConnectorRegistry, name: str, division_slug: str) -> str:
    """The credential a connector's requests spend, as the request slots name it.

    Platforms count requests per credential, not per division: divisions whose secrets hold the same
    credential (one app for a whole consortium) share one window, so the key is a digest of the
    connector's secrets (never the secrets themselves). A connector with no secret in its settings is
    paced per division."""
    settings = connectors.settings_for(name)
    secrets = sorted(v.get_secret_value() for v in settings.__dict__.values() if isinstance(v, SecretStr) and v)
    if not secrets:
        return f"{division_slug}:{name}"
    digest = hashlib.blake2b("\0".join(secrets).encode(), digest_size=12, person=b"auditor-pacing").hexdigest()
    return f"{name}:{digest}"


def prepare_schema(site: Site, queue_url: str) -> None:
    """The division's schema exists and holds the current tables (Alembic, as `auditor db upgrade`)."""
    admin = make_engine(queue_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema_for(site.slug)}"'))
    finally:
        admin.dispose()
    engine = site.engine()
    try:
        with _MIGRATING:
            init_db(engine)
    finally:
        engine.dispose()


# Alembic keeps its migration context in module globals: one migration at a time per worker process
# (two divisions' runs may start at once); other processes are serialised by the migrations' own lock.
_MIGRATING = threading.Lock()
