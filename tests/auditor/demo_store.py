"""The bundled demo audited once into a throwaway store, for tests that run commands after it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO_DIVISION = REPO / "auditor" / "demo"
AS_OF = "2026-11-15T06:00:00"


def run_demo(output: Path) -> Path:
    """`auditor demo --output OUTPUT` in a subprocess (the command sets its own environment)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "FACEBOOK_", "YOUTUBE_", "ACCOUNT_"))}
    for name in ("DATABASE_URL", "AUDITOR_REPORT_DIR", "AUDITOR_LOCK_FILE", "AUDITOR_CASSETTE_DIR"):
        env.pop(name, None)
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "demo", "--output", str(output)],
        cwd=output.parent, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    return output


def demo_env(store: Path, into: Path) -> dict[str, str]:
    """Settings for commands after the demo: a private copy of its database and key, its recordings."""
    into.mkdir(parents=True, exist_ok=True)
    shutil.copy(store / "auditor.db", into / "auditor.db")
    shutil.copy(store / "demo-hmac.key", into / "demo-hmac.key")
    shutil.copytree(store / "reports", into / "reports", symlinks=True)
    return {
        "DATABASE_URL": f"sqlite:///{into / 'auditor.db'}",
        "AUDITOR_REPORT_DIR": str(into / "reports"),
        "AUDITOR_LOCK_FILE": str(into / "auditor.lock"),
        "AUDITOR_HMAC_KEY_FILE": str(into / "demo-hmac.key"),
        "AUDITOR_CASSETTE_DIR": str(REPO / "cassettes" / "demo"),
    }
