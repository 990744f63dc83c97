"""Three worker processes, four divisions of 50 accounts, the fake platform with rate limits and 100 ms
latency: every division's report equals its single-process `auditor run` report (apart from run ids
and times), no finding is stored twice, no division sees another's rows, the platform's window holds
for every credential, and a worker killed with SIGKILL mid-run does not stop the reports."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bench.workers_bench import LIMIT, script_platform, write_division
from models.db import make_engine
from tests.databases import postgres_url_or_skip
from tests.fakeplatform import FakePlatform
from tests.test_demo_golden import normalise
from tests.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
LAUNCH = REPO / "tests" / "workers_launch.py"
DIVISIONS, ACCOUNTS = 4, 50
HMAC = "workers-e2e-hmac-key-0123456789abcdef"


TIMES = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(\+00:00|Z| UTC)?")


def report(folder: Path) -> dict[str, object]:
    """report.json apart from run ids and times (each run has its own clock)."""
    return json.loads(TIMES.sub("<time>", normalise((folder / "report.json").read_text(encoding="utf-8"))))


def published(root: Path) -> Path | None:
    latest = root / "latest"
    return latest.resolve() if (latest / "report.json").exists() else None


@pytest.fixture
def queue_schema() -> Iterator[str]:
    server = postgres_url_or_skip()
    schema = f"wq_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            for name in connection.execute(text("SELECT nspname FROM pg_namespace")).scalars():
                if name.startswith(f"division_workers_{schema[3:]}"):
                    connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def test_three_workers_audit_four_divisions_like_single_runs_despite_a_kill(tmp_path: Path, queue_schema: str) -> None:
    started = time.monotonic()
    tag = queue_schema.rsplit("%3D", 1)[1][3:]
    folders = [write_division(tmp_path, d, tag, ACCOUNTS) for d in range(1, DIVISIONS + 1)]
    slugs = [f"workers_{tag}_{d}" for d in range(1, DIVISIONS + 1)]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "FACEBOOK_", "YOUTUBE_", "ACCOUNT_"))}
    base |= {"AUDITOR_HMAC_KEY": HMAC, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    with FakePlatform() as server:
        server.delay, server.rate_limit = 0.1, LIMIT
        script_platform(server, DIVISIONS, ACCOUNTS)
        base["FAKEPLAT_URL"] = server.url

        # The reference: each division's single-process `auditor run` (own SQLite store, own token).
        singles = []
        for d, folder in enumerate(folders, start=1):
            env = base | {
                "DATABASE_URL": f"sqlite:///{tmp_path / f'single-{d}.db'}",
                "AUDITOR_REPORT_DIR": str(tmp_path / f"single-{d}"),
                "AUDITOR_LOCK_FILE": str(tmp_path / f"single-{d}.lock"),
                "ACCOUNT_FAKEPLAT_TOKEN": f"token-division-{d}",
            }
            singles.append(
                subprocess.Popen(
                    [sys.executable, str(LAUNCH), "-q", "run", "--division", str(folder)],
                    env=env,
                    cwd=tmp_path,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            )
        for process in singles:
            output = process.communicate(timeout=150)[0].decode()
            assert process.returncode in (0, 1), output
        single_429 = server.throttled
        server.throttled, server.answered = 0, 0

        # The workers: one queue schema, a schema per division, credentials from a secrets file each.
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        for d, name in enumerate(slugs, start=1):
            (secrets / f"{name}.env").write_text(f"ACCOUNT_FAKEPLAT_TOKEN=token-division-{d}\n", encoding="utf-8")
        env = base | {
            "AUDITOR_QUEUE_URL": queue_schema,
            "AUDITOR_SECRETS_DIR": str(secrets),
            "AUDITOR_REPORT_DIR": str(tmp_path / "workers"),
            "AUDITOR_WORKER_STALLED_SECONDS": "4",
        }
        logs = [open(tmp_path / f"worker-{n}.log", "wb") for n in range(3)]  # noqa: SIM115
        workers = [
            subprocess.Popen(
                [sys.executable, str(LAUNCH), "worker", "--concurrency", "4"],
                env=env,
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            for log in logs
        ]
        try:
            enqueues = [
                subprocess.Popen(
                    [sys.executable, str(LAUNCH), "enqueue", "--division", str(folder)],
                    env=env,
                    cwd=tmp_path,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
                for folder in folders
            ]
            for process in enqueues:
                output = process.communicate(timeout=60)[0].decode()
                assert process.returncode == 0, output
            engine = make_engine(queue_schema)

            def audited() -> int:
                total = 0
                with engine.connect() as connection:
                    for name in slugs:
                        table = f'"division_{name}".auditor_worker_accounts'
                        if connection.execute(text(f"SELECT to_regclass('{table}')")).scalar() is not None:
                            total += connection.execute(
                                text(f"SELECT count(*) FROM {table} WHERE state = 'done'")
                            ).scalar_one()
                return total

            wait_for(lambda: audited() >= 30, 120, "30 accounts audited")
            os.kill(workers[0].pid, signal.SIGKILL)  # mid-run: it holds account jobs now
            workers[0].wait(timeout=10)
            roots = [tmp_path / "workers" / name for name in slugs]
            wait_for(lambda: all(published(root) for root in roots), 150, "every division's report")
        finally:
            for process in workers[1:]:
                process.send_signal(signal.SIGTERM)
            for process in workers[1:]:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
            for log in logs:
                log.close()
        worker_429, answered = server.throttled, server.answered
        # Credentials stay with their division: every request about a division's account carried its token.
        for path, _query, headers in server.requests:
            division = path.split("/")[2][1] if path.startswith("/users/d") else path.split("/")[2][0]
            assert headers.get("Authorization") == f"Bearer token-division-{division}", (path, headers)

    for d, (root, name) in enumerate(zip(roots, slugs, strict=True), start=1):
        folder = published(root)
        assert folder is not None
        ours, theirs = report(folder), report(tmp_path / f"single-{d}" / "latest")
        assert ours == theirs, f"division {d}: the workers' report differs from `auditor run`'s"
        findings = ours["findings"]
        assert isinstance(findings, list) and findings, "the comparison must be about findings"
        fingerprints = [f["fingerprint"] for f in findings]
        assert len(fingerprints) == len(set(fingerprints))
        assert {f["account"] for f in findings} <= {f"d{d}-acct{n:02d}" for n in range(ACCOUNTS)} | {""}
        with make_engine(queue_schema).connect() as connection:
            schema = f'"division_{name}"'
            duplicates = connection.execute(
                text(
                    f"SELECT count(*) FROM (SELECT run_id, fingerprint FROM {schema}.finding "
                    "GROUP BY run_id, fingerprint HAVING count(*) > 1) d"
                )
            ).scalar_one()
            assert duplicates == 0
            shots = connection.execute(
                text(f"SELECT count(*), count(DISTINCT account_key) FROM {schema}.snapshot")
            ).one()
            assert shots[0] == shots[1] == ACCOUNTS  # each account once, though a worker died holding some
            # Isolation: the division's schema holds its own accounts only.
            keys = set(connection.execute(text(f"SELECT DISTINCT account_key FROM {schema}.finding")).scalars())
            assert keys and all(k.startswith(f"d{d}-") for k in keys), keys
    # Each credential's window held: the platform answered no more than 1 % with 429.
    assert worker_429 <= answered // 100, (worker_429, answered, single_429)
    killed = (tmp_path / "worker-0.log").read_text(errors="replace")
    survivors = "".join((tmp_path / f"worker-{n}.log").read_text(errors="replace") for n in (1, 2))
    assert "auditor.audit_account" in killed
    assert "was running on a worker that stopped: retried" in survivors, survivors[-3000:]
    print(f"\nworkers end-to-end: {time.monotonic() - started:.0f} s; 429s single {single_429}, workers {worker_429}")
