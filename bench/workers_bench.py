"""Workers' throughput with 1, 2 and 4 worker processes on one workload (issue #20).

    python -m bench.workers_bench [--divisions 4] [--accounts 25] [--workers 1 2 4]

Needs PostgreSQL (AUDITOR_TEST_POSTGRES_URL, e.g. from `.ci/postgres.sh start`). The workload: N
divisions of M accounts on the fake platform (tests/fakeplatform.py: 100 ms per answer, a window of
LIMIT requests per second per credential, each division its own credential, the same window in each
policy). Each worker runs 4 jobs at once. Printed per worker count: seconds from the first queued run
to the last published report (and to the last account job's end: `collect`), the speed-up over one
worker, the share of job time spent waiting for a request slot (the rate limit binding), jobs
rescheduled, and the share of requests answered 429.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

REPO = Path(__file__).resolve().parents[1]
LAUNCH = REPO / "tests" / "workers_launch.py"
LIMIT = (25, 1)  # requests per second per credential, at the platform and in each policy
CONCURRENCY = 4


def write_division(root: Path, number: int, tag: str, accounts: int) -> Path:
    """Division `number`: `accounts` fake-platform accounts, two staff, the platform's window in its policy."""
    folder = root / f"division-{number}"
    (folder / "registry").mkdir(parents=True)
    (folder / "directory").mkdir()
    (folder / "directory" / "staff.csv").write_text(
        "person_id,role,school,first_name,last_name,status,handles,departure_date\n"
        f"E{number}1,staff,School {number},Sam,Teacher,active,fakeplat:d{number}_teacher,\n"
        f"E{number}2,staff,School {number},Alex,Principal,active,,\n",
        encoding="utf-8",
    )
    entries = "".join(
        f"  - key: d{number}-acct{n:02d}\n    platform: fakeplat\n    handle: d{number}_acct{n:02d}\n"
        f"    school: School {number}\n    purpose: Club news\n    kind: joint\n    audience: closed\n"
        f"    holders: [E{number}1, E{number}2]\n    admins: [E{number}1, E{number}2]\n"
        for n in range(accounts)
    )
    (folder / "registry" / "accounts.yaml").write_text("accounts:\n" + entries, encoding="utf-8")
    (folder / "policy.yaml").write_text(
        f"division: Workers {tag} {number}\napproved_platforms: [fakeplat]\n"
        "concurrency: {fakeplat: 2}\n"
        f"rate_limits: {{fakeplat: {{requests: {LIMIT[0]}, seconds: {LIMIT[1]}}}}}\n",
        encoding="utf-8",
    )
    return folder


def script_platform(server: object, divisions: int, accounts: int) -> None:
    """Each account: a profile, two followers (a staff member and an outsider), one post."""
    from tests.fakeplatform import FakePlatform, ok, users

    assert isinstance(server, FakePlatform)
    for d in range(1, divisions + 1):
        for n in range(accounts):
            handle, uid = f"d{d}_acct{n:02d}", f"{d}{n:03d}"
            server.script(f"/users/{handle}", ok({"data": {"id": uid, "username": handle, "name": f"Club {n}"}}))
            followers = [(f"{d}9{n:03d}", f"d{d}_teacher", "Sam Teacher"), (f"7{uid}", f"outsider_{uid}", "Pat Doe")]
            server.script(f"/users/{uid}/followers", ok({"data": users(*followers), "meta": {"result_count": 2}}))
            server.script(f"/users/{uid}/posts", ok({"data": [{"id": f"p{uid}", "text": "Game day"}]}))


def slug_of(tag: str, number: int) -> str:
    return f"workers_{tag}_{number}"


def measure(postgres: str, workers: int, divisions: int, accounts: int, scratch: Path) -> dict[str, float]:
    from sqlalchemy import text

    from models.db import make_engine
    from tests.fakeplatform import FakePlatform

    tag = uuid.uuid4().hex[:10]
    schema = f"wq_{tag}"
    admin = make_engine(postgres)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres else "?"
    queue = f"{postgres}{separator}options=-csearch_path%3D{schema}"
    root = scratch / f"w{workers}"
    folders = [write_division(root, d, tag, accounts) for d in range(1, divisions + 1)]
    secrets = root / "secrets"
    secrets.mkdir()
    for d in range(1, divisions + 1):
        (secrets / f"{slug_of(tag, d)}.env").write_text(f"ACCOUNT_FAKEPLAT_TOKEN=token-{d}\n", encoding="utf-8")
    try:
        with FakePlatform() as server:
            server.delay, server.rate_limit = 0.1, LIMIT
            script_platform(server, divisions, accounts)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "FACEBOOK_", "YOUTUBE_", "ACCOUNT_"))}
            env |= {
                "FAKEPLAT_URL": server.url,
                "AUDITOR_QUEUE_URL": queue,
                "AUDITOR_SECRETS_DIR": str(secrets),
                "AUDITOR_REPORT_DIR": str(root / "reports"),
                "AUDITOR_HMAC_KEY": "bench-hmac-key-0123456789abcdef",
                "XDG_CONFIG_HOME": str(root / "config"),
            }
            logs = [open(root / f"worker-{n}.log", "wb") for n in range(workers)]  # noqa: SIM115
            processes = [
                subprocess.Popen(
                    [sys.executable, str(LAUNCH), "worker", "--concurrency", str(CONCURRENCY)],
                    env=env,
                    cwd=root,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                for log in logs
            ]
            try:
                enqueues = [
                    subprocess.Popen(
                        [sys.executable, str(LAUNCH), "enqueue", "--division", str(f)],
                        env=env,
                        cwd=root,
                        stdout=subprocess.DEVNULL,
                    )
                    for f in folders
                ]
                for process in enqueues:
                    process.wait(timeout=120)
                started = time.monotonic()
                reports = [
                    root / "reports" / slug_of(tag, d) / "latest" / "report.json" for d in range(1, divisions + 1)
                ]
                deadline = started + 900
                collected: float | None = None
                while not all(r.exists() for r in reports):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{workers} worker(s): not every report after 900 s (see {root})")
                    if collected is None and _all_collected(queue, tag, divisions, reports):
                        collected = time.monotonic() - started  # every account job ended: finishing jobs left
                    time.sleep(0.2)
                elapsed = time.monotonic() - started
            finally:
                for process in processes:
                    process.send_signal(signal.SIGTERM)
                for process in processes:
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        process.kill()
                for log in logs:
                    log.close()
            throttled, answered = server.throttled, server.answered
        with make_engine(queue).connect() as connection:
            waited, rescheduled = connection.execute(
                text(
                    "SELECT coalesce(sum(waited_seconds), 0), coalesce(sum(rescheduled), 0) FROM auditor_request_slots"
                )
            ).one()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            for d in range(1, divisions + 1):
                connection.execute(text(f'DROP SCHEMA IF EXISTS "division_{slug_of(tag, d)}" CASCADE'))
        admin.dispose()
    return {
        "seconds": elapsed,
        "collect": collected if collected is not None else elapsed,
        "waiting": float(waited) / (elapsed * workers * CONCURRENCY),
        "rescheduled": float(rescheduled),
        "share_429": throttled / max(answered, 1),
        "requests": float(answered),
    }


def _all_collected(queue: str, tag: str, divisions: int, reports: list[Path]) -> bool:
    """Every division's account jobs have ended: its report is out, or its run has accounts and none pending."""
    from sqlalchemy import text

    from models.db import make_engine

    engine = make_engine(queue)
    try:
        with engine.connect() as connection:
            for d, report in zip(range(1, divisions + 1), reports, strict=True):
                if report.exists():
                    continue
                table = f'"division_{slug_of(tag, d)}".auditor_worker_accounts'
                if connection.execute(text(f"SELECT to_regclass('{table}')")).scalar() is None:
                    return False
                query = text(f"SELECT count(*), count(*) FILTER (WHERE state = 'pending') FROM {table}")
                rows, pending = connection.execute(query).one()
                if rows == 0 or pending:
                    return False
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--divisions", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=25)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    postgres = os.environ.get("AUDITOR_TEST_POSTGRES_URL")
    if not postgres:
        sys.exit('needs PostgreSQL: eval "$(.ci/postgres.sh start)" first')
    sys.path.insert(0, str(REPO))
    print(
        f"workload: {args.divisions} divisions x {args.accounts} accounts, 3 requests each, 100 ms latency, "
        f"{LIMIT[0]} requests/{LIMIT[1]} s per credential; {CONCURRENCY} jobs per worker"
    )
    print(
        f"{'workers':>7} {'seconds':>8} {'collect':>8} {'speed-up':>8} {'x W':>5} "
        f"{'waiting':>8} {'resched':>7} {'429s':>6}"
    )
    first: tuple[int, float] | None = None
    with TemporaryDirectory() as scratch:
        for count in args.workers:
            result = measure(postgres, count, args.divisions, args.accounts, Path(scratch))
            first = first or (count, result["seconds"])
            speed = first[1] * first[0] / result["seconds"]  # relative to one worker (the first run's, scaled)
            print(
                f"{count:>7} {result['seconds']:>8.1f} {result['collect']:>8.1f} {speed:>8.2f} {speed / count:>5.2f} "
                f"{result['waiting']:>7.1%} {result['rescheduled']:>7.0f} {result['share_429']:>6.2%}"
            )


if __name__ == "__main__":
    main()
