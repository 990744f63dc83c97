"""The manual connector reads its export bounded in size and time: a pipe or an oversized file that
appears after the load-time check ends as a failed collection, never a hung or exhausted run."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from auditor.inputs import load_division
from auditor.policy import Policy
from connectors.manual import ManualConnector
from connectors.resilience import Deadline
from models.snapshot import AccountSnapshot, Capability, CollectionState
from tests.contexts import context_for

AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)


def _pull_within(
    division_dir: Path, policy: Policy, seconds: float, spoil: Callable[[Path], None] | None = None
) -> AccountSnapshot:
    """Load the division (the export passes the load-time check), spoil the export, pull it in a thread."""
    account = next(a for a in load_division(division_dir).accounts if a.key == "rbe-news-group")
    export = Path(account.export or "")
    if spoil is not None:
        spoil(export)
    context = context_for(ManualConnector, policy=policy, as_of=AS_OF, deadline=Deadline(60))
    result: list[AccountSnapshot] = []
    worker = threading.Thread(target=lambda: result.append(ManualConnector(context).pull(account, {})), daemon=True)
    worker.start()
    worker.join(timeout=seconds)
    if worker.is_alive():  # release the blocked reader before failing
        with open(export, "w", encoding="utf-8"):
            pass
        raise AssertionError(f"the pull was still reading its export after {seconds} s")
    return result[0]


def _failed(snapshot: AccountSnapshot) -> str:
    status = snapshot.status_of(Capability.PROFILE)
    assert status is not None and status.state == CollectionState.FAILED, status
    return status.reason or ""


def test_an_export_swapped_for_a_pipe_after_loading_fails_the_collection_at_once(division_dir: Path) -> None:
    def to_pipe(export: Path) -> None:
        export.unlink()
        os.mkfifo(export)

    snapshot = _pull_within(division_dir, Policy(), seconds=10, spoil=to_pipe)
    assert "named pipe" in _failed(snapshot)


def test_an_export_over_the_policy_limit_fails_the_collection(division_dir: Path) -> None:
    snapshot = _pull_within(division_dir, Policy(export_max_bytes=100), seconds=10)
    assert "more than the limit of 100" in _failed(snapshot)
