"""Opt-in collection for staff-student-personal-connection: whom staff's declared personal accounts follow.

Runs once per division run, after the pulls, only when the policy's `personal_connections` is on (after
the Division's privacy review) and the rule is not disabled. It asks only about identities the directory
marks `(personal)` for active staff, on platforms whose connector shows follows (`shows_following`), with
the discovery machinery: counted as `<platform>:personal`, recorded as `personal-<platform>.yaml`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connectors.base import Connector, SnapshotBuilder
from connectors.resilience import PlatformError
from models.snapshot import CollectionState, ErrorKind, Identity

if TYPE_CHECKING:
    from auditor.collect import AccountOutcome
    from auditor.context import RunContext
    from auditor.inputs import Division

log = logging.getLogger("auditor.connections")

RULE = "staff-student-personal-connection"


@dataclass
class PersonalFollowing:
    """Whom one staff member's personal account follows, as far as it could be read."""

    person_id: str
    platform: str
    handle: str
    state: CollectionState
    followed: list[Identity] = field(default_factory=list)
    reason: str | None = None


def wanted(division: Division) -> bool:
    policy = division.policy
    return policy.personal_connections and RULE not in policy.disabled_rules


def staff_personal_identities(division: Division) -> list[tuple[str, str, str]]:
    """(person id, platform, handle) of every active staff member's declared personal identity."""
    directory = division.directory()
    policy = division.policy
    found = []
    for platform in sorted({p for p, _ in directory.personal}):
        for identity in directory.personal_identities(platform):
            person = directory.person(identity.person_id)
            if person is not None and person.role in policy.staff_roles and person.status == "active":
                found.append((identity.person_id, platform, identity.value))
    return found


def personal_accounts_by_platform(division: Division) -> dict[str, int]:
    """How many personal accounts a run would ask about, per platform (the dry run prices them)."""
    if not wanted(division):
        return {}
    counts: dict[str, int] = {}
    for _, platform, _ in staff_personal_identities(division):
        counts[platform] = counts.get(platform, 0) + 1
    return counts


def collect(ctx: RunContext, outcomes: dict[str, AccountOutcome]) -> list[PersonalFollowing]:
    """Whom each active staff member's declared personal account follows (a division-wide run only)."""
    division, connectors, settings, as_of = ctx.division, ctx.connectors, ctx.settings, ctx.as_of
    if not wanted(division):
        return []  # nobody reads the answers: ask nothing
    from auditor.collect import DiscoveryRequests  # the collect stage imports this module

    results: list[PersonalFollowing] = []
    by_platform: dict[str, list[tuple[str, str]]] = {}
    for person_id, platform, handle in staff_personal_identities(division):
        by_platform.setdefault(platform, []).append((person_id, handle))
    for platform, people in sorted(by_platform.items()):
        cls = connectors.get(platform)
        if cls is None or not cls.shows_following:
            why = f"{platform}'s API does not show whom an account follows" if cls else "no connector installed"
            results += [PersonalFollowing(p, platform, h, CollectionState.NOT_SUPPORTED, reason=why) for p, h in people]
            continue
        with DiscoveryRequests(
            cls, settings, division.policy, as_of, outcomes, purpose="personal", connectors=connectors
        ) as requests:
            for person_id, handle in people:
                results.append(_read(requests.connector, requests.builder, person_id, platform, handle))
    return results


def _read(
    connector: Connector | None, builder: SnapshotBuilder, person_id: str, platform: str, handle: str
) -> PersonalFollowing:
    if connector is None:
        reason = "replaying without a recording of these requests: nothing was asked"
        return PersonalFollowing(person_id, platform, handle, CollectionState.UNAVAILABLE, reason=reason)
    try:
        following = connector.read_following(handle, builder)
    except PlatformError as error:
        state = CollectionState.UNAVAILABLE if error.kind is ErrorKind.PERMISSION else CollectionState.FAILED
        log.warning("%s: whom @%s follows could not be read: %s", platform, handle, error.describe())
        return PersonalFollowing(person_id, platform, handle, state, reason=error.describe())
    state = CollectionState.COMPLETE if following.complete else CollectionState.PARTIAL
    return PersonalFollowing(person_id, platform, handle, state, following.identities, following.reason)
