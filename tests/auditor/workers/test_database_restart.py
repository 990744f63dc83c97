"""The database restarted under a running worker (the CI cluster stopped and started): the worker
stays up, the jobs that failed meanwhile are retried, and the run's report is complete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from bench.workers_bench import script_platform, slug_of, write_division
from models.db import make_engine
from tests import waiting
from tests.databases import POSTGRES_ENV, postgres_url_or_skip
from tests.fakeplatform import FakePlatform

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
LAUNCH = REPO / "tests" / "workers_launch.py"
ACCOUNTS = 16


def wait_for(condition: Callable[[], bool], deadline: float, what: str) -> None:
    """Until `condition()` holds; while the database restarts, a query's error counts as not yet."""

    def settled() -> bool:
        try:
            return condition()
        except Exception:  # the database is restarting
            return False

    waiting.wait_for(settled, deadline, what)


def the_ci_cluster(url: str) -> bool:
    state = Path(os.environ.get("AUDITOR_PG_DIR") or Path(os.environ.get("TMPDIR", "/tmp")) / "auditor-ci-postgres")
    return (state / "url").exists() and (state / "url").read_text().strip() == url


def test_a_worker_survives_a_database_restart_and_the_report_is_complete(tmp_path: Path) -> None:
    server_url = postgres_url_or_skip()
    if not the_ci_cluster(server_url):
        pytest.skip(f"{POSTGRES_ENV} is not the cluster .ci/postgres.sh started: it cannot be restarted here")
    tag = uuid.uuid4().hex[:10]
    schema = f"wq_{tag}"
    admin = make_engine(server_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    queue = f"{server_url}{'&' if '?' in server_url else '?'}options=-csearch_path%3D{schema}"
    folder = write_division(tmp_path, 1, tag, ACCOUNTS)
    name = slug_of(tag, 1)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / f"{name}.env").write_text("ACCOUNT_FAKEPLAT_TOKEN=token-1\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "FACEBOOK_", "YOUTUBE_", "ACCOUNT_"))}
    env |= {
        "AUDITOR_QUEUE_URL": queue,
        "AUDITOR_SECRETS_DIR": str(tmp_path / "secrets"),
        "AUDITOR_REPORT_DIR": str(tmp_path / "reports"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    try:
        with FakePlatform() as server:
            server.delay = 0.3  # slow accounts: the restart lands mid-run
            script_platform(server, 1, ACCOUNTS)
            env["FAKEPLAT_URL"] = server.url
            log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
            worker = subprocess.Popen(
                [sys.executable, str(LAUNCH), "worker", "--concurrency", "2"],
                env=env,
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                done = subprocess.run(
                    [sys.executable, str(LAUNCH), "enqueue", "--division", str(folder)],
                    env=env,
                    cwd=tmp_path,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert done.returncode == 0, done.stdout + done.stderr
                engine = make_engine(queue)

                def audited() -> int:
                    with engine.connect() as connection:
                        return int(
                            connection.execute(
                                text(
                                    f'SELECT count(*) FROM "division_{name}".auditor_worker_accounts'
                                    " WHERE state = 'done'"
                                )
                            ).scalar_one()
                        )

                wait_for(lambda: audited() >= 3, 90, "three accounts audited")
                restarted = subprocess.run(
                    ["bash", str(REPO / ".ci" / "postgres.sh"), "restart"], capture_output=True, text=True, timeout=60
                )
                assert restarted.returncode == 0, restarted.stderr
                engine.dispose()
                report = tmp_path / "reports" / name / "latest" / "report.json"
                wait_for(report.exists, 150, "the run's report after the restart")
                assert worker.poll() is None, "the worker died with the database"
            finally:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                log.close()
        body = json.loads(report.read_text(encoding="utf-8"))
        assert body["run"]["status"] == "complete", (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
        assert not [f for f in body["findings"] if f["rule"] == "audit-incomplete"]
    finally:
        admin = make_engine(server_url)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "division_{name}" CASCADE'))
        admin.dispose()
