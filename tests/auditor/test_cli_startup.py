"""Fast start (#21): the commands that only print (help, the rule list) and the start of every
command import neither the platform SDKs nor the database or report stack. The seconds are
bench/scale_bench.py's to print; here, what is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SDKS = ("tweepy", "facebook_business", "googleapiclient")
# The HTTP stacks under the SDKs too: a connector base imported for its declarations must not load them.
HEAVY = (*SDKS, "sqlalchemy", "sqlmodel", "alembic", "jinja2", "vcr", "requests", "httplib2", "urllib3")


def imported_modules(*args: str, code: str | None = None) -> tuple[set[str], str]:
    """Top-level packages `python -X importtime` saw imported, and what the command printed."""
    command = [sys.executable, "-X", "importtime", *(["-c", code] if code else ["-m", "auditor", *args])]
    done = subprocess.run(
        command, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    modules = {line.split("|")[-1].strip().split(".")[0] for line in lines}
    return modules, done.stdout


def test_help_imports_no_sdk_database_or_report_stack() -> None:
    modules, printed = imported_modules("--help")
    assert "Audit school social media accounts" in printed
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


@pytest.mark.usefixtures("auditor_env")
def test_the_rule_list_imports_no_sdk_or_database_stack() -> None:
    modules, printed = imported_modules("rules", "--json")
    assert '"non-school-participant"' in printed  # the rules are all there
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_a_command_starts_before_the_heavy_imports() -> None:
    """`auditor check KEY` loads the CLI first: the database, the report stack and the SDKs of the
    connectors come when the run needs them."""
    modules, _ = imported_modules(code="import auditor.cli")
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
