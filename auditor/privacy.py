"""Identities of people outside the directory: kept as a keyed hash once rules have run.

A run needs names to match people against the directory and to word its findings. Once an
account's rules have run, the copy of its snapshot that goes into the store replaces every
participant (follower, member, subscriber) the directory does not know by an HMAC of their
platform identity: stable run after run, so membership can still be compared, and meaningless
without the key. Participants are the bulk of the people a snapshot names, and no later run reads
them back. Posts and interactions keep their authors: an incremental pull carries them forward
for the look-back window and rules key findings on them; they go with the snapshot at purge time
(policy.snapshot_retention_days). Findings keep what their evidence cites.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from auditor.settings import Settings
from models.snapshot import AccountSnapshot, Identity

PREFIX = "hmac:"


def hmac_key(settings: Settings) -> bytes:
    """AUDITOR_HMAC_KEY, or a random key kept (0600) beside the lock file, made on first use."""
    if settings.hmac_key is not None:
        return settings.hmac_key.get_secret_value().encode("utf-8")
    path = settings.lock_file.parent / "hmac.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def keyed_identity(key: bytes, identity: Identity) -> Identity:
    """The same person gives the same value run after run; nothing else of them is kept."""
    digest = hmac.new(key, identity.key.encode("utf-8"), hashlib.sha256).hexdigest()[:24]
    return Identity(platform=identity.platform, id=PREFIX + digest)


def pseudonymise_outsiders(snapshot: AccountSnapshot, known: set[str], key: bytes) -> AccountSnapshot:
    """A copy of `snapshot` whose participants not in `known` (identity keys) are keyed hashes."""

    def keep(identity: Identity) -> Identity:
        if identity.key in known or (identity.id or "").startswith(PREFIX):
            return identity
        return keyed_identity(key, identity)

    return snapshot.model_copy(update={"participants": [keep(p) for p in snapshot.participants]})
