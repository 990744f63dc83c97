"""`auditor doctor` for YouTube: each channel owner's refresh token is refreshed once (free: no
quota unit); the API key is not spent on a check (every call costs units), it is reported as set."""

from __future__ import annotations

from typing import Protocol

from connectors.base import ConnectorContext, CredentialCheck, CredentialState
from connectors.resilience import PlatformError, call_with_retry
from connectors.youtube.client import OwnerToken, owner_client
from connectors.youtube.settings import YouTubeSettings
from models.tables import RegisteredAccount

NAME = "youtube"


class _Checking(Protocol):
    """What the check needs of the connector that asks it (the connector passes itself)."""

    @property
    def context(self) -> ConnectorContext: ...

    @property
    def settings(self) -> YouTubeSettings: ...

    def owner_token(self, account: RegisteredAccount) -> OwnerToken | None: ...

    def classify_error(self, error: BaseException) -> PlatformError: ...


def check_youtube(connector: _Checking, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
    settings = connector.settings
    checks: list[CredentialCheck] = []
    if settings.youtube_api_key is None:
        checks.append(CredentialCheck(NAME, "YOUTUBE_API_KEY", CredentialState.MISSING, "not set"))
    else:
        detail = "set; not spent on a check (each call costs quota units): the nightly run tries it"
        checks.append(CredentialCheck(NAME, "YOUTUBE_API_KEY", CredentialState.NOT_CHECKED, detail))
    seen: set[str] = set()
    for account in accounts:
        token = connector.owner_token(account)
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
