"""Incremental runs end to end: the real X connector against the fake X on loopback, the real store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auditor.inputs import Division
from auditor.policy import Policy
from auditor.privacy import hmac_key, keyed_identity
from auditor.run import execute_run
from auditor.settings import Settings
from auditor.store import latest_participants
from bench.collection_bench import registry
from bench.fake_x import FakeX, FakeXServer
from models.db import init_db, make_engine, session
from models.snapshot import Identity
from tests.fakeplatform import serving_fake_x

AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
FOLLOWERS = "GET /2/users/:id/followers"


@pytest.fixture
def fake_x(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeX, FakeXServer]]:
    world = FakeX(seed=3)
    for index, followers in enumerate([40, 30, 25]):
        account = world.add_account(index, followers)
        world.post(account, AS_OF - timedelta(days=2), replies=1)
    with serving_fake_x(world, tmp_path, monkeypatch) as server:
        yield world, server


def stored_ids(key: str) -> set[str]:
    engine = make_engine(Settings().database_url)
    with session(engine) as db:
        stored = latest_participants(db, key)
    assert stored is not None
    return {p.id or "" for p in stored.identities}


def as_stored(*user_ids: str) -> set[str]:
    """How the store keeps these followers: nobody is in the (empty) directory, so all are keyed hashes."""
    key = hmac_key(Settings())
    return {keyed_identity(key, Identity(platform="twitter", id=user_id)).id or "" for user_id in user_ids}


def test_nightly_run_reads_only_new_followers_and_the_reconciliation_finds_departures(
    fake_x: tuple[FakeX, FakeXServer],
) -> None:
    world, server = fake_x
    growing, swapped, quiet = world.accounts.values()
    policy = Policy(approved_platforms=["twitter"], connectors={"twitter": {"public_follower_lists": "nightly"}})
    division = Division(Path("."), registry(world), [], [], [], policy)
    engine = make_engine(Settings().database_url)
    init_db(engine)

    execute_run(division, Settings(), full=True, as_of=AS_OF, engine=engine)
    assert stored_ids("acct-0000") == as_stored(*growing.followers)
    assert server.requests["GET /2/users"] == 1  # one batched lookup for the three profiles

    joined = [world.new_user(), world.new_user()]
    growing.followers[:0] = joined  # the count moves: 40 -> 42
    departed = swapped.followers.pop(7)
    hidden = world.new_user()
    swapped.followers.insert(0, hidden)  # one left, one joined: the count stays 30
    server.reset()

    execute_run(division, Settings(), full=False, as_of=AS_OF + timedelta(hours=12), engine=engine)

    assert server.requests[FOLLOWERS] == 1  # only the account whose count moved, one small page
    assert stored_ids("acct-0000") == as_stored(*growing.followers)  # the stored 40 plus the 2 new, once each
    assert not as_stored(hidden) & stored_ids("acct-0001") and as_stored(departed) <= stored_ids("acct-0001")
    assert stored_ids("acct-0002") == as_stored(*quiet.followers)

    execute_run(division, Settings(), full=True, as_of=AS_OF + timedelta(days=1), engine=engine)

    assert stored_ids("acct-0001") == as_stored(*swapped.followers)  # departure and hidden newcomer both found


def test_by_default_a_public_accounts_new_followers_wait_for_its_full_listing(
    fake_x: tuple[FakeX, FakeXServer],
) -> None:
    world, server = fake_x
    growing = world.accounts[next(iter(world.accounts))]
    division = Division(Path("."), registry(world), [], [], [], Policy(approved_platforms=["twitter"]))
    engine = make_engine(Settings().database_url)
    init_db(engine)
    execute_run(division, Settings(), full=True, as_of=AS_OF, engine=engine)
    before = stored_ids("acct-0000")

    growing.followers[:0] = [world.new_user(), world.new_user()]
    server.reset()
    execute_run(division, Settings(), full=False, as_of=AS_OF + timedelta(hours=12), engine=engine)

    assert server.requests[FOLLOWERS] == 0  # public accounts: no follower page between full listings
    assert stored_ids("acct-0000") == before  # the stored list is kept, not emptied

    execute_run(division, Settings(), full=True, as_of=AS_OF + timedelta(days=1), engine=engine)
    assert stored_ids("acct-0000") == as_stored(*growing.followers)
