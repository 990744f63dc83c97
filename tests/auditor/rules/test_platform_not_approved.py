from __future__ import annotations

from datetime import date

import pytest

from tests.auditor.rules.world import World

RULE = "platform-not-approved"


@pytest.mark.parametrize("platform", ["twitter", "facebook", "Facebook"])
def test_approved_platforms_pass(world: World, platform: str) -> None:
    world.account_is(platform=platform)
    assert world.run(RULE) == []


def test_other_platform_without_approval(world: World) -> None:
    world.account_is(platform="youtube", source="registry.yaml:12")

    [result] = world.run(RULE)
    assert result.evidence["platform"] == "youtube"
    assert result.evidence["registration"] == "registry.yaml:12"


def test_recorded_approval_needs_who_and_when(world: World) -> None:
    world.account_is(platform="youtube", approved_by="Director of ITS")
    assert len(world.run(RULE)) == 1

    world.account_is(approved_on=date(2026, 2, 1))
    assert world.run(RULE) == []


def test_the_policy_list_applies(world: World) -> None:
    world.policy.approved_platforms = ["twitter", "facebook", "youtube"]
    world.account_is(platform="youtube")
    assert world.run(RULE) == []
