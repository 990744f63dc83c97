"""What a connector observed about one account in one run: the normalised snapshot.

Connectors produce these; rules read them. Nothing here talks to a platform.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Capability(StrEnum):
    """Which facts a platform's API can observe for an account."""

    PROFILE = "profile"
    ADMINS = "admins"
    PARTICIPANTS = "participants"
    POSTS = "posts"
    INTERACTIONS = "interactions"


class CollectionState(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"  # some data, not all (page cap, quota, rate limit): `reason` says why
    FAILED = "failed"  # nothing usable: `error` says the classified cause
    UNAVAILABLE = "unavailable"  # the API could answer, but not for this app / token / access level
    NOT_SUPPORTED = "not_supported"  # no API exists for this fact on this platform


# A collection in one of these states read less than the whole fact: the account is not fully audited.
INCOMPLETE_STATES = frozenset({CollectionState.FAILED, CollectionState.PARTIAL, CollectionState.UNAVAILABLE})

# Cursor keys the core reads (a connector's own keys are its business): when every participant was
# last listed, i.e. the report's coverage[].last_full_reconciliation.
CURSOR_FULL_RECONCILED_AT = "full_reconciled_at"


class ErrorKind(StrEnum):
    """Classified platform errors: one vocabulary for every connector."""

    RETRYABLE = "retryable"  # 5xx, connection reset, timeout, transient platform errors
    RATE_LIMITED = "rate-limited"  # wait as the platform says, then retry
    AUTH = "auth"  # token missing, invalid, expired or revoked
    PERMISSION = "permission"  # the token lacks a permission / access level
    QUOTA = "quota"  # budget gone for the period (usage cap, daily quota): never retry
    NOT_FOUND = "not-found"  # deleted, suspended, wrong id
    MALFORMED = "malformed"  # a response we cannot parse
    BAD_REQUEST = "bad-request"  # our request is wrong: a bug or bad registry data


class Identity(BaseModel):
    """A platform identity: the id is stable, handles and names change."""

    model_config = ConfigDict(frozen=True)

    platform: str
    id: str | None = None
    handle: str | None = None
    display_name: str | None = None
    url: str | None = None

    @property
    def key(self) -> str:
        """Stable key for this identity within its platform."""
        if self.id:
            return f"{self.platform}:id:{self.id}"
        if self.handle:
            return f"{self.platform}:handle:{self.handle.lstrip('@').lower()}"
        return f"{self.platform}:name:{(self.display_name or '').strip().lower()}"

    def label(self) -> str:
        parts = [p for p in (self.display_name, f"@{self.handle.lstrip('@')}" if self.handle else None) if p]
        return " ".join(parts) or (self.id or "?")


class AdminRole(BaseModel):
    identity: Identity
    role: str = "admin"  # platform wording: Admin, MANAGE, owner, ...
    tasks: list[str] = Field(default_factory=list)
    is_admin: bool = True  # holds full control (a platform's full-control task or admin role)
    source: str = "observed"  # observed | export (manual connector)


class Post(BaseModel):
    id: str
    created_at: datetime | None = None
    text: str = ""
    url: str | None = None
    author: Identity | None = None
    hashtags: list[str] = Field(default_factory=list)


class Interaction(BaseModel):
    """Somebody interacting with somebody: reply, mention, quote, comment, tag, visitor post."""

    kind: str
    actor: Identity
    target: Identity | None = None  # who was replied to / mentioned; None = the account itself
    post_id: str | None = None
    thread_id: str | None = None  # the root post of the conversation
    created_at: datetime | None = None
    text: str = ""
    url: str | None = None
    hashtags: list[str] = Field(default_factory=list)


class CollectionStatus(BaseModel):
    state: CollectionState
    reason: str | None = None  # human words: why partial / unavailable / failed, and what to do
    error: ErrorKind | None = None
    retry_after: datetime | None = None

    @property
    def usable(self) -> bool:
        return self.state in (CollectionState.COMPLETE, CollectionState.PARTIAL)

    @property
    def incomplete(self) -> bool:
        """Less than the whole collection was read (failed, partial or unavailable); `not_supported` is
        not incomplete: the platform has no API for it and the rules fall back to declared data."""
        return self.state in INCOMPLETE_STATES


class Profile(BaseModel):
    id: str | None = None
    handle: str | None = None
    name: str | None = None
    url: str | None = None
    closed: bool | None = None  # protected account, private group; None = unknown
    published: bool | None = None
    description: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)  # followers, posts, subscribers, ...


class AccountSnapshot(BaseModel):
    """Everything collected for one account in one run."""

    account_key: str
    platform: str
    taken_at: datetime
    profile: Profile | None = None
    admins: list[AdminRole] = Field(default_factory=list)
    participants: list[Identity] = Field(default_factory=list)
    # True: `participants` holds only who is new since the previous snapshot (an incremental
    # listing); the run adds the previous snapshot's participants before rules see it.
    participants_delta: bool = False
    posts: list[Post] = Field(default_factory=list)
    interactions: list[Interaction] = Field(default_factory=list)
    collections: dict[str, CollectionStatus] = Field(default_factory=dict)
    cursor: dict[str, str] = Field(default_factory=dict)  # what the next incremental pull starts from
    requests: dict[str, int] = Field(default_factory=dict)  # endpoint -> requests spent
    units: int = 0  # platform quota units spent (a metered quota)
    # Items the platform bills, as it counts them (e.g. each returned user, follower, post): the run
    # prices them with the policy's `prices` ("<platform>:<item>").
    billable: dict[str, int] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)  # facts rules may use, e.g. "token died: password changed"
    password_changed_at: datetime | None = None  # observed evidence (the platform said the password changed)

    def status_of(self, collection: Capability | str) -> CollectionStatus | None:
        return self.collections.get(str(collection))

    def usable(self, collection: Capability | str) -> bool:
        status = self.status_of(collection)
        return status is not None and status.usable

    @property
    def incomplete(self) -> bool:
        """The account was not fully audited: a collection is incomplete (see `CollectionStatus.incomplete`)."""
        return any(status.incomplete for status in self.collections.values())

    def failed_collections(self) -> dict[str, CollectionStatus]:
        """The incomplete collections, by name."""
        return {name: status for name, status in self.collections.items() if status.incomplete}

    def identities(self) -> list[Identity]:
        """Every distinct identity the snapshot names: admins, participants, authors, actors, targets."""
        seen: dict[str, Identity] = {}
        candidates: list[Identity | None] = [a.identity for a in self.admins]
        candidates += self.participants
        candidates += [p.author for p in self.posts]
        for interaction in self.interactions:
            candidates += [interaction.actor, interaction.target]
        for identity in candidates:
            if identity is not None and identity.key not in seen:
                seen[identity.key] = identity
        return list(seen.values())
