"""Secret scrubbing: one place that knows what a token looks like.

Every string that leaves a connector for a log, an exception message, the database, a report or a
cassette passes through `scrub`. Known secret values (registered when settings load) are replaced
wherever any piece of MIN_FRAGMENT or more characters of them appears, raw or encoded (base64 at
any alignment, as in HTTP Basic or SMTP AUTH PLAIN; percent-encoding, as in OAuth headers and
query strings): a server that echoes part of a credential must not leak it. Token shapes (bearer
tokens, Graph tokens, Google keys, query parameters) are replaced by pattern.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

from pydantic import BaseModel

REDACTED = "REDACTED"
# A piece of a secret this long is a leak; shorter pieces (a few letters) would match ordinary text.
MIN_FRAGMENT = 8
# A piece with fewer distinct characters ("00000000" in a numeric id, X's "AAAAAAAA" prefix) says
# nothing about the secret and is common in public ids: only the whole value is replaced there.
MIN_DISTINCT = 4
# A piece that reads as a plain word (lower-case letters and hyphens, perhaps capitalised) is not
# scrubbed on its own: a human-chosen password ("wrong-password-123") holds words ("password",
# "assword-") that the reports themselves use in rule ids and messages, and scrubbing them would
# mangle every report. The pieces around such a word, with its digits, capitals or symbols, still go,
# and so does the whole value.
_WORDLIKE = re.compile(r"[A-Z]?[a-z_-]+")
# Any MIN_FRAGMENT-long piece holds a QUARTER-long piece starting at a multiple of QUARTER: looking
# those up first touches a quarter of the positions of a long run of ids or base64.
QUARTER = MIN_FRAGMENT // 2

_lock = threading.Lock()
_known_secrets: set[str] = set()  # scrubbed with every piece of MIN_FRAGMENT+ characters
_exact_secrets: set[str] = set()  # scrubbed whole only (a webhook URL: its host and scheme are public)

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
    # Facebook tokens, Google OAuth access tokens, Google API keys, X app bearer tokens: one pass.
    (
        re.compile(
            r"\b(?:EAA[A-Za-z0-9]{20,}|ya29\.[A-Za-z0-9_-]{10,}|AIza[0-9A-Za-z_-]{30,}|"
            r"AAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{10,})"
        ),
        REDACTED,
    ),
    (re.compile(r'(?i)(oauth_[a-z_]+=")[^"]+(")'), r"\1" + REDACTED + r"\2"),
]


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it, any piece of it and its encodings are replaced wherever they appear."""
    if value and len(value) >= 6:
        with _lock:
            if value not in _known_secrets:
                _known_secrets.add(value)
                _invalidate()


def register_url_secret(url: str | None) -> None:
    """A URL whose path or query is the credential (a webhook): the whole URL is replaced, and the
    token-like parts (a long path segment or query value) piece by piece. Its scheme, host and
    short words ("services", "webhookb2") are not secret and would match ordinary text."""
    if not url:
        return
    parts = urlsplit(url)
    with _lock:
        wholes = (url, parts.path + (f"?{parts.query}" if parts.query else ""), parts.path, parts.query)
        _exact_secrets.update(p for p in wholes if len(p) > 1)
        _invalidate()
    pieces = parts.path.split("/") + [v for pair in parts.query.split("&") for v in pair.split("=")[1:]]
    for piece in pieces:
        if _token_like(unquote(piece)):
            register_secret(piece)


def _token_like(piece: str) -> bool:
    return len(piece) >= 16 and re.fullmatch(r"[A-Za-z0-9._~+=@-]+", piece) is not None


def forget_secrets() -> None:
    with _lock:
        _known_secrets.clear()
        _exact_secrets.clear()
        _invalidate()


# --- the matcher ---------------------------------------------------------------------------------


def encodings(secret: str) -> set[str]:
    """The forms a secret takes in transit: raw, percent-encoded, and base64 at each alignment.

    base64 of a longer text holding the secret (`user:secret`, `\\0user\\0secret`) depends on where the
    secret starts modulo 3; for each of the 3 alignments, the characters computed from the secret's
    bytes alone are the same whatever surrounds it, so that core is what is looked for.
    """
    forms = {secret, unquote(secret), quote(secret, safe=""), quote_plus(secret, safe="")}
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in list(forms)}
    raw = secret.encode("utf-8")
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        # Characters k with 6k >= 8*shift start after the padding; those with 6k+6 <= 8*(shift+n) end inside.
        core = encoded[(8 * shift + 5) // 6 : (8 * (shift + len(raw))) // 6]
        forms |= {core, core.translate(_URLSAFE)}
    return {f for f in forms if len(f) >= MIN_FRAGMENT}


_URLSAFE = str.maketrans("+/", "-_")


@dataclass(frozen=True)
class _Matcher:
    """Every MIN_FRAGMENT-long piece of every form of every secret, in a set; a regex finds the
    runs of characters those pieces are made of, and only inside a run is the set consulted.
    One C-speed pass over the text plus set look-ups inside candidate runs: no per-secret loop."""

    grams: frozenset[str]
    quarters: frozenset[str]  # every QUARTER-long piece of those pieces: the cheap first test
    runs: re.Pattern[str] | None
    exact: re.Pattern[str] | None
    json_safe: bool  # no piece holds a character JSON escapes: a JSON dump can be searched as is


_matcher: _Matcher | None = None


def _invalidate() -> None:
    global _matcher
    _matcher = None


def _current_matcher() -> _Matcher:
    global _matcher
    with _lock:
        if _matcher is None:
            _matcher = _build(set(_known_secrets), set(_exact_secrets))
        return _matcher


def _build(secrets: set[str], exact: set[str]) -> _Matcher:
    grams: set[str] = set()
    short: set[str] = set()
    for secret in secrets:
        forms = encodings(secret)
        # The whole value always goes: some of its pieces may not qualify (low variety, plain words).
        short.add(secret)
        for form in forms:
            pieces = (form[i : i + MIN_FRAGMENT] for i in range(len(form) - MIN_FRAGMENT + 1))
            grams.update(p for p in pieces if len(set(p)) >= MIN_DISTINCT and not _WORDLIKE.fullmatch(p))
    alphabet = sorted({c for gram in grams for c in gram})
    charset = "".join(re.escape(c) for c in alphabet)
    runs = re.compile(f"[{charset}]{{{MIN_FRAGMENT},}}") if grams else None
    wholes = sorted(short | exact, key=len, reverse=True)
    json_safe = not any(c in '"\\' or c < " " for c in alphabet + [c for w in wholes for c in w])
    quarters = {g[i : i + QUARTER] for g in grams for i in range(MIN_FRAGMENT - QUARTER + 1)}
    whole = re.compile("|".join(re.escape(w) for w in wholes)) if wholes else None
    return _Matcher(frozenset(grams), frozenset(quarters), runs, whole, json_safe)


def _secret_spans(text: str, matcher: _Matcher) -> list[tuple[int, int]]:
    """Merged [start, end) spans of `text` covered by pieces of a known secret."""
    spans: list[tuple[int, int]] = []
    if matcher.runs is not None:
        grams, quarters, size = matcher.grams, matcher.quarters, MIN_FRAGMENT
        for run in matcher.runs.finditer(text):
            start, chunk = run.start(), run.group(0)
            last = len(chunk) - size
            hits = [p for p in range(0, len(chunk) - QUARTER + 1, QUARTER) if chunk[p : p + QUARTER] in quarters]
            if not hits:
                continue
            # A piece [i, i+size) holding the aligned quarter at p starts in [p - QUARTER, p].
            candidates = sorted({i for p in hits for i in range(max(0, p - QUARTER), min(p, last) + 1)})
            for i in candidates:
                if chunk[i : i + size] in grams:
                    begin, end = start + i, start + i + size
                    if spans and begin <= spans[-1][1]:
                        spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
                    else:
                        spans.append((begin, end))
    return spans


def _replace_spans(text: str, spans: list[tuple[int, int]]) -> str:
    pieces, last = [], 0
    for start, end in spans:
        pieces += [text[last:start], REDACTED]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def contains_secret(text: str) -> bool:
    """Whether `text` holds a known secret, a piece of one or an encoding of one (token shapes aside)."""
    if not text:
        return False
    matcher = _current_matcher()
    if matcher.exact is not None and matcher.exact.search(text):
        return True
    return bool(_secret_spans(text, matcher))


def scrub(text: str) -> str:
    """Return `text` with every known secret (pieces, encodings) and token shape replaced by REDACTED."""
    if not text:
        return text
    matcher = _current_matcher()
    if matcher.exact is not None:
        text = matcher.exact.sub(REDACTED, text)
    spans = _secret_spans(text, matcher)
    if spans:
        text = _replace_spans(text, spans)
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


def _needs_scrub(text: str) -> bool:
    return contains_secret(text) or any(pattern.search(text) for pattern, _ in _PATTERNS)


def scrub_model(model: BaseModel) -> BaseModel:
    """Scrub every string field of a pydantic model tree in place (a snapshot: post texts, names,
    reasons, notes are what the platform sent). Frozen models are rebuilt; returns the model.

    One pass over each field's JSON first: a clean snapshot (the usual case) costs one scan, not
    one per string, and an echo in the posts does not walk 100,000 participants."""
    if not _current_matcher().json_safe:
        return _scrub_fields(model)
    dirty = {name for name in type(model).model_fields if _needs_scrub(_dump(model, name))}
    return _scrub_fields(model, dirty) if dirty else model


def _dump(model: BaseModel, name: str) -> str:
    # (quotes unescaped: the `"access_token": "..."` shape inside a string is escaped in the dump)
    return model.model_dump_json(include={name}).replace('\\"', '"')


def _scrub_fields(model: BaseModel, only: set[str] | None = None) -> BaseModel:
    updates: dict[str, Any] = {}
    for name in only if only is not None else type(model).model_fields:
        value = getattr(model, name)
        cleaned = _scrub_value(value)
        if cleaned is not value:
            updates[name] = cleaned
    if not updates:
        return model
    if model.model_config.get("frozen"):
        return model.model_copy(update=updates)
    for name, cleaned in updates.items():
        setattr(model, name, cleaned)
    return model


def _scrub_value(value: Any) -> Any:
    """The value with secrets scrubbed, or the very same object when nothing changed."""
    if isinstance(value, str):
        cleaned = scrub(value)
        return value if cleaned == value else cleaned
    if isinstance(value, BaseModel):
        return _scrub_fields(value)
    if isinstance(value, list):
        items = [_scrub_value(v) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            value[:] = items
        return value
    if isinstance(value, dict):
        changed = {k: c for k, v in value.items() if (c := _scrub_value(v)) is not v}
        value.update(changed)
        return value
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
