"""Run orchestration: incremental pulls keep the whole look-back window; isolation of accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from auditor.inputs import load_division
from auditor.merge import carry_forward
from auditor.run import execute_run
from auditor.settings import Settings
from connectors.base import Connector
from connectors.resilience import PlatformError
from models.snapshot import AccountSnapshot, Capability, ErrorKind, Identity, Interaction, Post
from tests.contexts import install_connectors

NOW = datetime(2026, 11, 15, 6, tzinfo=UTC)
ME = Identity(platform="twitter", id="1", handle="school")


def _snap(posts: list[Post], interactions: list[Interaction] | None = None) -> AccountSnapshot:
    snapshot = AccountSnapshot(
        account_key="a", platform="twitter", taken_at=NOW, posts=posts, interactions=interactions or []
    )
    from models.snapshot import CollectionState, CollectionStatus

    for capability in Capability:
        snapshot.collections[capability.value] = CollectionStatus(state=CollectionState.COMPLETE)
    return snapshot


def test_carry_forward_keeps_window_and_drops_old_and_duplicates() -> None:
    recent = Post(id="p1", created_at=NOW - timedelta(days=3), text="call 403-555-0142", author=ME)
    old = Post(id="p0", created_at=NOW - timedelta(days=45), text="old", author=ME)
    reply = Interaction(kind="reply", actor=ME, created_at=NOW - timedelta(days=2), url="https://x.com/s/1")
    previous = _snap([recent, old], [reply])
    current = _snap([Post(id="p2", created_at=NOW - timedelta(hours=5), author=ME)])
    carry_forward(previous, current, NOW - timedelta(days=30))
    assert [p.id for p in current.posts] == ["p2", "p1"]
    assert [i.url for i in current.interactions] == ["https://x.com/s/1"]
    carry_forward(previous, current, NOW - timedelta(days=30))
    assert [p.id for p in current.posts] == ["p2", "p1"]  # idempotent


def test_carry_forward_skips_failed_collections() -> None:
    from models.snapshot import CollectionState, CollectionStatus

    previous = _snap([Post(id="p1", created_at=NOW - timedelta(days=1))])
    current = _snap([])
    current.collections["posts"] = CollectionStatus(state=CollectionState.FAILED, error=ErrorKind.AUTH)
    carry_forward(previous, current, NOW - timedelta(days=30))
    assert current.posts == []


class ExplodingConnector(Connector):
    """Crashes on one account, to prove the others are still audited."""

    name = "exploding"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)

    def pull(self, account, cursor):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom with token=abc123secret")

    def classify_error(self, error: BaseException) -> PlatformError:
        return PlatformError(ErrorKind.MALFORMED, str(error))


def test_one_account_crash_does_not_stop_others(
    division_dir: Path, auditor_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_connectors(monkeypatch, ExplodingConnector)
    division = load_division(division_dir)
    crashing = next(a for a in division.accounts if a.key == "rbe-news-group")
    crashing.connector = "exploding"
    outcome = execute_run(division, Settings(), as_of=NOW)
    assert outcome.exit_code == 3
    assert outcome.incomplete_accounts == ["rbe-news-group"]
    import json

    report = json.loads((outcome.report_folder / "report.json").read_text())  # type: ignore[operator]
    coverage = {c["account"]: c for c in report["coverage"]}
    assert coverage["rbe-news-group"]["state"] == "failed"
    reason = coverage["rbe-news-group"]["collections"]["profile"]["reason"]
    assert "RuntimeError" in reason and "abc123secret" not in reason
    assert coverage["rbe-reading-group"]["state"] == "complete"
    assert any(f["rule"] == "audit-incomplete" and f["account"] == "rbe-news-group" for f in report["findings"])
    assert any(f["account"] == "rbe-reading-group" for f in report["findings"])
