"""The manual connector turns an ITS export into a snapshot, and a bad export into a clear failure."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from auditor.inputs import load_division
from auditor.policy import Policy
from auditor.settings import Settings
from connectors.base import ConnectorContext
from connectors.manual import ManualConnector
from connectors.resilience import Deadline
from models.snapshot import CollectionState, ErrorKind

AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)


def _pull(division_dir: Path, key: str):  # type: ignore[no-untyped-def]
    account = next(a for a in load_division(division_dir).accounts if a.key == key)
    context = ConnectorContext(settings=Settings(), policy=Policy(), as_of=AS_OF, deadline=Deadline(60))
    return ManualConnector(context).pull(account, {}), account


def test_group_export_becomes_snapshot(division_dir: Path) -> None:
    snapshot, _ = _pull(division_dir, "rbe-reading-group")
    assert snapshot.platform == "facebook"
    assert snapshot.profile is not None and snapshot.profile.closed is True
    assert [a.identity.display_name for a in snapshot.admins] == ["PHRD ITS Admin", "Karen Fox", "Rob MacLeod"]
    assert all(a.source == "export" for a in snapshot.admins)
    assert "Kyle Brennan" in {p.display_name for p in snapshot.participants}
    assert len(snapshot.participants) == 7
    (post,) = snapshot.posts
    assert post.hashtags == ["#RBEReads"] and post.created_at == datetime(2026, 11, 3, 15, tzinfo=UTC)
    (comment,) = snapshot.interactions
    assert comment.kind == "comment" and comment.actor.display_name == "Wei Zhang"
    assert comment.target is not None and comment.target.display_name == "Lea Hall"
    assert {s.state for s in snapshot.collections.values()} == {CollectionState.COMPLETE}


def test_missing_export_fails_every_collection(division_dir: Path) -> None:
    # The loader refuses a missing export; one deleted after loading fails the collections.
    account = next(a for a in load_division(division_dir).accounts if a.key == "rbe-news-group")
    (division_dir / "exports" / "rbe-news-group.csv").unlink()
    context = ConnectorContext(settings=Settings(), policy=Policy(), as_of=AS_OF, deadline=Deadline(60))
    snapshot = ManualConnector(context).pull(account, {})
    states = {name: s.state for name, s in snapshot.collections.items()}
    assert set(states.values()) == {CollectionState.FAILED}
    status = snapshot.collections["participants"]
    assert status.error == ErrorKind.NOT_FOUND
    assert status.reason is not None and "rbe-news-group.csv" in status.reason


def test_bad_row_names_file_line_and_field(division_dir: Path) -> None:
    export = division_dir / "exports" / "rbe-news-group.csv"
    lines = export.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("admin,admin", "admn,admin", 1)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    snapshot, _ = _pull(division_dir, "rbe-news-group")
    status = snapshot.collections["admins"]
    assert status.state == CollectionState.FAILED and status.error == ErrorKind.MALFORMED
    assert status.reason is not None and "rbe-news-group.csv:4: field 'record'" in status.reason
