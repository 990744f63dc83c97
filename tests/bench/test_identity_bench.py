"""The benchmark's generator and its measurement, at a size a test can afford."""

from __future__ import annotations

import random

import pytest
from rapidfuzz.distance import OSA

from auditor.identity import IdentityResolver, normalise_name
from auditor.policy import MatchingPolicy
from bench import identity_bench
from bench.generate import IdentityFactory, add_typo, make_directory, make_division


def test_generated_labels_agree_with_what_the_directory_declares() -> None:
    synthetic = make_directory(2_000, seed=3)
    labelled = IdentityFactory(synthetic, random.Random(4)).samples(3_000)
    resolver = IdentityResolver(synthetic.directory(), MatchingPolicy())
    declared = [label for label in labelled if label.kind == "declared"]
    assert declared
    for label in declared:
        match = resolver.match(label.identity)
        assert match.certain and match.person_id == label.person_id


def test_namesake_outsiders_carry_a_directory_name_but_no_person() -> None:
    synthetic = make_directory(2_000, seed=3)
    names = {normalise_name(f"{p.first_name} {p.last_name}").key for p in synthetic.people}
    labelled = IdentityFactory(synthetic, random.Random(5)).samples(5_000)
    twins = [label for label in labelled if label.kind == "namesake-outsider" and label.noise == "clean"]
    assert twins
    assert all(label.person_id is None for label in twins)
    assert all(normalise_name(label.identity.display_name or "").key in names for label in twins)


def test_a_typo_is_exactly_one_edit() -> None:
    rng = random.Random(1)
    for word in ["margaret", "lindqvist", "chen", "anna"] * 50:
        assert OSA.distance(word, add_typo(word, rng)) == 1


def test_division_snapshots_come_one_at_a_time_with_ground_truth() -> None:
    division = make_division(people=1_000, accounts=3, participants_per_account=50, interactions_per_account=5)
    truth: dict[str, str | None] = {}
    snapshots = division.snapshots(truth)
    first = next(snapshots)
    assert len(first.participants) == 50
    assert {p.key for p in first.participants} <= set(truth)
    assert len(first.admins) >= len(division.accounts[0].holders)
    assert len(list(snapshots)) == 2


def test_the_benchmark_prints_throughput_memory_precision_and_recall(
    capsys: pytest.CaptureFixture[str],
) -> None:
    identity_bench.main(["--names", "2000", "--people", "1000"])
    out = capsys.readouterr().out
    for expected in ("names/s", "peak RSS", "precision (declared + fuzzy)", "recall", "nproc="):
        assert expected in out
    assert "declared-id                      precision  1.000" in out
