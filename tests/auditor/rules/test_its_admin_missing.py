from __future__ import annotations

from models.snapshot import Capability, CollectionState
from tests.auditor.rules.world import World

RULE = "its-admin-missing"


def test_observed_its_admin_passes(world: World) -> None:
    world.admin(world.its())
    world.admin(world.known("E1"))

    assert world.run(RULE) == []


def test_observed_without_its_admin_is_a_finding_naming_the_observed_list(world: World) -> None:
    world.admin(world.known("E1"))

    [result] = world.run(RULE)

    assert result.evidence["source"] == "observed"
    assert result.evidence["its_admin"] == "phrd_its"
    assert [a["person_id"] for a in result.evidence["admins"]] == ["E1"]
    assert result.confidence == "certain"


def test_its_matched_by_platform_id_or_handle_case(world: World) -> None:
    its = world.its()
    world.account_is(its_admin="999")
    world.admin(its)
    assert world.run(RULE) == []

    world.account_is(its_admin="@PHRD_ITS")
    assert world.run(RULE) == []


def test_its_identity_with_a_lesser_role_is_missing(world: World) -> None:
    world.admin(world.its(), role="Moderator", is_admin=False)

    assert len(world.run(RULE)) == 1


def test_declared_its_admin_passes_when_platform_cannot_show_admins(world: World) -> None:
    world.without(Capability.ADMINS)

    assert world.run(RULE) == []


def test_declared_without_its_admin_is_a_declared_finding(world: World) -> None:
    world.without(Capability.ADMINS)
    world.account_is(its_admin=None)

    [result] = world.run(RULE)

    assert result.evidence["source"] == "declared"
    assert result.confidence == "declared"
    assert "records no ITS administrator" in result.message


def test_unavailable_admin_collection_does_not_judge_from_the_empty_observed_list(world: World) -> None:
    world.collection(Capability.ADMINS, CollectionState.UNAVAILABLE, reason="missing pages_manage_metadata")

    assert world.run(RULE) == []  # the registry declares the ITS admin; audit-incomplete reports the gap


def test_no_snapshot_falls_back_on_declared(world: World) -> None:
    world.snapshot = None
    world.account_is(its_admin=None)

    [result] = world.run(RULE)
    assert result.evidence["source"] == "declared"
    assert "not collected" in result.evidence["source_note"]
