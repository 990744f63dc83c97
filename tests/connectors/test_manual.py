"""The manual connector turns an ITS export into a snapshot, and a bad export into a clear failure."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.inputs import load_division
from auditor.policy import Policy
from connectors.manual import ManualConnector
from connectors.resilience import Deadline
from models.snapshot import CollectionState, ErrorKind
from tests.contexts import context_for

AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)


def _pull(division_dir: Path, key: str):  # type: ignore[no-untyped-def]
    account = next(a for a in load_division(division_dir).accounts if a.key == key)
    context = context_for(ManualConnector, policy=Policy(), as_of=AS_OF, deadline=Deadline(60))
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
    context = context_for(ManualConnector, policy=Policy(), as_of=AS_OF, deadline=Deadline(60))
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


# --- coverage: an export that shows less is partial, never a clean bill -----------------------

DEPARTED_ADMIN = "facebook:id:61550000000013"  # Rob MacLeod, E1013, departed 2026-09-15


def _run(division_dir: Path, as_of: str):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from auditor.cli import app

    return CliRunner().invoke(app, ["run", "--division", str(division_dir), "--as-of", as_of], catch_exceptions=False)


def _latest_report(auditor_env: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((auditor_env / "reports" / "latest" / "report.json").read_text(encoding="utf-8"))


def _finding(report: dict, account: str, rule: str, subject: str) -> dict:  # type: ignore[type-arg]
    (found,) = [f for f in report["findings"] if (f["account"], f["rule"], f["subject"]) == (account, rule, subject)]
    return found


def test_empty_export_after_a_good_one_leaves_the_departed_admin_unknown(division_dir: Path, auditor_env: Path) -> None:
    first = _run(division_dir, "2026-11-14T06:00:00")
    assert first.exit_code == 1, first.output
    before = _finding(_latest_report(auditor_env), "rbe-reading-group", "admin-not-active-staff", DEPARTED_ADMIN)
    assert before["status"] == "new" and "departed" in before["message"]

    (division_dir / "exports" / "rbe-reading-group.csv").write_bytes(b"")  # ITS's export job wrote nothing
    second = _run(division_dir, "2026-11-15T06:00:00")

    assert second.exit_code == 3, second.output
    report = _latest_report(auditor_env)
    after = _finding(report, "rbe-reading-group", "admin-not-active-staff", DEPARTED_ADMIN)
    assert after["status"] == "unknown"
    (coverage,) = [c for c in report["coverage"] if c["account"] == "rbe-reading-group"]
    assert coverage["state"] != "complete"
    admins = coverage["collections"]["admins"]
    assert admins["state"] == "unavailable" and "rbe-reading-group.csv is empty" in admins["reason"]


def _rewrite(export: Path, *, drop_columns: tuple[str, ...] = (), drop_records: tuple[str, ...] = ()) -> None:
    """The export as ITS's tool might write it: without some columns, or without some kinds of rows."""
    rows = list(csv.DictReader(io.StringIO(export.read_text(encoding="utf-8"))))
    columns = [c for c in rows[0] if c not in drop_columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(r for r in rows if r["record"] not in drop_records)
    export.write_text(out.getvalue(), encoding="utf-8")


def test_header_only_export_makes_every_collection_unavailable(division_dir: Path) -> None:
    export = division_dir / "exports" / "rbe-news-group.csv"
    export.write_text(export.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    snapshot, _ = _pull(division_dir, "rbe-news-group")
    assert {s.state for s in snapshot.collections.values()} == {CollectionState.UNAVAILABLE}
    reason = snapshot.collections["admins"].reason
    assert reason is not None and "rbe-news-group.csv has a header but no rows" in reason
    assert snapshot.admins == [] and snapshot.participants == []


def test_export_without_member_rows_leaves_participants_unavailable(division_dir: Path) -> None:
    _rewrite(division_dir / "exports" / "rbe-reading-group.csv", drop_records=("participant",))
    snapshot, _ = _pull(division_dir, "rbe-reading-group")
    status = snapshot.collections["participants"]
    assert status.state == CollectionState.UNAVAILABLE
    assert status.reason is not None and "no 'participant' rows" in status.reason
    assert snapshot.collections["admins"].state == CollectionState.COMPLETE


def test_export_without_text_keeps_posts_but_says_they_are_partial(division_dir: Path) -> None:
    _rewrite(division_dir / "exports" / "rbe-reading-group.csv", drop_columns=("text",))
    snapshot, _ = _pull(division_dir, "rbe-reading-group")
    for collection in ("posts", "interactions"):
        status = snapshot.collections[collection]
        assert status.state == CollectionState.PARTIAL
        assert status.reason is not None and "no 'text' column" in status.reason
        assert "confidential-content" in status.reason
    assert [p.id for p in snapshot.posts] == ["rbe-rg-p1"]


def test_export_without_identity_columns_keeps_no_nameless_people(division_dir: Path) -> None:
    _rewrite(division_dir / "exports" / "rbe-reading-group.csv", drop_columns=("id", "handle", "name"))
    snapshot, _ = _pull(division_dir, "rbe-reading-group")
    for collection in ("admins", "participants", "interactions"):
        assert snapshot.collections[collection].state == CollectionState.UNAVAILABLE
    # Nameless rows would read as strangers to the directory: findings out of a broken export.
    assert snapshot.admins == [] and snapshot.participants == [] and snapshot.interactions == []


Mutation = Callable[[Path], None]


@pytest.mark.parametrize(
    ("account", "mutate", "rule", "subject", "collection", "state"),
    [
        pytest.param(
            "hhs-athletics-tiktok",
            lambda export: _rewrite(export, drop_columns=("text",)),
            "confidential-content",
            "post:7430000000000000001",
            "posts",
            "partial",
            id="no-text-column",
        ),
        pytest.param(
            "rbe-reading-group",
            lambda export: _rewrite(export, drop_records=("participant",)),
            "non-school-participant",
            "facebook:id:7001005",  # Kyle Brennan, unknown to the directory
            "participants",
            "unavailable",
            id="no-member-list",
        ),
    ],
)
def test_export_missing_what_a_rule_reads_leaves_its_finding_unknown(
    division_dir: Path,
    auditor_env: Path,
    account: str,
    mutate: Mutation,
    rule: str,
    subject: str,
    collection: str,
    state: str,
) -> None:
    assert _run(division_dir, "2026-11-14T06:00:00").exit_code == 1
    assert _finding(_latest_report(auditor_env), account, rule, subject)["status"] == "new"

    mutate(division_dir / "exports" / f"{account}.csv")
    second = _run(division_dir, "2026-11-15T06:00:00")

    assert second.exit_code == 3, second.output
    report = _latest_report(auditor_env)
    assert _finding(report, account, rule, subject)["status"] == "unknown"
    (coverage,) = [c for c in report["coverage"] if c["account"] == account]
    assert coverage["collections"][collection]["state"] == state
    incomplete = _finding(report, account, "audit-incomplete", "coverage")
    assert f"{account}.csv" in json.dumps(incomplete["evidence"])
