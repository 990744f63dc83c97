"""Workers' throughput with 1, 2 and 4 worker processes on one workload (issue #20).

    python -m bench.workers_bench [--divisions 4] [--accounts 50] [--workers 1 2 4] [--concurrency 2]
                                  [--credentials own|shared|both]

Needs PostgreSQL (AUDITOR_TEST_POSTGRES_URL, e.g. from `.ci/postgres.sh start`). The workload: N
divisions of M accounts on the fake platform (tests/fakeplatform.py: 100 ms per answer, a window of
LIMIT requests per second per credential, the same window declared in each policy), run twice: each
division with its own credential, then one credential shared by every division (its window binds).
Each worker runs `--concurrency` jobs at once (2, so that four workers fit a 2-core host's CPU).

The clock starts when every division's run is queued, after the workers have started. Printed per
worker count: seconds to the last published report (and to the last account job's end: `collect`),
accounts per second, the speed-up over one worker, the share of job time spent waiting for a request
slot (the rate limit binding), jobs rescheduled, the share of requests answered 429, and the workers'
CPU per account and share of the host's CPUs (start-up excluded).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from tempfile import TemporaryDirectory

from auditor.workers.pacing import SAFETY

REPO = Path(__file__).resolve().parents[1]
LAUNCH = REPO / "tests" / "workers_launch.py"
LIMIT = (25, 1)  # requests per second per credential, at the platform and in each policy
REQUESTS = 3  # per account: profile, followers, posts


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


def measure(
    postgres: str, workers: int, concurrency: int, divisions: int, accounts: int, scratch: Path, shared: bool
) -> dict[str, float]:
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
    root = scratch / f"w{workers}{'-shared' if shared else ''}"
    folders = [write_division(root, d, tag, accounts) for d in range(1, divisions + 1)]
    secrets = root / "secrets"
    secrets.mkdir()
    for d in range(1, divisions + 1):
        token = "token-consortium" if shared else f"token-{d}"  # shared: one app for every division
        (secrets / f"{slug_of(tag, d)}.env").write_text(f"ACCOUNT_FAKEPLAT_TOKEN={token}\n", encoding="utf-8")
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
                    [sys.executable, str(LAUNCH), "worker", "--concurrency", str(concurrency)],
                    env=env,
                    cwd=root,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                for log in logs
            ]
            try:
                _wait_for_workers(queue, workers, processes, root)
                cpu_at_start = sum(_cpu_seconds_so_far(process.pid) for process in processes)
                with _environment(env):
                    started = time.monotonic()
                    _enqueue_runs(queue, folders)
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
                worker_cpu = sum(_cpu_seconds_at_exit(process) for process in processes)
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
        "waiting": float(waited) / (elapsed * workers * concurrency),
        "rescheduled": float(rescheduled),
        "share_429": throttled / max(answered, 1),
        "requests": float(answered),
        "cpu_per_account": (worker_cpu - cpu_at_start) / (divisions * accounts),
        "cpu_share": (worker_cpu - cpu_at_start) / (elapsed * (os.cpu_count() or 1)),
    }


def _wait_for_workers(queue: str, count: int, processes: list[subprocess.Popen[bytes]], root: Path) -> None:
    """Every worker registered with Procrastinate: started, its rules' model loaded (not timed)."""
    from sqlalchemy import text

    from models.db import make_engine

    engine = make_engine(queue)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in processes):
                raise RuntimeError(f"a worker exited at start (see {root})")
            try:
                with engine.connect() as connection:
                    if connection.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one() >= count:
                        return
            except Exception:  # the table is created by the first worker's start
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{count} worker(s) not started after 120 s (see {root})")
    finally:
        engine.dispose()


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _enqueue_runs(queue: str, folders: list[Path]) -> None:
    """Every division's run queued at once, as the nightly schedule does (no CLI start-up timed)."""
    from auditor.workers.jobs import enqueue_run, make_app
    from auditor.workers.sites import load_site
    from connectors.registry import ConnectorRegistry
    from tests.fakeplatform import FakePlatformConnector

    ConnectorRegistry.inject(ConnectorRegistry.installed().with_classes(FakePlatformConnector))
    app = make_app(queue)
    with app.open():
        for folder in folders:
            if enqueue_run(app, load_site(folder, queue), None, False) is None:
                raise RuntimeError(f"{folder}: a run was already queued")


def _cpu_seconds_so_far(pid: int) -> float:
    """A running process's CPU time (user + system), from /proc (Linux; elsewhere 0: start-up counted)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds_at_exit(process: subprocess.Popen[bytes], timeout: float = 30) -> float:
    """The process's CPU time (user + system), read when it exits (killed after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, _status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = 0  # reaped here: Popen must not wait for it again
            return usage.ru_utime + usage.ru_stime
        time.sleep(0.05)
    process.kill()
    _pid, _status, usage = os.wait4(process.pid, 0)
    process.returncode = -9
    return usage.ru_utime + usage.ru_stime


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
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--concurrency", type=int, default=2, help="jobs each worker runs at once (2: four workers fit 2 cores)"
    )
    parser.add_argument(
        "--credentials",
        choices=["own", "shared", "both"],
        default="both",
        help="each division its own credential, one shared by all (its window binds), or both in turn",
    )
    args = parser.parse_args()
    postgres = os.environ.get("AUDITOR_TEST_POSTGRES_URL")
    if not postgres:
        sys.exit('needs PostgreSQL: eval "$(.ci/postgres.sh start)" first')
    sys.path.insert(0, str(REPO))
    accounts = args.divisions * args.accounts
    print(
        f"workload: {args.divisions} divisions x {args.accounts} accounts, {REQUESTS} requests each, 100 ms latency, "
        f"{LIMIT[0]} requests/{LIMIT[1]} s per credential; {args.concurrency} jobs per worker; {os.cpu_count()} CPUs"
    )
    with TemporaryDirectory() as scratch:
        for shared in {"own": [False], "shared": [True], "both": [False, True]}[args.credentials]:
            credentials = 1 if shared else args.divisions
            window = credentials * LIMIT[0] / LIMIT[1] / SAFETY / REQUESTS  # accounts/s the windows allow
            print(
                f"\n{'one credential shared by every division' if shared else 'each division its own credential'}: "
                f"the windows allow {window:.1f} accounts/s"
            )
            print(
                f"{'workers':>7} {'seconds':>8} {'collect':>8} {'acct/s':>7} {'speed-up':>8} {'x W':>5} "
                f"{'waiting':>8} {'resched':>7} {'429s':>6} {'cpu/acct':>8} {'cpu used':>8}"
            )
            first: tuple[int, float] | None = None
            for count in args.workers:
                result = measure(
                    postgres, count, args.concurrency, args.divisions, args.accounts, Path(scratch), shared
                )
                first = first or (count, result["seconds"])
                speed = first[1] * first[0] / result["seconds"]  # relative to one worker (the first run's, scaled)
                print(
                    f"{count:>7} {result['seconds']:>8.1f} {result['collect']:>8.1f} "
                    f"{accounts / result['collect']:>7.1f} {speed:>8.2f} {speed / count:>5.2f} "
                    f"{result['waiting']:>7.1%} {result['rescheduled']:>7.0f} {result['share_429']:>6.2%} "
                    f"{result['cpu_per_account'] * 1000:>6.0f}ms {result['cpu_share']:>8.0%}"
                )


if __name__ == "__main__":
    main()
