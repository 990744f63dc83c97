"""`auditor doctor` for YouTube: each channel owner's refresh token is refreshed once (free: no
quota unit); the API key is not spent on a check (every call costs units), it is reported as set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.base import CredentialCheck, CredentialState
from connectors.resilience import call_with_retry
from connectors.youtube.client import owner_client
from models.tables import RegisteredAccount

if TYPE_CHECKING:
    from connectors.youtube.connector import YouTubeConnector

NAME = "youtube"


def check_youtube(connector: YouTubeConnector, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
    settings = connector.settings
    checks: list[CredentialCheck] = []
    if settings.youtube_api_key is None:
        checks.append(CredentialCheck(NAME, "YOUTUBE_API_KEY", CredentialState.MISSING, "not set"))
    else:
        detail = "set; not spent on a check (each call costs quota units): the nightly run tries it"
        checks.append(CredentialCheck(NAME, "YOUTUBE_API_KEY", CredentialState.NOT_CHECKED, detail))
    seen: set[str] = set()
    for account in accounts:
        token = connector._owner_token(account)
        if token is None or token.variable in seen:
            continue
        seen.add(token.variable)
        try:
            client = owner_client(token)
            context = connector.context
            call_with_retry(
                client.refresh,
                connector.classify_error,
                endpoint="oauth2 token refresh",
                deadline=context.deadline,
                policy=context.retry,
                sleep=context.sleep or (lambda _seconds: None),
            )
        except Exception as error:
            failure = connector.classify_error(error)
            checks.append(CredentialCheck(NAME, token.variable, CredentialState.FAILED, failure.describe()))
            continue
        granted = getattr(client.credentials, "granted_scopes", None) or client.credentials.scopes or []
        scopes = sorted(str(scope) for scope in granted)
        checks.append(
            CredentialCheck(NAME, token.variable, CredentialState.OK, "refreshed (owner token accepted)", scopes=scopes)
        )
    return checks
