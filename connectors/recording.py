"""The shared vcrpy configuration: how every connector's traffic is recorded and replayed.

- record mode `none` in tests and the demo: a request with no recording fails loudly, never
  reaches the network;
- tokens are filtered from request headers, query strings and bodies, and scrubbed from response
  bodies (Graph puts `access_token` in `paging.next`; OAuth token responses echo tokens);
- bodies are stored decoded (no gzip `!!binary`), so a reviewer can read what a test replays;
- `set-cookie` never lands in a cassette.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import vcr
from vcr.errors import CannotOverwriteExistingCassetteException

from connectors.scrub import REDACTED, scrub

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
    if request.body:
        body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else request.body
        request.body = scrub(body).encode("utf-8")
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in DROP_RESPONSE_HEADERS:
            del headers[name]
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


class CassetteMiss(Exception):
    """A request that no recording answers. Its message never holds the raw URL (it may hold a token)."""


def is_cassette_miss(error: BaseException) -> bool:
    return isinstance(error, CannotOverwriteExistingCassetteException)


def pretty_json(data: Any) -> str:
    """Cassette bodies are written as indented JSON so that diffs and reviews are readable."""
    return json.dumps(data, indent=2, ensure_ascii=False)
