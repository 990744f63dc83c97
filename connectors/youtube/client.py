"""Building the YouTube Data API clients: credentials, transport, and keeping the key out of logs.

Two clients may serve one channel:
- the *public* client reads what anyone may read (channel, uploads, public comments) with the API
  key `YOUTUBE_API_KEY`; without a key it falls back to the owner's OAuth token;
- the *owner* client carries the channel owner's OAuth token (refresh token
  `ACCOUNT_<KEY>_YOUTUBE_REFRESH_TOKEN`, or `YOUTUBE_REFRESH_TOKEN` for every channel, plus
  `YOUTUBE_CLIENT_ID` / `YOUTUBE_CLIENT_SECRET`) and is the only way to list subscribers.

`build(..., static_discovery=True)` reads the discovery document bundled in the
google-api-python-client wheel: building a client never touches the network. Requests go over
httplib2 (through google-auth-httplib2 with OAuth), which vcrpy records and replays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import google_auth_httplib2
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from connectors.scrub import ScrubbingFilter, register_secret

HTTP_TIMEOUT_SECONDS = 30
TOKEN_URI = "https://oauth2.googleapis.com/token"
REFRESH_TOKEN_NAME = "YOUTUBE_REFRESH_TOKEN"

# Library loggers that write request URLs (with `key=`) or token requests at DEBUG/INFO. A filter on
# the logger itself scrubs the record before any handler, whatever handlers the application adds.
_URL_LOGGERS = (
    "googleapiclient.discovery",
    "googleapiclient.http",
    "google_auth_httplib2",
    "google.auth.transport",
    "google.oauth2._client",
    "vcr.stubs",
    "vcr.request",
    "vcr.matchers",
    "vcr.cassette",
)


def scrub_library_logs() -> None:
    """Attach the scrubbing filter to every library logger that may print a key (idempotent)."""
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubbingFilter) for f in logger.filters):
            logger.addFilter(ScrubbingFilter())


@dataclass(frozen=True)
class OwnerToken:
    """Where the channel owner's OAuth refresh token came from (for messages: a variable name)."""

    refresh_token: str
    client_id: str | None
    client_secret: str | None
    variable: str


def api_key_client(api_key: str) -> Any:
    register_secret(api_key)
    return build(
        "youtube",
        "v3",
        developerKey=api_key,
        http=httplib2.Http(timeout=HTTP_TIMEOUT_SECONDS),
        static_discovery=True,
        cache_discovery=False,
    )


@dataclass
class OwnerClient:
    """The owner's client, and the refresh of its access token as a call of its own (so that a
    revoked token fails there, before any quota unit is spent)."""

    service: Any
    credentials: Credentials
    http: httplib2.Http

    def refresh(self) -> None:
        self.credentials.refresh(google_auth_httplib2.Request(self.http))


def owner_client(token: OwnerToken) -> OwnerClient:
    """A client that refreshes the owner's access token through google-auth (over httplib2)."""
    credentials = Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=token.refresh_token,
        client_id=token.client_id,
        client_secret=token.client_secret,
        token_uri=TOKEN_URI,
    )
    http = httplib2.Http(timeout=HTTP_TIMEOUT_SECONDS)
    # No refresh-and-resend on 401: the token was refreshed just before, so a 401 means it is not
    # accepted, and a silent resend would spend a quota unit the run does not count.
    authorized = google_auth_httplib2.AuthorizedHttp(credentials, http=http, refresh_status_codes=())
    service = build("youtube", "v3", http=authorized, static_discovery=True, cache_discovery=False)
    return OwnerClient(service=service, credentials=credentials, http=http)
