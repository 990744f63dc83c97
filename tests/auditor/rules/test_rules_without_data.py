"""When nothing could be collected, rules judge from the registry or stay quiet; none crashes or passes blindly."""

from __future__ import annotations

from datetime import date

from models.snapshot import Capability
from tests.auditor.rules.test_rule_loader import EXPECTED
from tests.auditor.rules.world import World

# Every account-scoped rule, as the registry test lists them.
ACCOUNT_RULES = sorted(EXPECTED)


def test_clean_registry_and_no_snapshot_leaves_only_audit_incomplete(world: World) -> None:
    world.snapshot = None
    world.person("E1")
    world.person("E2")
    world.account_is(declared_admins=["E1", "E2"])

    fired = {rule_id for rule_id in ACCOUNT_RULES if world.run(rule_id)}

    assert fired == {"audit-incomplete"}


def test_declared_breaches_are_still_reported_without_a_snapshot(world: World) -> None:
    world.snapshot = None
    world.capabilities = frozenset({Capability.PROFILE, Capability.POSTS})
    world.person("E1", departed=date(2026, 6, 30))
    world.account_is(declared_admins=["E1"], holders=["E1"], password_reset_on=None, reviewed_by=None)

    fired = {rule_id for rule_id in ACCOUNT_RULES if world.run(rule_id)}

    assert fired == {
        "account-not-reviewed",
        "too-few-staff-admins",
        "admin-not-active-staff",
        "password-reset-overdue",
        "password-not-reset-after-departure",
        "audit-incomplete",
    }
