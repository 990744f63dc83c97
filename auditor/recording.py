"""`auditor record --pseudonymise`: the people in a recording the directory does not know, and the
rewrite of the cassette that gives each of them the same stable pseudonym (HMAC with the division's key)."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from auditor.identity import IdentityResolver
from auditor.inputs import Division
from models.snapshot import AccountSnapshot, Identity
from models.tables import RegisteredAccount


@dataclass(frozen=True)
class Replacement:
    original: str
    pseudonym: str


def outsiders(snapshot: AccountSnapshot, account: RegisteredAccount, division: Division) -> list[Identity]:
    """Identities in the snapshot that the directory does not know, except the account itself."""
    matches = IdentityResolver(division.directory(), division.policy.matching).resolve(snapshot.identities())
    own = {v for v in (account.platform_id, (account.handle or "").lstrip("@").lower()) if v}
    if snapshot.profile is not None:
        own |= {v for v in (snapshot.profile.id, (snapshot.profile.handle or "").lower()) if v}
    return [
        m.identity
        for m in matches.values()
        if m.person_id is None and not ({m.identity.id, (m.identity.handle or "").lstrip("@").lower()} & own)
    ]


def pseudonyms(people: list[Identity], key: bytes) -> list[Replacement]:
    """The same person always gets the same pseudonym (HMAC of their identity with the key)."""
    replacements: dict[str, str] = {}
    for person in people:
        digest = hmac.new(key, person.key.encode("utf-8"), hashlib.sha256).hexdigest()
        if person.id and len(person.id) >= 3:
            replacements[person.id] = _same_shape_id(person.id, digest)
        if person.handle and len(person.handle.lstrip("@")) >= 3:
            replacements[person.handle.lstrip("@")] = f"user_{digest[:8]}"
        if person.display_name and len(person.display_name) >= 3:
            replacements[person.display_name] = f"Person {digest[8:14].upper()}"
    return [Replacement(o, p) for o, p in sorted(replacements.items(), key=lambda kv: -len(kv[0]))]


def _same_shape_id(original: str, digest: str) -> str:
    """Numeric ids stay numeric and as long (connectors parse them); others become hex."""
    if original.isdigit():
        number = str(int(digest, 16))[: len(original)]
        return ("9" + number[1:]) if number.startswith("0") else number
    return digest[: max(len(original), 8)]


def pseudonymise_cassette(cassette: Path, people: list[Identity], key: bytes) -> int:
    """Replace every occurrence (request URIs and bodies, response bodies) of the people's ids,
    handles and names by their pseudonyms; returns how many were replaced."""

    data = yaml.safe_load(cassette.read_text(encoding="utf-8")) or {}
    replacements = pseudonyms(people, key)
    if not replacements:
        return 0
    pattern = re.compile("|".join(rf"(?<![\w]){re.escape(r.original)}(?![\w])" for r in replacements))
    lookup = {r.original: r.pseudonym for r in replacements}
    count = 0

    def swap(value: Any) -> Any:
        nonlocal count
        if not isinstance(value, str):
            return value
        new, n = pattern.subn(lambda m: lookup[m.group(0)], value)
        count += n
        return new

    for interaction in data.get("interactions") or []:
        request = interaction.get("request") or {}
        request["uri"] = swap(request.get("uri"))
        request["body"] = swap(request.get("body"))
        body = (interaction.get("response") or {}).get("body") or {}
        body["string"] = swap(body.get("string"))
    cassette.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return count
