"""Identity resolution benchmark: throughput, peak memory, precision and recall against labels.

    python -m bench.identity_bench [--names 100000] [--people 50000] [--seed 8]

Targets (issue 8): >= 20,000 names/s on 2 cores, peak RSS < 500 MB, precision >= 0.95 on
exact-declared and fuzzy matches (fuzzy matches are labelled with their score, shown per band).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import psutil

from auditor.directory import Match, MatchMethod
from auditor.identity import IdentityResolver
from auditor.policy import MatchingPolicy
from bench.generate import IdentityFactory, LabelledIdentity, make_directory

TARGET_NAMES_PER_SECOND = 20_000
TARGET_PEAK_RSS_MB = 500
TARGET_PRECISION = 0.95
SCORE_BANDS = ((100.0, 100.0), (97.0, 99.99), (92.0, 96.99), (0.0, 91.99))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def current_rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


@dataclass
class Tally:
    correct: int = 0
    wrong: int = 0

    def add(self, ok: bool) -> None:
        if ok:
            self.correct += 1
        else:
            self.wrong += 1

    @property
    def total(self) -> int:
        return self.correct + self.wrong

    def precision(self) -> float:
        return self.correct / self.total if self.total else float("nan")


@dataclass
class Quality:
    by_method: dict[str, Tally] = field(default_factory=dict)
    by_band: dict[str, Tally] = field(default_factory=dict)
    recall_by_noise: dict[str, Tally] = field(default_factory=dict)
    outcomes_by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    positives: int = 0  # identities that really are directory people
    found: int = 0  # of those, matched to the right person

    def accepted(self) -> Tally:
        tally = Tally()
        for method in self.by_method.values():
            tally.correct += method.correct
            tally.wrong += method.wrong
        return tally

    def recall(self) -> float:
        return self.found / self.positives if self.positives else float("nan")


def band_of(score: float) -> str:
    for low, high in SCORE_BANDS:
        if low <= score <= high:
            return f"{low:g}-{high:g}"
    return "?"


def outcome_of(match: Match) -> str:
    if match.person_id:
        return match.method.value
    if match.note:
        count, _, rest = match.note.partition(" ")
        return "refused: " + (rest if count.isdigit() else match.note)  # "2 namesakes ..." -> "namesakes ..."
    return "candidate only" if match.candidate_id else "no candidate"


def measure_quality(labelled: Sequence[LabelledIdentity], matches: dict[str, Match]) -> Quality:
    quality = Quality()
    for label in labelled:
        match = matches[label.identity.key]
        quality.outcomes_by_kind.setdefault(label.kind, Counter())[outcome_of(match)] += 1
        if label.person_id is not None:
            quality.positives += 1
            hit = match.person_id == label.person_id
            quality.found += hit
            quality.recall_by_noise.setdefault(f"{label.kind}/{label.noise}", Tally()).add(hit)
        if match.person_id is None:
            continue
        ok = match.person_id == label.person_id
        quality.by_method.setdefault(match.method.value, Tally()).add(ok)
        if match.method is MatchMethod.FUZZY_NAME:
            quality.by_band.setdefault(band_of(match.score), Tally()).add(ok)
    return quality


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def print_table(title: str, rows: Iterable[tuple[str, Tally]], what: str) -> None:
    print(f"\n{title}")
    for name, tally in sorted(rows):
        print(f"  {name:<32} {what} {tally.precision():6.3f}  ({tally.correct}/{tally.total})")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--names", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)

    print(f"machine: {cpu_model()}, nproc={os.cpu_count()}, python {platform.python_version()}")
    started = time.perf_counter()
    synthetic = make_directory(args.people, args.seed)
    labelled = IdentityFactory(synthetic, random.Random(args.seed + 1)).samples(args.names)
    directory = synthetic.directory()
    print(
        f"generated {len(synthetic.people):,} people, {len(synthetic.identities):,} declared identities, "
        f"{len(labelled):,} display names in {time.perf_counter() - started:.1f} s"
    )
    rss_before = current_rss_mb()

    started = time.perf_counter()
    resolver = IdentityResolver(directory, MatchingPolicy())
    build_seconds = time.perf_counter() - started
    identities = [label.identity for label in labelled]
    started = time.perf_counter()
    matches = resolver.resolve(identities)
    resolve_seconds = time.perf_counter() - started
    rate = len(identities) / resolve_seconds
    peak = peak_rss_mb()

    quality = measure_quality(labelled, matches)
    accepted = quality.accepted()
    print(f"\nindex build: {build_seconds:.2f} s (once per run)")
    names = f"{len(identities):,} names"
    print(f"resolve:     {names} in {resolve_seconds:.2f} s = {rate:,.0f} names/s (one process)")
    print(f"             with index build: {len(identities) / (resolve_seconds + build_seconds):,.0f} names/s")
    print(f"memory:      peak RSS {peak:.0f} MB (generator data before the index: {rss_before:.0f} MB)")
    print_table("precision of accepted matches, by method", quality.by_method.items(), "precision")
    print_table("precision of fuzzy matches, by score band", quality.by_band.items(), "precision")
    print_table("recall, by identity kind / noise", quality.recall_by_noise.items(), "recall")
    print("\noutcomes by identity kind")
    for kind, outcomes in sorted(quality.outcomes_by_kind.items()):
        print(f"  {kind:<20} " + ", ".join(f"{name}: {count}" for name, count in outcomes.most_common()))
    print(f"\nprecision (declared + fuzzy): {accepted.precision():.3f}  recall: {quality.recall():.3f}")
    print("\ntargets")
    fast_enough = verdict(rate >= TARGET_NAMES_PER_SECOND)
    print(f"  throughput >= {TARGET_NAMES_PER_SECOND:,} names/s: {rate:,.0f}  {fast_enough}")
    print(f"  peak RSS < {TARGET_PEAK_RSS_MB} MB: {peak:.0f} MB  {verdict(peak < TARGET_PEAK_RSS_MB)}")
    print(
        f"  precision >= {TARGET_PRECISION}: {accepted.precision():.3f}  "
        f"{verdict(accepted.precision() >= TARGET_PRECISION)}"
    )


if __name__ == "__main__":
    main()
