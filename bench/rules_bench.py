"""Seconds and peak memory to evaluate every rule for a division from its stored snapshots.

    python -m bench.rules_bench [--accounts 300] [--participants 2000] [--people 50000]

Two processes, so the memory figure is the evaluation's and not the generator's:
1. `--phase store`: generate the division (bench/generate.py) and write each snapshot to a SQLite
   store with `auditor.store.save_snapshot` (participants in one bulk insert per snapshot);
2. `--phase evaluate`: a fresh process loads the inputs, then each account's snapshot from the store,
   one at a time, and runs `auditor.evaluate.AccountEvaluator` on it (identity resolution + every rule).
Targets (issue 8): < 60 s and peak RSS < 1 GB for 300 accounts and 600,000 participants.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import col, select

from auditor.directory import Directory
from auditor.evaluate import AccountEvaluator
from auditor.policy import Policy
from auditor.store import load_snapshot, save_snapshot
from bench.generate import make_division
from bench.identity_bench import cpu_model, peak_rss_mb, verdict
from connectors.registry import ConnectorRegistry
from models.db import init_db, make_engine, session
from models.tables import AuditRun, Person, PersonIdentity, RegisteredAccount, Snapshot

AS_OF = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
RUN_ID = "bench-run"
TARGET_SECONDS = 60
TARGET_PEAK_RSS_MB = 1024


def store(database: Path, accounts: int, participants: int, people: int, seed: int) -> None:
    started = time.perf_counter()
    division = make_division(
        seed=seed,
        people=people,
        accounts=accounts,
        participants_per_account=participants,
        population=max(participants, accounts * participants // 4),  # people follow several accounts
    )
    engine = make_engine(f"sqlite:///{database}")
    init_db(engine)
    with session(engine) as db:
        db.add_all(division.synthetic.people)
        db.flush()
        db.add_all(division.synthetic.identities)
        db.add_all(division.accounts)
        db.add(AuditRun(id=RUN_ID, started_at=AS_OF, as_of=AS_OF, kind="run", accounts=[], policy_digest="bench"))
        db.commit()
    by_key = {a.key: a for a in division.accounts}
    writing = 0.0
    rows = 0
    for snapshot in division.snapshots():
        begun = time.perf_counter()
        with session(engine) as db:
            save_snapshot(db, RUN_ID, snapshot, by_key[snapshot.account_key])
            db.commit()
        writing += time.perf_counter() - begun
        rows += len(snapshot.participants)
    print(
        f"stored {accounts} snapshots, {rows:,} participants in {time.perf_counter() - started:.1f} s "
        f"(of which writing {writing:.1f} s = {rows / writing:,.0f} participant rows/s); "
        f"store {database.stat().st_size / 2**20:.0f} MB"
    )


def evaluate(database: Path) -> None:
    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{database}")
    with session(engine) as db:
        people = {p.person_id: p for p in db.exec(select(Person)).all()}
        identities = list(db.exec(select(PersonIdentity)).all())
        accounts = {a.key: a for a in db.exec(select(RegisteredAccount)).all()}
        snapshot_ids = list(db.exec(select(Snapshot.id).order_by(col(Snapshot.id))).all())
    loaded_inputs = time.perf_counter() - started
    evaluator = AccountEvaluator(ConnectorRegistry.installed(), Directory(people, identities), Policy(), AS_OF)
    index_built = time.perf_counter() - started - loaded_inputs
    loading = evaluating = 0.0
    participants = results = 0
    for snapshot_id in snapshot_ids:
        begun = time.perf_counter()
        with session(engine) as db:
            row = db.get(Snapshot, snapshot_id)
            assert row is not None
            snapshot = load_snapshot(db, row)
        loaded = time.perf_counter()
        found, crashed = evaluator.evaluate(accounts[snapshot.account_key], snapshot)
        assert not crashed, f"a rule crashed on {snapshot.account_key}"
        evaluating += time.perf_counter() - loaded
        loading += loaded - begun
        participants += len(snapshot.participants)
        results += len(found)
        del snapshot, found  # one account at a time, as the run does
    total = time.perf_counter() - started
    peak = peak_rss_mb()
    print(f"inputs: {len(people):,} people, {len(identities):,} declared identities loaded in {loaded_inputs:.1f} s")
    print(f"identity index built in {index_built:.1f} s")
    print(
        f"{len(snapshot_ids)} accounts, {participants:,} participants: loading snapshots {loading:.1f} s, "
        f"rules {evaluating:.1f} s, {results:,} rule results"
    )
    print(f"total {total:.1f} s, peak RSS {peak:.0f} MB")
    print("\ntargets")
    print(f"  rule evaluation < {TARGET_SECONDS} s: {total:.1f} s  {verdict(total < TARGET_SECONDS)}")
    print(f"  peak RSS < 1 GB: {peak:.0f} MB  {verdict(peak < TARGET_PEAK_RSS_MB)}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--participants", type=int, default=2000, help="per account")
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--phase", choices=["both", "store", "evaluate"], default="both")
    parser.add_argument("--database", type=Path)
    args = parser.parse_args(argv)

    if args.phase == "store":
        store(args.database, args.accounts, args.participants, args.people, args.seed)
        return
    if args.phase == "evaluate":
        evaluate(args.database)
        return
    print(f"machine: {cpu_model()}, nproc={os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="auditor-rules-bench-") as tmp:
        database = Path(tmp) / "auditor.db"
        common = ["--accounts", str(args.accounts), "--participants", str(args.participants)]
        common += ["--people", str(args.people), "--seed", str(args.seed), "--database", str(database)]
        for phase in ("store", "evaluate"):
            subprocess.run([sys.executable, "-m", "bench.rules_bench", "--phase", phase, *common], check=True)


if __name__ == "__main__":
    main()
