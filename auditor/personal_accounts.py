"""The opt-in staff-student-personal-connection check's data: whom it asks about (active staff's
declared personal accounts, only when the policy turns the check on after the Division's privacy
review) and what it read (PersonalFollowing, the rule's input).

It sits below the collect stage (whose estimate prices these requests), auditor.connections (which
makes them) and the rule, so that none of them imports a module that imports it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models.snapshot import CollectionState, Identity

if TYPE_CHECKING:
    from auditor.inputs import Division

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
