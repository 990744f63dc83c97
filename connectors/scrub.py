"""Secret scrubbing: one place that knows what a token looks like.

Every string that leaves a connector for a log, an exception message, the database, a report or a
cassette passes through `scrub`. Known secret values (registered when settings load) are replaced
exactly; token shapes (bearer tokens, Graph tokens, Google keys, query parameters) by pattern.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

REDACTED = "REDACTED"

_lock = threading.Lock()
_known_secrets: set[str] = set()

# Token shapes of the three platforms, and the query/body parameters that carry them.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9%._~+/=-]{8,}"), r"\1" + REDACTED),
    (
        re.compile(
            r"(?i)\b(access_token|appsecret_proof|key|api_key|client_secret|refresh_token|"
            r"fb_exchange_token|oauth_token|oauth_signature|oauth_consumer_key|input_token|token)"
            r"(=|%3D)[^&\s\"'<>]+"
        ),
        r"\1\2" + REDACTED,
    ),
    (
        re.compile(r"(?i)(\"(?:access_token|refresh_token|client_secret|id_token|appsecret_proof)\"\s*:\s*\")[^\"]+"),
        r"\1" + REDACTED,
    ),
    (re.compile(r"\bEAA[A-Za-z0-9]{20,}"), REDACTED),  # Facebook tokens
    (re.compile(r"\bya29\.[A-Za-z0-9_-]{10,}"), REDACTED),  # Google OAuth access tokens
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), REDACTED),  # Google API keys
    (re.compile(r"\bAAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{10,}"), REDACTED),  # X app bearer tokens
    (re.compile(r'(?i)(oauth_[a-z_]+=")[^"]+(")'), r"\1" + REDACTED + r"\2"),
]


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is replaced wherever it appears."""
    if value and len(value) >= 6:
        with _lock:
            _known_secrets.add(value)


def forget_secrets() -> None:
    with _lock:
        _known_secrets.clear()


def scrub(text: str) -> str:
    """Return `text` with every known secret and token shape replaced by REDACTED."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_data(value: Any) -> Any:
    """Scrub every string inside a JSON-like structure."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_data(v) for v in value]
    return value


def _scrub_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string must not stop the run
        message = str(record.msg)
    record.msg = scrub(message)
    record.args = None
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None


class ScrubbingFilter(logging.Filter):
    """Logging filter: libraries (tweepy at DEBUG, urllib3, googleapiclient) log URLs and headers."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub_record(record)
        return True


_factory_installed = False


def install_log_scrubbing() -> None:
    """Scrub every log record as it is made, whoever handles it, and filter the root handlers.

    The record factory covers handlers added later (a log file, pytest's capture, a library's own
    handler); the filters stay as a second line for handlers that format records themselves.
    """
    global _factory_installed
    with _lock:
        if not _factory_installed:
            make_record = logging.getLogRecordFactory()

            def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = make_record(*args, **kwargs)
                _scrub_record(record)
                return record

            logging.setLogRecordFactory(scrubbed_record)
            _factory_installed = True
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, ScrubbingFilter) for f in handler.filters):
            handler.addFilter(ScrubbingFilter())
