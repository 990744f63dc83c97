"""Opt-in collection for staff-student-personal-connection: whom staff's declared personal accounts follow.

Runs once per division run, after the pulls, only when the policy's `personal_connections` is on (after
the Division's privacy review) and the rule is not disabled. It asks only about identities the directory
marks `(personal)` for active staff, on platforms whose connector shows follows (`shows_following`), with
the discovery machinery: counted as `<platform>:personal`, recorded as `personal-<platform>.yaml`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from auditor.collect import AccountOutcome, DiscoveryRequests
from auditor.personal_accounts import PersonalFollowing, staff_personal_identities, wanted
from connectors.base import Connector, SnapshotBuilder
from connectors.resilience import PlatformError
from models.snapshot import CollectionState, ErrorKind

if TYPE_CHECKING:
    from auditor.context import RunContext

log = logging.getLogger("auditor.connections")


def collect(ctx: RunContext, outcomes: dict[str, AccountOutcome]) -> list[PersonalFollowing]:
    """Whom each active staff member's declared personal account follows (a division-wide run only)."""
    division, connectors, settings, as_of = ctx.division, ctx.connectors, ctx.settings, ctx.as_of
    if not wanted(division):
        return []  # nobody reads the answers: ask nothing
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
