"""The cost and scale benchmarks at a size a test can afford (numbers are not asserted, shapes are)."""

from __future__ import annotations

import re

import pytest

from bench import collection_bench, storage_bench
from bench.fake_x import FakeX, FakeXServer


def test_fake_x_lists_followers_newest_first_in_pages() -> None:
    world = FakeX(seed=1)
    account = world.add_account(0, 5)
    newest = world.new_user()
    account.followers.insert(0, newest)
    with FakeXServer(world) as server:
        status, first = server.answer(f"/2/users/{account.id}/followers", {"max_results": "4"})
        _, second = server.answer(
            f"/2/users/{account.id}/followers", {"max_results": "4", "pagination_token": first["meta"]["next_token"]}
        )
    assert status == 200 and first["data"][0]["id"] == newest
    assert len(first["data"]) == 4 and len(second["data"]) == 2 and "next_token" not in second["meta"]
    assert server.requests["GET /2/users/:id/followers"] == 2


def test_fake_x_refuses_past_its_request_bound() -> None:
    world = FakeX(seed=1)
    account = world.add_account(0, 5)
    with FakeXServer(world, max_requests=1) as server:
        assert server.answer(f"/2/users/{account.id}", {})[0] == 200
        status, body = server.answer(f"/2/users/{account.id}", {})
    assert status == 429 and body["detail"] == "Usage cap exceeded"


@pytest.mark.slow
def test_collection_benchmark_replays_a_small_division_through_the_real_connector(
    capsys: pytest.CaptureFixture[str],
) -> None:
    collection_bench.main(["--accounts", "6", "--followers", "6000"])
    out = capsys.readouterr().out

    # The bound packs reply searches across accounts, a full run searches account by account.
    assert re.search(r"full run requests <= 1.1 x lower bound: [\d,]+ / [\d,]+ = 1\.0\d\d  PASS", out)
    full, nightly = (int(n.replace(",", "")) for n in re.findall(r"  total\s+([\d,]+)", out)[:2])
    assert nightly < full
    # After the full run and after the reconciliation the store holds exactly X's follower lists.
    assert out.count("6/6 accounts' stored follower lists equal X's") == 2
    assert "estimated cost: $" in out and "nightly requests <= 10% of the full run" in out


def test_storage_benchmark_writes_and_reads_back_every_participant(capsys: pytest.CaptureFixture[str]) -> None:
    storage_bench.main(["--participants", "5000"])
    out = capsys.readouterr().out
    assert "write 5,000 participants" in out and "read them back" in out
