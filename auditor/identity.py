"""Placeholder until the identity branch lands: exact matches only."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.directory import Directory, Match, MatchMethod
from auditor.policy import MatchingPolicy
from models.snapshot import Identity


class IdentityResolver:
    def __init__(self, directory: Directory, policy: MatchingPolicy) -> None:
        self.directory = directory
        self.policy = policy

    def resolve(self, identities: Iterable[Identity]) -> dict[str, Match]:
        result: dict[str, Match] = {}
        for identity in identities:
            person = self.directory.declared_person(identity.platform, identity.id)
            method = MatchMethod.DECLARED_ID
            if person is None:
                person = self.directory.declared_person(identity.platform, identity.handle)
                method = MatchMethod.DECLARED_HANDLE
            if person is None:
                result[identity.key] = Match(identity, None, MatchMethod.NONE, 0.0)
            else:
                result[identity.key] = Match(identity, person, method, 100.0)
        return result


def resolve_identities(
    identities: Iterable[Identity], directory: Directory, policy: MatchingPolicy
) -> dict[str, Match]:
    return IdentityResolver(directory, policy).resolve(identities)
