"""Large divisions (#21): a generated division run through the real `auditor` command line.

    python -m bench.scale_bench [--people 150000] [--accounts 1000] [--participants 2000] [--outsiders 100]

Writes a whole division folder into a temporary directory: the HR, student and community exports
(as CSV, the way the HR and SIS systems hand them over), a Form 8-06 registry of closed groups audited
from ITS exports (the `manual` connector, so no network is involved and every byte goes through the
real CLI path), and one export per account. Each account's participants are directory people (some
by a declared platform id, some by name only) plus `--outsiders` people the directory does not know:
each is a `non-school-participant` finding on a closed account, so findings = accounts x outsiders.

Prints one line per figure, as a ratio to its target (below 1.00 meets it):

- start-up: `auditor --help`, `auditor rules`, and the imports `auditor check KEY` makes before it
  starts (median of repeated runs, each a new process);
- directory: loading and resolving the directory (`load_division` + the resolver's index);
- run: `auditor run` on the whole division: wall time and peak RSS of the process.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.generate import NameSampler, make_people
from bench.identity_bench import cpu_model
from models.tables import Person

# Targets of issue #21.
STARTUP_TARGET_S = 0.5
DIRECTORY_TARGET_S = 30.0
RUN_RSS_TARGET_MB = 1024.0
REPO = Path(__file__).resolve().parents[1]
PEOPLE_COLUMNS = ["person_id", "role", "school", "first_name", "last_name", "preferred_name", "status"]
EXPORT_COLUMNS = ["record", "kind", "id", "handle", "name", "target_id", "target_handle", "target_name"]
EXPORT_COLUMNS += ["post_id", "thread_id", "created_at", "text", "url", "hashtags"]


@dataclass
class Generated:
    folder: Path
    people: int
    accounts: int
    participants: int
    expected_findings: int


def facebook_id(serial: int) -> str:
    return str(61_550_000_000_000 + serial)


def write_directory(folder: Path, people: list[Person], declared: dict[str, str]) -> None:
    """Three exports as the HR (staff) and SIS (students) systems and the office (community) hand them over."""
    files = {
        "staff.csv": ("staff", "administrator"),
        "students.csv": ("student",),
        "community.csv": ("parent", "trustee"),
    }
    (folder / "directory").mkdir(parents=True)
    for name, roles in files.items():
        with open(folder / "directory" / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([*PEOPLE_COLUMNS, "departure_date", "handles"])
            for p in people:
                if p.role in roles:
                    handles = f"facebook:{declared[p.person_id]}" if p.person_id in declared else ""
                    departure = p.departure_date.isoformat() if p.departure_date else ""
                    row = [p.person_id, p.role, p.school or "", p.first_name, p.last_name, p.preferred_name or ""]
                    writer.writerow([*row, p.status, departure, handles])


def generate(root: Path, *, people: int, accounts: int, participants: int, outsiders: int, seed: int = 21) -> Generated:
    rng = random.Random(seed)
    directory = make_people(people, rng)
    # Everyone's departures are in the future of the run's clock, so departures add no findings of their own.
    for person in directory:
        person.status, person.departure_date = "active", None
    staff = [p for p in directory if p.role in ("staff", "administrator")]
    members = [p for p in directory if p.role != "parent"]
    # Staff declare their Facebook ids (admins are matched by id); a third of everyone else too.
    staff_ids = {p.person_id for p in staff}
    declared = {
        p.person_id: facebook_id(n) for n, p in enumerate(directory) if p.person_id in staff_ids or rng.random() < 1 / 3
    }
    folder = root / "division"
    write_directory(folder, directory, declared)
    (folder / "exports").mkdir()
    known_names = {(p.first_name, p.last_name) for p in directory}
    # People known by name only (no declared id) are drawn among those whose name no one else in the
    # directory bears: a namesake would make them `likely` outsiders, and findings = accounts x outsiders.
    name_counts = Counter((p.first_name, p.last_name) for p in directory)
    by_name_only = [p for p in members if p.person_id not in declared and name_counts[(p.first_name, p.last_name)] == 1]
    by_id = [p for p in members if p.person_id in declared]
    strangers = NameSampler(random.Random(seed + 1))
    registry = []
    outsider_serial = 0
    for serial in range(accounts):
        key = f"group-{serial:04d}"
        holders = rng.sample(staff, 2)
        registry.append(
            {
                "key": key, "platform": "facebook", "connector": "manual", "export": f"../exports/{key}.csv",
                "handle": f"SchoolGroup{serial:04d}", "school": holders[0].school or "Division Office",
                "purpose": "Closed group for a class's families and staff", "kind": "joint", "audience": "closed",
                "holders": [h.person_id for h in holders], "admins": [h.person_id for h in holders],
                "reviewed_by": "Director of ITS", "reviewed_on": "2026-09-01", "password_reset_on": "2026-08-01",
            }
        )  # fmt: skip
        with open(folder / "exports" / f"{key}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(EXPORT_COLUMNS)
            blank = [""] * (len(EXPORT_COLUMNS) - 5)
            for holder in holders:
                writer.writerow(["admin", "admin", declared[holder.person_id], "", holder.full_name, *blank])
            known = participants - outsiders
            named = rng.sample(by_name_only, min(len(by_name_only), known // 4))
            for person in [*rng.sample(by_id, known - len(named)), *named]:
                # by declared id where the directory has one, else by name only (the resolver's fuzzy path)
                ident = declared.get(person.person_id) or f"7{rng.randrange(10**13):013d}"
                writer.writerow(["participant", "", ident, "", f"{person.first_name} {person.last_name}", *blank])
            for _ in range(outsiders):
                while (name := strangers.name()) in known_names:
                    pass
                outsider_serial += 1
                writer.writerow(["participant", "", f"9{outsider_serial:013d}", "", f"{name[0]} {name[1]}", *blank])
            writer.writerow(
                ["post", "", "", "", "", "", "", "", "p1", "", "2026-11-20T15:00:00Z", "Welcome back!", "", ""]
            )
    (folder / "registry").mkdir()
    with open(folder / "registry" / "groups.yaml", "w", encoding="utf-8") as handle:
        yaml.safe_dump({"accounts": registry}, handle, sort_keys=False)
    policy = {
        "division": "Bench Regional Division",
        "approved_platforms": ["facebook"],
        "min_staff_admins": 2,
        "export_max_bytes": 64 * 2**20,
    }
    (folder / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    (folder / "activities.yaml").write_text("activities: []\n", encoding="utf-8")
    return Generated(folder, people, accounts, participants * accounts, accounts * outsiders)


def environment(root: Path) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=str(REPO),
        DATABASE_URL=f"sqlite:///{root / 'var' / 'auditor.db'}",
        AUDITOR_REPORT_DIR=str(root / "reports"),
        AUDITOR_LOCK_FILE=str(root / "var" / "auditor.lock"),
        AUDITOR_HMAC_KEY="bench-hmac-key-not-a-secret",
        XDG_CONFIG_HOME=str(root / "config"),
    )


def auditor_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "auditor", *args]


def timed(command: Sequence[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median CPU seconds (user + system) and median wall seconds of `runs` fresh processes, after
    one warm-up. CPU time is the figure: on a shared machine the wall time is mostly waiting."""
    cpu, wall = [], []
    for attempt in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if attempt:
            wall.append(time.perf_counter() - started)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(cpu), statistics.median(wall)


def startup_line(name: str, command: Sequence[str], env: dict[str, str], runs: int) -> str:
    cpu, wall = timed(command, env, runs)
    return ratio_line(name, cpu, STARTUP_TARGET_S, "s", f"(CPU, median of {runs}; wall {wall:.2f} s)")


def import_seconds(code: str, env: dict[str, str], runs: int) -> float:
    """Median seconds `python -X importtime` attributes to the imports `code` makes (top-level ones summed)."""
    totals = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code], env=env, cwd=REPO, capture_output=True, text=True
        )
        total = 0
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if line.startswith("import time:") and len(parts) == 3 and not parts[2].startswith("  "):
                total += int(parts[1]) if parts[1].strip().isdigit() else 0
        totals.append(total / 1e6)
    return statistics.median(totals)


def ratio_line(name: str, value: float, target: float, unit: str, detail: str = "") -> str:
    figure = f"{name:<34} {value:>9.2f} {unit:<3} target < {target:g} {unit:<3}"
    return f"{figure} ratio {value / target:.2f}  {detail}".rstrip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=150_000)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--participants", type=int, default=2000, help="per account")
    parser.add_argument("--outsiders", type=int, default=100, help="per account: each one is a finding")
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each start-up timing")
    parser.add_argument("--keep", type=Path, help="write the division here and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    print(f"machine: {cpu_model()}, nproc={os.cpu_count()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="auditor-scale-bench-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        env = environment(root)
        lines = [
            startup_line("start-up: auditor --help", auditor_command("--help"), env, args.runs),
            startup_line("start-up: auditor rules", auditor_command("rules"), env, args.runs),
            ratio_line(
                "start-up: imports of check KEY",
                import_seconds("import auditor.cli", env, args.runs),
                STARTUP_TARGET_S,
                "s",
                "(python -X importtime, before the command runs)",
            ),
        ]
        for line in lines:
            print(line, flush=True)
        started = time.perf_counter()
        division = generate(
            root, people=args.people, accounts=args.accounts, participants=args.participants, outsiders=args.outsiders
        )
        print(
            f"generated {division.people:,} people, {division.accounts:,} accounts, {division.participants:,} "
            f"participants, {division.expected_findings:,} planted findings in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        code = (
            "import sys, time; t, c = time.perf_counter(), time.process_time()\n"
            "from auditor.inputs import load_division; from auditor.identity import IdentityResolver\n"
            f"d = load_division(__import__('pathlib').Path({str(division.folder)!r}))\n"
            "r = IdentityResolver(d.directory(), d.policy.matching)\n"
            "print(len(d.people), time.process_time() - c, time.perf_counter() - t)\n"
        )
        done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True)
        if done.returncode:
            print(done.stderr[-3000:])
            return 1
        loaded, cpu_s, wall_s = done.stdout.split()
        detail = f"(CPU; wall {float(wall_s):.1f} s; {int(loaded):,} people)"
        print(ratio_line("directory: load and index", float(cpu_s), DIRECTORY_TARGET_S, "s", detail))
        started = time.perf_counter()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        before = usage.ru_maxrss
        run = subprocess.run(
            auditor_command("--quiet", "run", "--division", str(division.folder), "--as-of", "2026-11-29T06:00:00"),
            env=env, cwd=root, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb = after.ru_maxrss / 1024
        cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
        summary = (run.stdout.strip().splitlines() or [""])[-1]
        print(f"auditor run: exit {run.returncode} in {wall:.0f} s: {summary}", flush=True)
        report = root / "reports" / "latest" / "report.json"
        if run.returncode not in (0, 1) or not report.exists():
            print(run.stderr[-3000:])
            return 1
        note = "" if peak_mb > before / 1024 else " (not above an earlier child's peak: read it as an upper bound)"
        print(
            ratio_line("run: peak RSS", peak_mb, RUN_RSS_TARGET_MB, "MB", f"({wall:.0f} s wall, {cpu:.0f} s CPU){note}")
        )
        found = re.search(r"(\d+) open finding", run.stdout)
        findings = f"{int(found.group(1)):,}" if found else "?"
        print(f"report.json {report.stat().st_size / 2**20:.0f} MB, {findings} open findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
