"""Real `auditor run` processes: SIGKILL at several points, two overlapping runs, private files.

The division's accounts use the manual connector (no network). One account can be held: the
launcher reads a named pipe beside its export before pulling it, which blocks until the test writes
to it and so holds a run at a known point (two accounts stored, one in progress) without any test
hook in the product. (The export itself cannot be the pipe: the loader refuses one, by design.)
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.faults import EXIT_ENVIRONMENT, EXIT_SOFTWARE
from auditor.run import EXIT_CLEAN, EXIT_FINDINGS, EXIT_LOCKED
from tests.waiting import wait_for

AUDITED = (EXIT_CLEAN, EXIT_FINDINGS)  # the audit completed (the real rules may find something)

WORKTREE = Path(__file__).resolve().parent.parent
# The command line, with the test rule that makes findings to follow (the real rules may not be
# installed yet); otherwise exactly `auditor ...`.
LAUNCHER = (
    "import sys\n"
    "from pathlib import Path\n"
    "from connectors.manual import ManualConnector\n"
    "from tests.fakeplatform import outsider_rule\n"
    "pull = ManualConnector.pull\n"
    "def held_pull(self, account, cursor):\n"
    "    hold = Path(f'{{account.export}}.hold')\n"
    "    if hold.exists():\n"
    "        hold.read_bytes()\n"
    "    return pull(self, account, cursor)\n"
    "ManualConnector.pull = held_pull\n"
    "from auditor.cli import main\n"
    "sys.argv = ['auditor', *sys.argv[1:]]\n"
    "{fault}\n"
    "with outsider_rule():\n"
    "    main()\n"
)
HEADER = (
    "record,kind,id,handle,name,target_id,target_handle,target_name,post_id,thread_id,created_at,text,url,hashtags\n"
)
EXPORT = HEADER + "admin,admin,10,sam_t,Sam Teacher,,,,,,,,,\nparticipant,,{pid},outsider_{pid},Pat Outsider,,,,,,,,,\n"
ACCOUNTS = ("club-a", "club-b", "club-c")
ACCOUNT = (
    "  - key: {key}\n    platform: facebook\n    connector: manual\n    export: ../exports/{key}.csv\n"
    "    handle: {key}\n    school: Test School\n    purpose: Club news\n    kind: joint\n"
    "    audience: closed\n    holders: [E1, E2]\n    admins: [E1, E2]\n"
)


@dataclass
class Site:
    root: Path

    @property
    def division(self) -> Path:
        return self.root / "division"

    @property
    def db(self) -> Path:
        return self.root / "var" / "auditor.db"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def env(self, **changes: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AUDITOR_", "ACCOUNT_", "DATABASE_URL"))}
        env.update(
            PYTHONPATH=str(WORKTREE),
            DATABASE_URL=f"sqlite:///{self.db}",
            AUDITOR_REPORT_DIR=str(self.reports),
            AUDITOR_LOCK_FILE=str(self.root / "var" / "auditor.lock"),
            AUDITOR_LOG_DIR=str(self.root / "logs"),
        )
        env.update(changes)
        return env

    def start(self, fault: str = "", unprivileged: bool = False, **env: str) -> subprocess.Popen[str]:
        """`auditor run`; `fault` is code run first that breaks the environment, `unprivileged` drops
        root's power to ignore file modes, `env` changes the environment."""
        return subprocess.Popen(
            [sys.executable, "-c", LAUNCHER.format(fault=fault), "run", "--division", str(self.division)],
            cwd=self.root,
            env=self.env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=without_root_file_powers if unprivileged else None,
        )

    def run(self, fault: str = "", unprivileged: bool = False, **env: str) -> subprocess.CompletedProcess[str]:
        process = self.start(fault, unprivileged, **env)
        out, err = process.communicate(timeout=120)
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    def hold(self, key: str) -> Path:
        return self.division / "exports" / f"{key}.csv.hold"

    def block_on(self, key: str) -> None:
        os.mkfifo(self.hold(key))

    def unblock(self, key: str) -> None:
        self.hold(key).unlink(missing_ok=True)
        export = self.division / "exports" / f"{key}.csv"
        export.write_text(EXPORT.format(pid=100 + ACCOUNTS.index(key)), encoding="utf-8")

    def feed(self, key: str) -> None:
        """Let a run held on the named pipe go on."""
        with open(self.hold(key), "w", encoding="utf-8") as pipe:
            pipe.write("go")
        self.hold(key).unlink()

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.db) as connection:
            return connection.execute(sql).fetchall()


def without_root_file_powers() -> None:
    """In the child before exec: root loses CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER, so
    file modes stop it as they stop the service account that runs the auditor (no-op for others)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


PR_CAPBSET_DROP = 24


@pytest.fixture
def site(tmp_path: Path) -> Site:
    site = Site(tmp_path)
    for folder in ("registry", "directory", "exports"):
        (site.division / folder).mkdir(parents=True)
    (site.division / "directory" / "staff.csv").write_text(
        "person_id,role,school,first_name,last_name,status,departure_date\n"
        "E1,staff,Test School,Sam,Teacher,active,\nE2,staff,Test School,Alex,Principal,active,\n",
        encoding="utf-8",
    )
    (site.division / "registry" / "accounts.yaml").write_text(
        "accounts:\n" + "".join(ACCOUNT.format(key=key) for key in ACCOUNTS), encoding="utf-8"
    )
    (site.division / "policy.yaml").write_text("division: Test Division\n", encoding="utf-8")
    for key in ACCOUNTS:
        site.unblock(key)
    return site


def wait_for_lines(process: subprocess.Popen[str], wanted: list[str], timeout: float = 60) -> list[str]:
    """Read the run's log (stderr) until every wanted fragment has appeared."""
    assert process.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    missing = list(wanted)
    while missing and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        missing = [w for w in missing if not any(w in s for s in seen)]
    assert not missing, f"never logged {missing}: {''.join(seen)}"
    return seen


def snapshot_of_reports(site: Site) -> dict[str, bytes]:
    return {
        str(p.relative_to(site.reports)): p.read_bytes()
        for p in sorted(site.reports.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def assert_consistent(site: Site, earlier_reports: dict[str, bytes]) -> None:
    assert site.query("PRAGMA integrity_check") == [("ok",)]
    # Every finished run has its exit code; findings belong to finished runs only.
    assert site.query(
        "SELECT count(*) FROM audit_run WHERE status != 'running' AND exit_code IS NULL AND status != 'crashed'"
    ) == [(0,)]
    assert site.query(
        "SELECT count(*) FROM finding f JOIN audit_run r ON r.id = f.run_id WHERE r.status = 'running'"
    ) == [(0,)]
    now = snapshot_of_reports(site)
    for name, content in earlier_reports.items():
        assert now.get(name) == content, f"{name} changed"
    latest = site.reports / "latest"
    report = json.loads((latest / "report.json").read_text(encoding="utf-8"))
    assert report["run"]["status"] in ("complete", "incomplete")


def outsider_statuses(site: Site, run_id: str) -> set[object]:
    rows = site.query(f"SELECT status FROM finding WHERE run_id = '{run_id}' AND rule_id = 'test-outsider-participant'")
    return {status for (status,) in rows}


def kill_while_collecting(site: Site) -> None:
    site.block_on("club-b")
    process = site.start()
    wait_for_lines(process, ["audited club-a", "audited club-c"])
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    # Two accounts were stored in their own transactions; the run never finished.
    assert site.query("SELECT count(*) FROM audit_run WHERE status = 'running'") == [(1,)]
    site.unblock("club-b")


def kill_at_start(site: Site) -> None:
    """Once the run has its row (it holds the lock), while it still reads club-a: waiting for that,
    not for a time, so a loaded machine does not kill the process before it has even started."""
    site.block_on("club-a")
    process = site.start()

    def running() -> bool:
        assert process.poll() is None, "the run ended before it started reading"
        return site.query("SELECT count(*) FROM audit_run WHERE status = 'running'") == [(1,)]

    wait_for(running, 60, "the run to start")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    site.unblock("club-a")


def kill_after_collecting(site: Site, delay: float = 0.0) -> None:
    process = site.start()
    wait_for_lines(process, [f"audited {key}" for key in ACCOUNTS])
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)  # somewhere in evaluation, reconciliation or publication
    process.wait(timeout=30)


def kill_during_reconciliation_or_publication(site: Site) -> None:
    kill_after_collecting(site, delay=0.03)


def kill_late(site: Site) -> None:
    kill_after_collecting(site, delay=0.1)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill",
    [kill_at_start, kill_while_collecting, kill_after_collecting, kill_during_reconciliation_or_publication, kill_late],
)
def test_sigkill_leaves_the_store_and_the_reports_consistent(site: Site, kill: object) -> None:
    first = site.run()
    assert first.returncode in AUDITED, first.stderr
    first_run = site.query("SELECT id FROM audit_run")[0][0]
    assert outsider_statuses(site, str(first_run)) == {"new"}
    earlier = snapshot_of_reports(site)

    kill(site)  # type: ignore[operator]
    assert_consistent(site, earlier)

    again = site.run()
    assert again.returncode in AUDITED, again.stderr
    assert_consistent(site, earlier)
    finished = site.query("SELECT id, status FROM audit_run WHERE status != 'crashed' ORDER BY started_at DESC")
    newest = finished[0]
    assert newest[1] == "complete"
    # The killed run either died (crashed) or had committed its results just before the kill.
    assert len(finished) in (2, 3) and finished[-1][0] == first_run
    # Reconciled against a finished run, never a dead one: the findings persist, none is new again.
    assert outsider_statuses(site, str(newest[0])) == {"persisting"}
    assert site.query("SELECT count(*) FROM audit_run WHERE status = 'running'") == [(0,)]
    # A dead run's snapshots were never evaluated: none of them is left.
    assert site.query(
        "SELECT count(*) FROM snapshot s JOIN audit_run r ON r.id = s.run_id WHERE r.status = 'crashed'"
    ) == [(0,)]
    report = json.loads((site.reports / "latest" / "report.json").read_text(encoding="utf-8"))
    assert report["run"]["id"] == newest[0]
    assert report["run"]["previous_run"] == finished[1][0]


@pytest.mark.slow
def test_a_second_run_exits_75_naming_the_holder_and_a_dead_holder_frees_the_lock(site: Site) -> None:
    site.block_on("club-b")
    holder = site.start()
    wait_for_lines(holder, ["audited club-a"])

    started = time.monotonic()
    second = site.run()
    assert second.returncode == EXIT_LOCKED
    assert time.monotonic() - started < 30, "the second run must exit at once, not wait"
    assert f"pid {holder.pid} since 20" in second.stderr

    site.feed("club-b")
    _out, err = holder.communicate(timeout=120)
    assert holder.returncode in AUDITED, err

    # A run that dies holding the lock: the operating system releases it.
    site.block_on("club-b")
    doomed = site.start()
    wait_for_lines(doomed, ["audited club-a"])
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    site.unblock("club-b")
    after = site.run()
    assert after.returncode in AUDITED, after.stderr
    assert "marked crashed" in after.stderr


@pytest.mark.slow
def test_reports_database_and_logs_are_private(site: Site) -> None:
    result = site.run()
    assert result.returncode in AUDITED, result.stderr
    log_file = site.root / "logs" / "auditor.log"
    assert "audited club-a" in log_file.read_text(encoding="utf-8")
    files = [site.db, log_file, *[p for p in site.reports.rglob("*") if p.is_file() and not p.is_symlink()]]
    folders = [
        site.db.parent,
        site.root / "logs",
        site.reports,
        *[p for p in site.reports.iterdir() if p.is_dir()],
    ]
    assert len(files) >= 4 and len(folders) >= 4
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in folders:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


# --- environment faults: exit 74, one line that says where and what to do ----------------------------

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING) ")
# SQLite's own limit on the file's size: from then on SQLite fails exactly as on a full disk (SQLITE_FULL).
DATABASE_DISK_FULL = (
    "from sqlalchemy import event\n"
    "from sqlalchemy.engine import Engine\n"
    "@event.listens_for(Engine, 'connect')\n"
    "def _disk_full(dbapi_connection, _record):\n"
    "    pages = dbapi_connection.execute('PRAGMA page_count').fetchone()[0]\n"
    "    dbapi_connection.execute(f'PRAGMA max_page_count={pages}')\n"
)
# The reports' disk fills up: writing a report fails as on a full disk, when its data reaches the disk.
REPORTS_DISK_FULL = (
    "import errno, os\n"
    "_fsync = os.fsync\n"
    "def _disk_full(fd):\n"
    "    if '/reports/' in os.readlink(f'/proc/self/fd/{fd}'):\n"
    "        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
    "    _fsync(fd)\n"
    "os.fsync = _disk_full\n"
)


def the_fault(result: subprocess.CompletedProcess[str]) -> str:
    """The environment fault as the operator sees it: exit 74, one line on stderr, no traceback."""
    assert result.returncode == EXIT_ENVIRONMENT, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    said = [line for line in result.stderr.splitlines() if line.strip() and not LOG_LINE.match(line)]
    assert len(said) == 1, result.stderr
    return said[0]


def test_a_full_database_disk_exits_74_naming_the_file_and_leaves_no_run_running(site: Site) -> None:
    first = site.run()
    assert first.returncode in AUDITED, first.stderr
    earlier = snapshot_of_reports(site)

    line = the_fault(site.run(DATABASE_DISK_FULL))
    assert f"Database {site.db}: the disk holding it is full" in line and "Free space" in line
    assert site.query("SELECT count(*) FROM audit_run WHERE status IN ('running', 'publishing')") == [(0,)]
    assert_consistent(site, earlier)


def test_a_full_reports_disk_leaves_the_run_publish_failed_and_latest_on_the_previous_report(site: Site) -> None:
    first = site.run()
    assert first.returncode in AUDITED, first.stderr
    first_run = site.query("SELECT id FROM audit_run")[0][0]

    line = the_fault(site.run(REPORTS_DISK_FULL))
    failed = site.query(f"SELECT id, status FROM audit_run WHERE id != '{first_run}'")
    assert [status for _, status in failed] == ["publish-failed"]
    assert f"Run {failed[0][0]} is publish-failed (`latest` is unchanged)" in line
    assert f"No space left to write {site.reports / str(failed[0][0])}" in line
    latest = json.loads((site.reports / "latest" / "report.json").read_text(encoding="utf-8"))
    assert latest["run"]["id"] == first_run

    # Space is back: the next run compares with the last report anyone saw, and is published.
    again = site.run()
    assert again.returncode in AUDITED, again.stderr
    newest = json.loads((site.reports / "latest" / "report.json").read_text(encoding="utf-8"))
    assert newest["run"]["status"] == "complete" and newest["run"]["previous_run"] == first_run


def test_a_read_only_database_exits_74_naming_the_file(site: Site) -> None:
    first = site.run()
    assert first.returncode in AUDITED, first.stderr
    site.db.chmod(0o444)

    line = the_fault(site.run(unprivileged=True))
    assert f"Database {site.db}: it is read-only" in line


def test_a_corrupt_database_exits_74_naming_the_file(site: Site) -> None:
    first = site.run()
    assert first.returncode in AUDITED, first.stderr
    for journal in site.db.parent.glob("auditor.db-*"):
        journal.unlink()
    with site.db.open("r+b") as database:
        database.write(b"this is not an SQLite database header")

    line = the_fault(site.run())
    assert f"Database {site.db}: the file is corrupt" in line and "backup" in line


def test_an_unreachable_database_exits_74_with_the_password_masked(site: Site) -> None:
    with socket.socket() as closed:  # bound, never listening: connections to it are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        url = f"postgresql://auditor:Hunter2Secret@127.0.0.1:{port}/auditor"
        result = site.run(DATABASE_URL=url)
    line = the_fault(result)
    assert f"Database postgresql://auditor:***@127.0.0.1:{port}/auditor" in line and "Connection refused" in line
    assert "Hunter2Secret" not in result.stderr + result.stdout


def test_a_database_the_auditor_may_not_open_exits_74_saying_permission_denied(site: Site) -> None:
    first = site.run()
    assert first.returncode in AUDITED, first.stderr
    site.db.chmod(0o000)

    line = the_fault(site.run(unprivileged=True))
    assert f"Database {site.db}: permission denied on {site.db}" in line


def test_a_run_ended_by_an_exception_leaves_no_row_running(site: Site) -> None:
    crash = "import auditor.owners\nauditor.owners.name_owners = lambda *a: 1 / 0\n"
    result = site.run(crash)
    assert result.returncode == EXIT_SOFTWARE and "ZeroDivisionError" in result.stderr  # not 1: findings
    assert site.query("SELECT status FROM audit_run") == [("crashed",)]
    assert site.query("SELECT count(*) FROM snapshot") == [(0,)]


# --- one run per database ---------------------------------------------------------------------------------


def test_two_runs_on_one_database_with_different_lock_files_never_both_run(site: Site) -> None:
    site.block_on("club-b")
    first = site.start()
    wait_for_lines(first, ["audited club-a"])

    second = site.start(AUDITOR_LOCK_FILE=str(site.root / "other-host" / "auditor.lock"))
    try:
        _out, err = second.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        second.kill()
        _out, err = second.communicate()
        pytest.fail(f"the second run did not stop while the first held the database: {err}")
    assert second.returncode == EXIT_LOCKED, err
    assert f"pid {first.pid} since 20" in err

    site.feed("club-b")
    _out, err = first.communicate(timeout=120)
    assert first.returncode in AUDITED, err
    assert site.query("SELECT status FROM audit_run") == [("complete",)]
