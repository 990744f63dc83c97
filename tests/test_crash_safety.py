"""Real `auditor run` processes: SIGKILL at several points, two overlapping runs, private files.

The division's accounts use the manual connector (no network). One account can be held: the
launcher reads a named pipe beside its export before pulling it, which blocks until the test writes
to it and so holds a run at a known point (two accounts stored, one in progress) without any test
hook in the product. (The export itself cannot be the pipe: the loader refuses one, by design.)
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.run import EXIT_CLEAN, EXIT_FINDINGS, EXIT_LOCKED

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
    "    hold = Path(f'{account.export}.hold')\n"
    "    if hold.exists():\n"
    "        hold.read_bytes()\n"
    "    return pull(self, account, cursor)\n"
    "ManualConnector.pull = held_pull\n"
    "from auditor.cli import main\n"
    "sys.argv = ['auditor', *sys.argv[1:]]\n"
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

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AUDITOR_", "ACCOUNT_", "DATABASE_URL"))}
        env.update(
            PYTHONPATH=str(WORKTREE),
            DATABASE_URL=f"sqlite:///{self.db}",
            AUDITOR_REPORT_DIR=str(self.reports),
            AUDITOR_LOCK_FILE=str(self.root / "var" / "auditor.lock"),
            AUDITOR_LOG_DIR=str(self.root / "logs"),
        )
        return env

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, "run", "--division", str(self.division)],
            cwd=self.root,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self) -> subprocess.CompletedProcess[str]:
        process = self.start()
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
    process = site.start()
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


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
