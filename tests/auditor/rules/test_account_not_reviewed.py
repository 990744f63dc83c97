from __future__ import annotations

from datetime import date

from tests.auditor.rules.world import World

RULE = "account-not-reviewed"


def test_reviewed_account_passes(world: World) -> None:
    assert world.run(RULE) == []


def test_missing_reviewer_or_date(world: World) -> None:
    world.account_is(reviewed_by=None)
    [result] = world.run(RULE)
    assert result.evidence["missing"] == ["reviewer"]

    world.account_is(reviewed_by="Assistant Superintendent", reviewed_on=None)
    [result] = world.run(RULE)
    assert result.evidence["missing"] == ["review date"]


def test_no_review_at_all(world: World) -> None:
    world.account_is(reviewed_by="", reviewed_on=None)
    [result] = world.run(RULE)
    assert result.evidence["missing"] == ["reviewer", "review date"]
    assert result.confidence == "declared"
    world.account_is(reviewed_by="Director of ITS", reviewed_on=date(2026, 1, 1))
    assert world.run(RULE) == []
