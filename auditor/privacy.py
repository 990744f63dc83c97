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
from pathlib import Path

from auditor.settings import Settings
from models.snapshot import AccountSnapshot, Identity

PREFIX = "hmac:"


KEY_FILE_NAME = "hmac.key"


def default_key_file() -> Path:
    """Outside the data folder: a copy of the database (a backup, a stolen disk image) must not
    carry the key that makes its keyed identities meaningful. `$XDG_CONFIG_HOME` or `~/.config`."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "school-social-auditor" / KEY_FILE_NAME


def legacy_key_file(settings: Settings) -> Path:
    """Where releases before 2026-12 kept the key: beside the lock file, in the data folder."""
    return settings.lock_file.parent / KEY_FILE_NAME


def hmac_key_file(settings: Settings) -> Path:
    """The key file in use: AUDITOR_HMAC_KEY_FILE, else a key an earlier release already made beside
    the data (kept, so identities keyed with it still compare; `doctor` says to move it), else the
    default outside the data folder."""
    if settings.hmac_key_file is not None:
        return settings.hmac_key_file
    legacy = legacy_key_file(settings)
    default = default_key_file()
    return legacy if legacy.exists() and not default.exists() else default


def hmac_key(settings: Settings) -> bytes:
    """AUDITOR_HMAC_KEY, or a random key kept (0600) in the key file, made on first use."""
    if settings.hmac_key is not None:
        return settings.hmac_key.get_secret_value().encode("utf-8")
    path = hmac_key_file(settings)
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


def key_beside_data(settings: Settings, data_folders: list[Path]) -> Path | None:
    """The key file, when it sits inside one of `data_folders` (None when the key is elsewhere or
    comes from AUDITOR_HMAC_KEY)."""
    if settings.hmac_key is not None:
        return None
    key = hmac_key_file(settings).resolve()
    for folder in data_folders:
        if key.parent == folder.resolve() or folder.resolve() in key.parents:
            return key
    return None


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
