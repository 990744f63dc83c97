"""Small in-memory worlds for rule tests: one account, its snapshot, a directory and the matches."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from auditor.directory import Directory, Match, MatchMethod
from auditor.policy import Policy
from auditor.rules.base import RuleContext, RuleResult, load_rules
from connectors.registry import ConnectorRegistry
from models.snapshot import (
    AccountSnapshot,
    AdminRole,
    Capability,
    CollectionState,
    CollectionStatus,
    Identity,
    Interaction,
    Post,
    Profile,
)
from models.tables import Activity, Person, PersonIdentity, RegisteredAccount

AS_OF = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
ACCOUNT_ID = "1000"  # the audited account's own platform id
ITS_HANDLE = "phrd_its"


def registered(**overrides: Any) -> RegisteredAccount:
    fields: dict[str, Any] = {
        "key": "hhs-main",
        "platform": "facebook",
        "connector": "facebook",
        "handle": "hillsidehigh",
        "platform_id": ACCOUNT_ID,
        "school": "Hillside High School",
        "purpose": "school news",
        "kind": "joint",
        "audience": "public",
        "holders": [],
        "declared_admins": [],
        "its_admin": ITS_HANDLE,
        "reviewed_by": "Director of ITS",
        "reviewed_on": date(2026, 1, 10),
        "password_reset_on": date(2026, 9, 1),
        "status": "active",
    }
    fields.update(overrides)
    return RegisteredAccount(**fields)


class World:
    """Build a rule's inputs step by step, then `run(rule_id)`."""

    def __init__(self) -> None:
        self.account = registered()
        self.people: dict[str, Person] = {}
        self.declared: list[PersonIdentity] = []
        self.activities: dict[str, Activity] = {}
        self.matches: dict[str, Match] = {}
        self.policy = Policy()
        self.as_of = AS_OF
        self.capabilities: frozenset[Capability] = frozenset(Capability)
        self.snapshot: AccountSnapshot | None = AccountSnapshot(
            account_key=self.account.key,
            platform=self.account.platform,
            taken_at=AS_OF,
            profile=Profile(id=ACCOUNT_ID, handle="hillsidehigh", name="Hillside High School"),
            collections={str(c): CollectionStatus(state=CollectionState.COMPLETE) for c in Capability},
        )

    # --- inputs ---------------------------------------------------------------------------

    def account_is(self, **overrides: Any) -> RegisteredAccount:
        for name, value in overrides.items():
            setattr(self.account, name, value)
        return self.account

    @property
    def snap(self) -> AccountSnapshot:
        assert self.snapshot is not None
        return self.snapshot

    def person(
        self, person_id: str, role: str = "staff", status: str = "active", departed: date | None = None
    ) -> Person:
        if departed is not None and departed <= AS_OF.date() and status == "active":
            status = "departed"
        person = Person(
            person_id=person_id,
            role=role,
            status=status,
            departure_date=departed,
            first_name=f"First{person_id}",
            last_name=f"Last{person_id}",
        )
        self.people[person_id] = person
        return person

    def identity(self, name: str, platform_id: str | None = None) -> Identity:
        """A platform identity: `name` is the handle; the id defaults to a number derived from it."""
        return Identity(
            platform=self.account.platform,
            id=platform_id or str(zlib.crc32(name.encode())),
            handle=name,
            display_name=name.replace("_", " ").title(),
        )

    def known(self, person_id: str, role: str = "staff", **person: Any) -> Identity:
        """A directory person with a declared handle, matched exactly."""
        self.person(person_id, role, **person)
        handle = f"h_{person_id.lower()}"
        identity = self.identity(handle)
        self.declared.append(PersonIdentity(person_id=person_id, platform=self.account.platform, value=handle))
        self.matches[identity.key] = Match(identity, person_id, MatchMethod.DECLARED_HANDLE, 100.0)
        return identity

    def second_identity(self, person_id: str, name: str) -> Identity:
        """Another declared identity of a person already in the directory."""
        identity = self.identity(name)
        self.declared.append(PersonIdentity(person_id=person_id, platform=self.account.platform, value=name))
        self.matches[identity.key] = Match(identity, person_id, MatchMethod.DECLARED_HANDLE, 100.0)
        return identity

    def fuzzy(self, person_id: str, role: str = "staff", score: float = 94.0, **person: Any) -> Identity:
        """A directory person matched only by display name."""
        self.person(person_id, role, **person)
        identity = self.identity(f"f_{person_id.lower()}")
        self.matches[identity.key] = Match(identity, person_id, MatchMethod.FUZZY_NAME, score)
        return identity

    def stranger(self, name: str, candidate: str | None = None, score: float | None = None) -> Identity:
        """An identity nobody in the directory matched (perhaps with a best candidate below threshold)."""
        identity = self.identity(name)
        self.matches[identity.key] = Match(
            identity, None, MatchMethod.NONE, score or 0.0, candidate_id=candidate, candidate_score=score
        )
        return identity

    def its(self) -> Identity:
        identity = Identity(platform=self.account.platform, id="999", handle=ITS_HANDLE, display_name="PHRD ITS")
        self.matches[identity.key] = Match(identity, None, MatchMethod.NONE, 0.0)
        return identity

    def admin(self, identity: Identity, role: str = "Admin", is_admin: bool = True) -> None:
        self.snap.admins.append(AdminRole(identity=identity, role=role, is_admin=is_admin))

    def participant(self, identity: Identity) -> None:
        self.snap.participants.append(identity)

    def post(self, text: str, post_id: str = "p1", author: Identity | None = None, **fields: Any) -> Post:
        post = Post(id=post_id, text=text, author=author, url=f"https://example.test/{post_id}", **fields)
        self.snap.posts.append(post)
        return post

    def interaction(
        self, actor: Identity, target: Identity | None, text: str = "", kind: str = "reply", **fields: Any
    ) -> Interaction:
        fields.setdefault("url", f"https://example.test/i{len(self.snap.interactions) + 1}")
        fields.setdefault("created_at", datetime(2026, 11, 20, 15, 0, tzinfo=UTC))
        interaction = Interaction(kind=kind, actor=actor, target=target, text=text, **fields)
        self.snap.interactions.append(interaction)
        return interaction

    def activity(self, activity_id: str, sponsors: Iterable[str], **fields: Any) -> Activity:
        activity = Activity(activity_id=activity_id, name=activity_id, sponsors=list(sponsors), **fields)
        self.activities[activity_id] = activity
        return activity

    def collection(self, name: Capability | str, state: CollectionState, **fields: Any) -> None:
        self.snap.collections[str(name)] = CollectionStatus(state=state, **fields)

    def without(self, capability: Capability, reason: str = "no API") -> None:
        """The platform cannot observe this fact at all."""
        self.capabilities = self.capabilities - {capability}
        self.collection(capability, CollectionState.NOT_SUPPORTED, reason=reason)

    # --- running ----------------------------------------------------------------------------

    def context(self) -> RuleContext:
        return RuleContext(
            account=self.account,
            snapshot=self.snapshot,
            capabilities=self.capabilities,
            matches=dict(self.matches),
            directory=Directory(people=dict(self.people), identities=list(self.declared), activities=self.activities),
            policy=self.policy,
            as_of=self.as_of,
            participants_from_interactions=_commenters_take_part(self.account.platform),
        )

    def run(self, rule_id: str) -> list[RuleResult]:
        return list(load_rules()[rule_id].check(self.context()))


def _commenters_take_part(platform: str) -> bool:
    """As the run decides it: the platform's connector declares whether its commenters are participants."""
    cls = ConnectorRegistry.installed().get(platform)
    return cls is not None and cls.participants_from_interactions
