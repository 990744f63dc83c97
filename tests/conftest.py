"""Shared fixtures: a division folder copied from the demo, a private settings environment."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.scrub import forget_secrets

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "auditor" / "demo"
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _forget_registered_secrets() -> Iterator[None]:
    """Secrets registered by one test (settings load them process-wide) must not scrub the next
    test's text."""
    yield
    forget_secrets()


@pytest.fixture
def division_dir(tmp_path: Path) -> Path:
    """A writable copy of the demo division, with only the manual-connector accounts."""
    target = tmp_path / "division"
    shutil.copytree(DEMO, target)
    for registry in (target / "registry").glob("*.yaml"):
        if registry.name != "manual.yaml":
            registry.unlink()
    activities = target / "activities.yaml"
    text = activities.read_text(encoding="utf-8")
    activities.write_text(text.replace("accounts: [hhs-robotics-x]", "accounts: []"), encoding="utf-8")
    return target


@pytest.fixture
def auditor_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings pointing at a private database, report folder and lock file under tmp_path."""
    var = tmp_path / "var"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{var / 'auditor.db'}")
    monkeypatch.setenv("AUDITOR_REPORT_DIR", str(var / "reports"))
    monkeypatch.setenv("AUDITOR_LOCK_FILE", str(var / "auditor.lock"))
    monkeypatch.delenv("AUDITOR_CASSETTE_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # the HMAC key's default home, not the user's
    monkeypatch.chdir(tmp_path)
    return var
