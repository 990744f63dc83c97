"""Run every benchmark and print its numbers (`make bench`). Each runs in its own process, so each
peak-memory figure is its own.

    python bench/run_all.py [--quick]

`--quick` runs them at a tenth of their size (a smoke test, not the numbers to quote).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    # (module, full-size arguments, --quick arguments)
    ("bench.identity_bench", [], ["--names", "10000", "--people", "5000"]),
    ("bench.collection_bench", [], ["--accounts", "30", "--followers", "60000"]),
    ("bench.storage_bench", [], ["--participants", "20000"]),
    ("bench.rules_bench", [], ["--accounts", "30", "--people", "5000"]),
    ("bench.facebook_bench", [], ["--pages", "6"]),
    ("bench.youtube_bench", [], ["--channels", "6"]),
    ("bench.scale_bench", [], ["--people", "15000", "--accounts", "100", "--runs", "3"]),  # #21, through the CLI
    ("bench.report_bench", [], ["--findings", "10000"]),
    ("bench.workers_bench", [], ["--accounts", "10", "--workers", "1", "2"]),  # #20; needs PostgreSQL
]
NEEDS_POSTGRES = {"bench.workers_bench"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    failed = []
    for module, full_size, quick in BENCHMARKS:
        if module in NEEDS_POSTGRES and not os.environ.get("AUDITOR_TEST_POSTGRES_URL"):
            print(f'\n=== {module}: skipped, needs PostgreSQL (eval "$(.ci/postgres.sh start)" first)', flush=True)
            continue
        print(f"\n=== {module} {' '.join(quick if args.quick else full_size)}".rstrip(), flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", module, *(quick if args.quick else full_size)], cwd=REPO, env=env)
        print(f"=== {module}: {time.perf_counter() - started:.0f} s, exit {done.returncode}", flush=True)
        if done.returncode:
            failed.append(module)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
