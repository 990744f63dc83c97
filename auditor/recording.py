"""`auditor record`: one account pulled while its traffic is recorded, scrubbed and scanned for secrets;
with --pseudonymise, the people the directory does not know each get the same stable pseudonym
(HMAC with the division's key) throughout the cassette."""

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
from auditor.plugins import command_context
from connectors.base import Connector
from connectors.recording import cassette_leaks, make_vcr
from connectors.registry import ConnectorRegistry
from models.snapshot import AccountSnapshot, CollectionState, CollectionStatus, ErrorKind, Identity
from models.tables import RegisteredAccount


class RecordingRefused(Exception):
    """The recording was not kept (it held a secret, or the credentials did not work): why, in one line."""


@dataclass
class Recording:
    snapshot: AccountSnapshot
    failed: dict[str, CollectionStatus]  # in the order collected: the first failure is the cause of the others
    replaced: int  # values pseudonymised


def record_account(
    cls: type[Connector],
    connectors: ConnectorRegistry,
    division: Division,
    account: RegisteredAccount,
    cassette: Path,
    mode: str,
    pseudonym_key: bytes | None,
) -> Recording:
    """Pull `account` once, recording `cassette` (vcrpy `mode`); never leaves a recording that was not
    scanned, nor one that holds a secret or records refused credentials (RecordingRefused)."""
    if cassette.exists() and mode == "once":
        cassette.unlink()  # `once` would replay the old recording instead of recording
    cassette.parent.mkdir(parents=True, exist_ok=True)
    try:
        connector = cls(command_context(connectors, cls.name, division.policy))
        with make_vcr(cassette.parent, record_mode=mode).use_cassette(cassette.name):
            snapshot = connector.pull(account, {})
        replaced = 0
        if pseudonym_key is not None and cassette.exists():
            replaced = pseudonymise_cassette(cassette, outsiders(snapshot, account, division), pseudonym_key)
        leaks = cassette_leaks(cassette.read_text(encoding="utf-8")) if cassette.exists() else []
    except BaseException:
        cassette.unlink(missing_ok=True)  # never leave a recording that was not scanned
        raise
    if leaks:
        cassette.unlink()
        raise RecordingRefused(
            f"the recording held a secret, a piece or an encoding of one ({len(leaks)} place(s): "
            f"{', '.join(leaks[:5])})"
        )
    collections = snapshot.collections.items()
    failed = {name: status for name, status in collections if status.state == CollectionState.FAILED}
    if any(status.error == ErrorKind.AUTH for status in failed.values()):
        cassette.unlink(missing_ok=True)
        name, status = next((n, s) for n, s in failed.items() if s.error == ErrorKind.AUTH)
        raise RecordingRefused(
            f"{name} failed for lack of working credentials ({status.reason or 'auth'}); "
            "check them with `auditor doctor`"
        )
    return Recording(snapshot, failed, replaced)


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
