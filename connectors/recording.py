"""The shared vcrpy configuration: how every connector's traffic is recorded and replayed.

- record mode `none` in tests and the demo: a request with no recording fails loudly, never
  reaches the network;
- tokens are filtered from request headers, query strings and bodies, and scrubbed from response
  bodies (Graph puts `access_token` in `paging.next`; OAuth token responses echo tokens);
- bodies are stored decoded (no gzip `!!binary`), so a reviewer can read what a test replays;
- `set-cookie` never lands in a cassette; every other header and the bodies are scrubbed
  of known secrets, their pieces and encodings (a server may echo a credential anywhere);
- a replay miss names the method, path and query that had no recorded answer (secrets scrubbed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import vcr

from connectors.scrub import REDACTED, contains_secret, scrub

FILTER_HEADERS = [
    ("authorization", REDACTED),
    ("cookie", None),
    ("x-goog-api-key", None),
]
FILTER_QUERY = [
    ("access_token", None),
    ("appsecret_proof", None),
    ("key", None),
    ("input_token", None),
]
FILTER_POST = [
    ("access_token", None),
    ("refresh_token", None),
    ("client_secret", None),
    ("fb_exchange_token", None),
    ("appsecret_proof", None),
]
DROP_RESPONSE_HEADERS = {"set-cookie", "x-fb-debug", "x-fb-trace-id"}


def _scrub_request(request: Any) -> Any:
    # (The URI is left to FILTER_QUERY: it is what replays match on. `auditor record` scans it.)
    _scrub_headers(request.headers)
    if request.body:
        body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else request.body
        request.body = scrub(body).encode("utf-8")
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in DROP_RESPONSE_HEADERS:
            del headers[name]
    _scrub_headers(headers)
    body = response.get("body", {}).get("string")
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return response
        response["body"]["string"] = scrub(text).encode("utf-8")
    elif isinstance(body, str):
        response["body"]["string"] = scrub(body)
    return response


def _scrub_headers(headers: Any) -> None:
    """Header values (a list per name in responses, a string in requests), scrubbed in place."""
    for name in list(headers):
        value = headers[name]
        if isinstance(value, list):
            headers[name] = [scrub(v) if isinstance(v, str) else v for v in value]
        elif isinstance(value, str):
            headers[name] = scrub(value)


def make_vcr(cassette_dir: Path, record_mode: str = "none", match_on: tuple[str, ...] | None = None) -> vcr.VCR:
    """A VCR configured the way every cassette in this project is recorded and replayed."""
    return vcr.VCR(
        cassette_library_dir=str(cassette_dir),
        record_mode=record_mode,
        serializer="yaml",
        decode_compressed_response=True,
        filter_headers=FILTER_HEADERS,
        filter_query_parameters=FILTER_QUERY,
        filter_post_data_parameters=FILTER_POST,
        before_record_request=_scrub_request,
        before_record_response=_scrub_response,
        match_on=match_on or ("method", "scheme", "host", "port", "path", "query"),
        # (vcrpy takes `allow_playback_repeats` per cassette, not here; its default is False: each
        # recorded response plays once.)
    )


def describe_cassette_miss(error: BaseException) -> str:
    """Which request had no recorded answer: method, path and query, credentials removed.

    vcrpy's own message prints the unfiltered URL (a token in the query): never reuse it.
    """
    request = getattr(error, "failed_request", None)
    uri = getattr(request, "uri", None)
    if request is None or not isinstance(uri, str):
        return "no recorded response answers this request (cassette replay)"
    parts = urlsplit(uri)
    filtered = {name for name, _ in FILTER_QUERY}
    query = [(k, REDACTED if k in filtered else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    target = parts.path + (f"?{urlencode(query, safe=',:')}" if query else "")
    return scrub(f"no recorded response for {getattr(request, 'method', '?')} {target} (cassette replay)")


def cassette_leaks(content: str) -> list[str]:
    """Where a written cassette still holds a known secret (a piece or an encoding of it) or a token
    shape: the raw text, and every string and binary value once parsed (YAML may fold a long
    string across lines, or store a body as base64 `!!binary`). Names places, never values."""
    import yaml

    leaks = [f"line {n}" for n, line in enumerate(content.splitlines(), 1) if _leaks(line)]
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError:
        return [*leaks, "the cassette is not valid YAML"]
    for interaction_number, interaction in enumerate((data or {}).get("interactions") or [], 1):
        for where, value in _strings(interaction, f"interaction {interaction_number}"):
            if _leaks(value):
                leaks.append(where)
    return leaks


def _leaks(text: str) -> bool:
    return contains_secret(text) or scrub(text) != text


def _strings(value: Any, where: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(where, value)]
    if isinstance(value, bytes):  # a body YAML stored as !!binary: secrets are bytes in there
        return [(where, value.decode("latin-1"))]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{where} {k}")]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, where)]
    return []
