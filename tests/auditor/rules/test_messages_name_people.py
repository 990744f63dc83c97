"""Rule messages name a directory person by name and id, never by an id alone; a student never by name."""

from __future__ import annotations

from datetime import date

from models.snapshot import Capability
from tests.auditor.rules.world import ACCOUNT_ID, World


def test_a_declared_admin_who_left_is_named_with_their_id(world: World) -> None:
    world.without(Capability.ADMINS)
    world.person("E1")
    world.person("E2", departed=date(2025, 8, 31))
    world.account_is(declared_admins=["E1", "E2", "E404"])

    messages = {r.subject: r.message for r in world.run("admin-not-active-staff")}

    assert messages["E2"] == "admin FirstE2 LastE2 (E2): departed on 2025-08-31"
    # an id the directory does not know says so instead of standing alone
    assert messages["E404"] == "admin E404 (not in the directory): unknown to the directory"


def test_an_observed_staff_admin_gets_the_directory_name_and_id(world: World) -> None:
    world.admin(world.known("E2", departed=date(2026, 6, 30)))

    [result] = world.run("admin-not-active-staff")

    assert "FirstE2 LastE2 (E2)" in result.message


def test_a_student_admin_is_named_by_role_and_id_never_by_name(world: World) -> None:
    world.admin(world.known("300100001", role="student"))

    [result] = world.run("admin-not-active-staff")

    assert "student 300100001" in result.message
    assert "First300100001" not in result.message and "Last300100001" not in result.message


def test_a_departed_holder_of_an_individual_account_is_named(world: World) -> None:
    world.account_is(kind="individual", holders=["E4"])
    world.person("E4", departed=date(2026, 6, 30))

    [result] = world.run("departed-staff-account-active")

    assert result.message.startswith("holder FirstE4 LastE4 (E4) left on 2026-06-30")


def test_the_own_login_of_an_individual_account_names_its_holder(world: World) -> None:
    world.account_is(kind="individual", holders=["E4"])
    world.person("E4", departed=date(2026, 6, 30))
    world.admin(world.identity("hillsidehigh", platform_id=ACCOUNT_ID), role="owner")

    [result] = world.run("admin-not-active-staff")

    assert "own login of holder FirstE4 LastE4 (E4)" in result.message


def test_a_person_who_left_a_joint_account_is_named(world: World) -> None:
    world.account_is(kind="joint", holders=["E1", "E2"], password_reset_on=date(2026, 1, 10))
    world.person("E1")
    world.person("E2", departed=date(2026, 6, 30))

    [result] = world.run("password-not-reset-after-departure")

    assert result.message.startswith("FirstE2 LastE2 (E2) left on 2026-06-30")
