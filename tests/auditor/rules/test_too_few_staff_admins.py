from __future__ import annotations

from datetime import date

import pytest

from models.snapshot import Capability, CollectionState
from tests.auditor.rules.world import ACCOUNT_ID, World

RULE = "too-few-staff-admins"


@pytest.mark.parametrize("staff_admins", [0, 1, 2])
def test_observed_boundary_at_two_staff_admins(world: World, staff_admins: int) -> None:
    world.admin(world.its())
    for n in range(staff_admins):
        world.admin(world.known(f"E{n}"))

    results = world.run(RULE)

    assert len(results) == (1 if staff_admins < 2 else 0)
    if results:
        evidence = results[0].evidence
        assert evidence["source"] == "observed"
        assert [c["person_id"] for c in evidence["counted"]] == [f"E{n}" for n in range(staff_admins)]
        assert {"admin": "PHRD ITS @phrd_its"}.items() <= evidence["not_counted"][0].items()
        assert evidence["not_counted"][0]["not_counted_because"] == "the ITS account"


def test_departed_student_and_unknown_admins_are_not_counted_and_say_why(world: World) -> None:
    world.admin(world.known("E1"))
    world.admin(world.known("E2", departed=date(2026, 6, 30)))
    world.admin(world.known("300100001", role="student"))
    world.admin(world.stranger("someone_else", candidate="E9", score=81.0))

    [result] = world.run(RULE)

    reasons = {a.get("person_id", a["admin"]): a["not_counted_because"] for a in result.evidence["not_counted"]}
    assert reasons == {
        "E2": "departed on 2026-06-30",
        "300100001": "not staff (directory role: student)",
        "Someone Else @someone_else": "unknown to the directory",
    }
    assert result.confidence == "certain"


def test_departure_later_than_the_run_still_counts(world: World) -> None:
    world.admin(world.known("E1"))
    world.admin(world.known("E2", departed=date(2026, 12, 31)))  # leaves after the run's date

    assert world.run(RULE) == []


def test_two_identities_of_one_person_count_once(world: World) -> None:
    world.admin(world.known("E1"))
    world.admin(world.second_identity("E1", "e1_other_account"))

    [result] = world.run(RULE)
    assert len(result.evidence["counted"]) == 1


def test_fuzzy_matched_admins_count_but_lower_confidence(world: World) -> None:
    world.admin(world.fuzzy("E1"))

    [result] = world.run(RULE)

    assert result.confidence == "likely"
    assert result.evidence["counted"][0]["match_method"] == "fuzzy-name"


def test_lesser_roles_do_not_count(world: World) -> None:
    world.admin(world.known("E1"))
    world.admin(world.known("E2"), role="Editor", is_admin=False)

    [result] = world.run(RULE)
    assert result.evidence["not_counted"][0]["not_counted_because"] == "holds a lesser role, not admin"


@pytest.mark.parametrize("declared", [["E1"], ["E1", "E2"]])
def test_declared_admins_when_the_platform_cannot_show_admins(world: World, declared: list[str]) -> None:
    world.without(Capability.ADMINS)
    world.person("E1")
    world.person("E2")
    world.account_is(declared_admins=declared)

    results = world.run(RULE)

    assert len(results) == (1 if len(declared) < 2 else 0)
    if results:
        assert results[0].evidence["source"] == "declared"
        assert results[0].confidence == "declared"


def test_failed_admin_collection_falls_back_on_declared_and_says_so(world: World) -> None:
    world.admin(world.known("E1"))
    world.admin(world.known("E2"))  # observed, but the collection failed: not trusted
    world.collection(Capability.ADMINS, CollectionState.FAILED, reason="token expired")
    world.account_is(declared_admins=["E1"])

    [result] = world.run(RULE)

    assert result.evidence["source"] == "declared"
    assert "failed" in result.evidence["source_note"]
    assert "audit-incomplete" in result.evidence["source_note"]


def test_the_policy_threshold_applies(world: World) -> None:
    world.policy.min_staff_admins = 3
    world.admin(world.known("E1"))
    world.admin(world.known("E2"))

    [result] = world.run(RULE)
    assert result.evidence["required"] == 3


def test_own_login_counts_as_the_holder_of_an_individual_account_only(world: World) -> None:
    world.policy.individual_accounts_need_staff_admins = True  # else individual accounts are not checked
    own = world.identity("hillsidehigh", platform_id=ACCOUNT_ID)
    world.person("E1")
    world.admin(own, role="owner")
    world.admin(world.known("E2"))

    world.account_is(kind="individual", holders=["E1"])
    assert world.run(RULE) == []

    world.account_is(kind="joint", holders=["E1", "E3"])
    [result] = world.run(RULE)
    reasons = [a["not_counted_because"] for a in result.evidence["not_counted"]]
    assert reasons == ["the account's own login, not a staff member's admin role"]


# --- individual accounts: AP 80-06 forbids sharing them -------------------------------------------


def _individual_with_its_and_holder_only(world: World) -> None:
    world.account_is(kind="individual", holders=["E1"])
    world.admin(world.its())
    world.admin(world.known("E1"))  # the holder: one staff admin, as an unshared account has


def test_individual_accounts_are_not_asked_for_two_staff_admins_by_default(world: World) -> None:
    _individual_with_its_and_holder_only(world)

    assert world.run(RULE) == []
    assert world.run("its-admin-missing") == []  # the ITS requirement still applies, and is met here


def test_the_policy_can_ask_individual_accounts_for_two_staff_admins(world: World) -> None:
    world.policy.individual_accounts_need_staff_admins = True
    _individual_with_its_and_holder_only(world)

    [result] = world.run(RULE)

    assert [c["person_id"] for c in result.evidence["counted"]] == ["E1"]
    assert result.evidence["required"] == 2


def test_individual_accounts_still_need_the_its_account(world: World) -> None:
    world.account_is(kind="individual", holders=["E1"])
    world.admin(world.known("E1"))

    assert world.run(RULE) == []
    [missing] = world.run("its-admin-missing")
    assert missing.subject == "its-admin"
