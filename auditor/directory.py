"""The directory in memory: people by id and by declared platform identity, plus match results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING

from models.snapshot import Identity

if TYPE_CHECKING:  # the tables are types here: the rules load without the database stack
    from models.tables import Activity, Person, PersonIdentity


def normalise_handle(value: str) -> str:
    return value.strip().lstrip("@").lower()


class MatchMethod(StrEnum):
    DECLARED_ID = "declared-id"  # the directory declares this platform id for the person
    DECLARED_HANDLE = "declared-handle"  # the directory declares this handle
    FUZZY_NAME = "fuzzy-name"  # the display name resembles a directory name: a probability
    NONE = "none"


@dataclass(frozen=True)
class Match:
    """How an identity was (or was not) matched to a directory person."""

    identity: Identity
    person_id: str | None
    method: MatchMethod
    score: float  # 100 for declared matches; the rapidfuzz score for fuzzy ones
    candidate_id: str | None = None  # best candidate below the accept threshold, for evidence
    candidate_score: float | None = None
    note: str | None = None  # e.g. "name too short to match", "2 namesakes in directory"

    @property
    def certain(self) -> bool:
        return self.method in (MatchMethod.DECLARED_ID, MatchMethod.DECLARED_HANDLE)

    def evidence(self) -> dict[str, object]:
        data: dict[str, object] = {
            "identity": self.identity.label(),
            "platform_id": self.identity.id,
            "match_method": self.method.value,
            "match_score": round(self.score, 1),
        }
        if self.person_id:
            data["person_id"] = self.person_id
        if self.candidate_id:
            data["best_candidate"] = self.candidate_id
            data["best_candidate_score"] = round(self.candidate_score or 0.0, 1)
        if self.note:
            data["match_note"] = self.note
        return data


@dataclass
class Directory:
    people: dict[str, Person]
    identities: list[PersonIdentity] = field(default_factory=list)
    activities: dict[str, Activity] = field(default_factory=dict)
    # (platform, normalised handle) the directory marks `(personal)`: a person's own account, not a school one
    personal: frozenset[tuple[str, str]] = frozenset()
    _by_identity: dict[tuple[str, str], str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for declared in self.identities:
            self._by_identity[(declared.platform, normalise_handle(declared.value))] = declared.person_id

    def declared_person(self, platform: str, value: str | None) -> str | None:
        if not value:
            return None
        return self._by_identity.get((platform, normalise_handle(value)))

    def personal_identities(self, platform: str) -> list[PersonIdentity]:
        """The identities on `platform` that the directory marks as their person's personal account."""
        return [i for i in self.identities if i.platform == platform and (platform, i.value) in self.personal]

    def person(self, person_id: str | None) -> Person | None:
        return self.people.get(person_id) if person_id else None

    def is_active(self, person: Person, on: date) -> bool:
        if person.status != "active":
            return False
        return person.departure_date is None or person.departure_date > on
