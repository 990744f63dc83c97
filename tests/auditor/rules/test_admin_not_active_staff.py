from __future__ import annotations

from datetime import date

from models.snapshot import Capability
from tests.auditor.rules.world import ACCOUNT_ID, World

RULE = "admin-not-active-staff"


def test_active_staff_and_its_admins_pass(world: World) -> None:
    world.admin(world.its())
    world.admin(world.known("E1"))
    world.admin(world.known("A1", role="administrator"))

    assert world.run(RULE) == []


def test_departed_admin(world: World) -> None:
    identity = world.known("E2", departed=date(2026, 6, 30))
    world.admin(identity)

    [result] = world.run(RULE)

    assert result.subject == identity.key
    assert result.evidence["status"] == "departed"
    assert result.evidence["departure_date"] == "2026-06-30"
    assert result.evidence["reason"] == "departed on 2026-06-30"


def test_departure_date_reached_counts_even_if_status_not_updated(world: World) -> None:
    world.admin(world.known("E2", status="active", departed=date(2026, 11, 29)))
    world.people["E2"].status = "active"  # HR has not updated the status yet

    [result] = world.run(RULE)
    assert result.evidence["reason"] == "departed on 2026-11-29"


def test_unknown_admin_shows_how_matching_was_tried(world: World) -> None:
    world.admin(world.stranger("coach_mike", candidate="E7", score=85.0))

    [result] = world.run(RULE)

    assert result.evidence["reason"] == "unknown to the directory"
    assert result.evidence["best_candidate"] == "E7"
    assert result.evidence["best_candidate_score"] == 85.0


def test_student_and_parent_admins(world: World) -> None:
    world.admin(world.known("300100001", role="student"))
    world.admin(world.known("P1", role="parent"), role="Editor", is_admin=False)

    results = world.run(RULE)

    assert {r.evidence["reason"] for r in results} == {
        "not staff (directory role: student)",
        "not staff (directory role: parent)",
    }


def test_fuzzy_match_lowers_confidence(world: World) -> None:
    world.admin(world.fuzzy("300100001", role="student"))

    [result] = world.run(RULE)
    assert result.confidence == "likely"


def test_declared_admins_are_checked_when_not_observable(world: World) -> None:
    world.without(Capability.ADMINS)
    world.person("E1")
    world.person("E2", departed=date(2025, 8, 31))
    world.account_is(declared_admins=["E1", "E2", "E404"])

    results = world.run(RULE)

    assert {r.subject: r.evidence["reason"] for r in results} == {
        "E2": "departed on 2025-08-31",
        "E404": "unknown to the directory",
    }
    assert {r.confidence for r in results} == {"declared"}
    assert {r.evidence["source"] for r in results} == {"declared"}


def test_an_individual_accounts_own_login_is_its_holder(world: World) -> None:
    world.account_is(kind="individual", holders=["E4"])
    world.person("E4", departed=date(2026, 6, 30))
    world.admin(world.identity("hillsidehigh", platform_id=ACCOUNT_ID), role="owner")

    [result] = world.run(RULE)

    assert result.evidence["person_id"] == "E4"
    assert result.evidence["reason"] == "departed on 2026-06-30"
    assert "own_login" in result.evidence


def test_a_joint_accounts_own_login_is_not_an_unknown_admin(world: World) -> None:
    world.account_is(kind="joint", holders=["E1", "E2"])
    world.admin(world.identity("hillsidehigh", platform_id=ACCOUNT_ID), role="owner")

    assert world.run(RULE) == []
