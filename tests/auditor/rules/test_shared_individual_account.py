from __future__ import annotations

from tests.auditor.rules.world import World

RULE = "shared-individual-account"


def test_one_holder_passes_two_fail(world: World) -> None:
    world.account_is(kind="individual", holders=["E1"])
    assert world.run(RULE) == []

    world.account_is(holders=["E1", "E2"])
    [result] = world.run(RULE)
    assert result.evidence["holders"] == ["E1", "E2"]
    assert result.confidence == "declared"


def test_joint_accounts_may_have_many_holders(world: World) -> None:
    world.account_is(kind="joint", holders=["E1", "E2", "E3"])
    assert world.run(RULE) == []


def test_two_observed_admins_besides_its_on_an_individual_account(world: World) -> None:
    world.account_is(kind="individual", holders=["E1"])
    world.admin(world.its())
    world.admin(world.known("E1"))
    assert world.run(RULE) == []

    world.admin(world.stranger("helper_account"))
    [result] = world.run(RULE)
    assert len(result.evidence["observed_admins"]) == 2
    assert result.confidence == "certain"


def test_two_identities_of_the_holder_are_one_person(world: World) -> None:
    world.account_is(kind="individual", holders=["E1"])
    world.admin(world.known("E1"))
    world.admin(world.second_identity("E1", "e1_backup"))

    assert world.run(RULE) == []
