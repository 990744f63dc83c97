"""Bulk storage: one snapshot of 200,000 participants written to and read back from the store.

    python -m bench.storage_bench [--participants 200000]

`auditor.store.save_snapshot` writes participants with one executemany insert (no per-row ORM
objects); `load_snapshot` reads them back as plain rows. Prints seconds, rows/s and how much the
process's memory grew (RSS, psutil) while doing it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from auditor.store import load_snapshot, save_snapshot
from bench.identity_bench import cpu_model, current_rss_mb, peak_rss_mb
from models.db import init_db, make_engine, session
from models.snapshot import AccountSnapshot, Identity
from models.tables import AuditRun, RegisteredAccount, Snapshot

AS_OF = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def big_snapshot(participants: int) -> tuple[AccountSnapshot, RegisteredAccount]:
    account = RegisteredAccount(
        key="division-x", platform="twitter", connector="twitter", school="Division Office",
        purpose="Division news", kind="joint", audience="public", handle="@division",
    )  # fmt: skip
    people = [
        Identity(
            platform="twitter", id=str(1_500_000_000_000_000_000 + n), handle=f"user{n}", display_name=f"Person {n}"
        )
        for n in range(participants)
    ]
    return AccountSnapshot(account_key=account.key, platform="twitter", taken_at=AS_OF, participants=people), account


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=200_000)
    args = parser.parse_args(argv)
    print(f"machine: {cpu_model()}, nproc={os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="auditor-storage-bench-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'auditor.db'}")
        init_db(engine)
        with session(engine) as db:
            db.add(AuditRun(id="bench", started_at=AS_OF, as_of=AS_OF, kind="run", accounts=[], policy_digest="-"))
            db.commit()
        snapshot, account = big_snapshot(args.participants)
        rss_before = current_rss_mb()
        started = time.perf_counter()
        with session(engine) as db:
            snapshot_id = save_snapshot(db, "bench", snapshot, account)
            db.commit()
        written = time.perf_counter() - started
        rss_written = current_rss_mb()
        del snapshot
        started = time.perf_counter()
        with session(engine) as db:
            row = db.get(Snapshot, snapshot_id)
            assert row is not None
            loaded = load_snapshot(db, row)
        read = time.perf_counter() - started
        assert len(loaded.participants) == args.participants
    n = args.participants
    print(f"write {n:,} participants: {written:.2f} s = {n / written:,.0f} rows/s (one executemany insert)")
    print(f"read them back:          {read:.2f} s = {n / read:,.0f} rows/s")
    print(f"RSS growth while writing: {rss_written - rss_before:+.0f} MB; peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
