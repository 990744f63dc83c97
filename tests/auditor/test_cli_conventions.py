"""CLI conventions cron and ITS staff rely on: --version, --quiet, rules --json, progress and wrapping,
shell completion, a dry run that writes nothing, and doctor's checks of manual exports."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from auditor.cli import app, demo_division_dir
from auditor.rules.base import load_rules

runner = CliRunner()
AS_OF = "2026-11-15T06:00:00"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
SCRIPT = Path(sys.executable).parent / "auditor"  # the console script pip installed


def _auditor(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        cwd=cwd,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=240,
    )


# --- global options -------------------------------------------------------------------------------


def test_version_prints_the_installed_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"auditor {metadata.version('school-social-auditor')}"


def test_quiet_run_prints_only_the_summary_line(division_dir: Path, auditor_env: Path) -> None:
    result = _auditor("-q", "run", "--division", str(division_dir), "--as-of", AS_OF, cwd=division_dir.parent)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    report = (auditor_env / "reports" / "latest").resolve() / "report.json"
    open_findings = sum(json.loads(report.read_text())["summary"]["by_severity"].values())
    assert lines[0].startswith("Audit run ") and f": {open_findings} open finding(s) (high " in lines[0]
    assert lines[0].endswith(f"report: {report}; exit code 1")
    assert " INFO " not in result.stderr  # no progress lines, no log chatter: only errors


def test_quiet_and_verbose_exclude_each_other() -> None:
    result = runner.invoke(app, ["-q", "-v", "rules"])
    assert result.exit_code == 2
    assert "--quiet and --verbose exclude each other" in result.output


# --- rules --json / --division --------------------------------------------------------------------


def test_rules_json_lists_every_rule_with_the_divisions_policy(division_dir: Path, auditor_env: Path) -> None:
    result = runner.invoke(app, ["rules", "--json"])
    assert result.exit_code == 0, result.output
    defaults = {entry["id"]: entry for entry in json.loads(result.output)}
    assert set(defaults) == set(load_rules())
    opt_in = {rule_id for rule_id, r in load_rules().items() if r.meta.opt_in}  # off until their policy switch
    assert opt_in and all(defaults[rule_id]["enabled"] is False for rule_id in opt_in)
    assert all(e["enabled"] for k, e in defaults.items() if k not in opt_in)
    assert all(e["severity"] == e["default_severity"] for e in defaults.values())
    assert defaults["account-not-reviewed"]["severity"] == "medium"

    policy_file = division_dir / "policy.yaml"
    policy = yaml.safe_load(policy_file.read_text()) or {}
    policy.update({"severities": {"account-not-reviewed": "critical"}, "disabled_rules": ["password-reset-overdue"]})
    policy_file.write_text(yaml.safe_dump(policy))
    result = runner.invoke(app, ["rules", "--json", "--division", str(division_dir)])
    assert result.exit_code == 0, result.output
    applied = {entry["id"]: entry for entry in json.loads(result.output)}
    assert applied["account-not-reviewed"]["severity"] == "critical"
    assert applied["account-not-reviewed"]["default_severity"] == "medium"
    assert applied["password-reset-overdue"]["enabled"] is False
    assert [k for k, e in applied.items() if not e["enabled"] and k not in opt_in] == ["password-reset-overdue"]

    table = runner.invoke(app, ["rules", "--division", str(division_dir)]).output
    row = next(line for line in table.splitlines() if "account-not-reviewed" in line)
    assert "critical (default medium)" in row
    assert "disabled" in next(line for line in table.splitlines() if "password-reset-overdue" in line)


# --- progress and wrapping ------------------------------------------------------------------------


def _run_in_terminal(args: list[str], cwd: Path, deadline_seconds: float = 180) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin, stdout and stderr; its output and exit code."""
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="160", LINES="40")
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", *args],
        cwd=cwd,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + deadline_seconds
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


def test_a_terminal_gets_a_progress_bar_and_a_pipe_plain_log_lines(division_dir: Path, auditor_env: Path) -> None:
    code, shown = _run_in_terminal(["run", "--division", str(division_dir), "--as-of", AS_OF], division_dir.parent)
    assert code == 1, shown
    assert re.search(r"Auditing accounts.*4/4 accounts", shown), shown
    assert "━" in shown  # the bar itself

    piped = _auditor("run", "--division", str(division_dir), "--as-of", AS_OF, cwd=division_dir.parent)
    assert piped.returncode == 1
    for key in ("rbe-reading-group", "rbe-news-group", "hhs-whitford-class", "hhs-athletics-tiktok"):
        assert re.search(rf" INFO auditor: audited {key}: (complete|incomplete)$", piped.stderr, re.M), piped.stderr
    assert "━" not in piped.stderr and "4/4" not in piped.stderr


def test_piped_output_is_never_wrapped(division_dir: Path, auditor_env: Path) -> None:
    env = dict(os.environ, COLUMNS="40")  # a narrow terminal elsewhere must not fold cron's lines
    result = _auditor("run", "--division", str(division_dir), "--as-of", AS_OF, cwd=division_dir.parent, env=env)
    report = (auditor_env / "reports" / "latest").resolve() / "report.json"
    assert len(f"Report: {report}") > 40
    assert f"Report: {report}" in result.stdout.splitlines(), result.stdout

    rules = _auditor("rules", cwd=division_dir.parent, env=env)
    for rule_id, rule in load_rules().items():
        assert any(rule_id in line and rule.meta.title in line for line in rules.stdout.splitlines()), rule_id


# --- shell completion -----------------------------------------------------------------------------


def test_completion_offered_in_help_is_installed(tmp_path: Path) -> None:
    if not SCRIPT.exists():
        pytest.skip("the auditor console script is not installed beside this Python")
    home = tmp_path / "home"
    home.mkdir()
    # Typer's own switch: take the shell as an argument instead of detecting the parent shell.
    env = dict(os.environ, HOME=str(home), _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    helped = subprocess.run([str(SCRIPT), "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert "--install-completion" in helped.stdout and "--show-completion" in helped.stdout

    installed = subprocess.run(
        [str(SCRIPT), "--install-completion", "bash"], env=env, capture_output=True, text=True, timeout=60
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    script = home / ".bash_completions" / "auditor.sh"
    assert "_AUDITOR_COMPLETE" in script.read_text()
    assert str(script) in (home / ".bashrc").read_text()


# --- dry run --------------------------------------------------------------------------------------


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_dry_run_in_a_fresh_environment_writes_nothing_and_states_the_least_time(tmp_path: Path) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    variables = ("DATABASE_URL", "AUDITOR_REPORT_DIR", "AUDITOR_LOCK_FILE", "AUDITOR_CASSETTE_DIR", "XDG_CONFIG_HOME")
    env = {k: v for k, v in os.environ.items() if k not in variables}
    env.update(HOME=str(home), AUDITOR_LOG_DIR=str(work / "logs"))  # defaults: var/auditor.db, reports/, ...
    before = _tree(tmp_path)

    result = _auditor("run", "--dry-run", "--division", str(demo_division_dir()), cwd=work, env=env)
    assert result.returncode == 0, result.stderr
    assert _tree(tmp_path) == before  # no database, folder, lock, key or log file
    for platform in ("facebook", "twitter", "youtube"):  # every platform the demo registry calls
        assert re.search(rf"^{platform}: least time under the rate limits \d", result.stdout, re.M), result.stdout
    assert "Estimated cost: $" in result.stdout


# --- doctor: manual exports and Facebook ids ------------------------------------------------------


def _exports(division_dir: Path) -> dict[str, Path]:
    registry = yaml.safe_load((division_dir / "registry" / "manual.yaml").read_text())
    return {a["key"]: (division_dir / "registry" / a["export"]).resolve() for a in registry["accounts"]}


def _doctor(division_dir: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["doctor", "--division", str(division_dir)])
    return result.exit_code, result.output


def test_doctor_checks_manual_exports_against_the_policys_maximum_age(division_dir: Path, auditor_env: Path) -> None:
    exports = _exports(division_dir)
    now = time.time()
    for path in exports.values():
        os.utime(path, (now, now))
    code, output = _doctor(division_dir)
    assert code == 0, output
    assert sum(1 for line in output.splitlines() if "exports" in line and "readable" in line) == len(exports)

    old = (datetime.now(UTC) - timedelta(days=40)).timestamp()
    os.utime(exports["hhs-athletics-tiktok"], (old, old))
    code, output = _doctor(division_dir)
    assert code == 1, output
    line = next(line for line in output.splitlines() if "hhs-athletics-tiktok" in line)
    assert "warning" in line and "exported 40 day(s) ago" in line and "max_export_age_days: 35" in line

    policy_file = division_dir / "policy.yaml"
    policy_file.write_text(policy_file.read_text() + "max_export_age_days: 60\n")
    assert _doctor(division_dir)[0] == 0

    exports["rbe-news-group"].unlink()
    code, output = _doctor(division_dir)
    assert code == 2, output
    # (A missing export is also an input problem since the loader checks exports: either way it is named.)
    assert "export file not found" in next(line for line in output.splitlines() if "rbe-news-group" in line)


def test_doctor_warns_when_a_facebook_its_admin_is_not_a_numeric_id(division_dir: Path, auditor_env: Path) -> None:
    registry = division_dir / "registry" / "manual.yaml"
    now = time.time()
    for path in _exports(division_dir).values():
        os.utime(path, (now, now))
    assert _doctor(division_dir)[0] == 0  # the demo's Facebook groups name ITS by id: 61550000009999
    text = registry.read_text()
    registry.write_text(text.replace('its_admin: "61550000009999"', 'its_admin: "PHRD ITS Social"', 1))
    code, output = _doctor(division_dir)
    assert code == 1, output
    line = next(line for line in output.splitlines() if "rbe-reading-group its_admin" in line)
    assert "warning" in line and "'PHRD ITS Social'" in line and "numeric Facebook id" in line
    assert "hhs-whitford-class its_admin" not in output  # an X handle is the form X lists
