"""`auditor doctor` for Instagram: Graph's `debug_token` (asked as the Facebook connector asks it, with the
app's token) says whether each token is valid, when it expires and whether it carries what the audit reads."""

from __future__ import annotations

from typing import Protocol

from connectors.base import ConnectorContext, CredentialCheck, CredentialState
from connectors.facebook.doctor import _debug_token, _when
from connectors.instagram.settings import ACCOUNT_TOKEN, InstagramSettings
from connectors.resilience import PlatformError
from models.tables import RegisteredAccount


class InstagramConnector(Protocol):
    """What the check needs of the connector that asks it (the connector passes itself)."""

    @property
    def context(self) -> ConnectorContext: ...

    @property
    def settings(self) -> InstagramSettings: ...


NAME = "instagram"
# What the audit reads (docs/connectors-instagram.md): the account and its media, the comments, the linked Page.
NEEDED_SCOPES = ("instagram_basic", "instagram_manage_comments", "pages_show_list", "pages_read_engagement")


def check_instagram(connector: InstagramConnector, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
    settings = connector.settings
    tokens: dict[str, str] = {}
    for account in accounts:
        own = settings.account_secret(account.key, ACCOUNT_TOKEN)
        if own is not None:
            tokens.setdefault(settings.account_variable(account.key, ACCOUNT_TOKEN), own.get_secret_value())
        elif settings.facebook_access_token is not None:
            tokens.setdefault("FACEBOOK_ACCESS_TOKEN", settings.facebook_access_token.get_secret_value())
        else:
            tokens.setdefault("FACEBOOK_ACCESS_TOKEN", "")
    if not (settings.facebook_app_id and settings.facebook_app_secret):
        detail = "set FACEBOOK_APP_ID and FACEBOOK_APP_SECRET: debug_token needs the app's token"
        return [CredentialCheck(NAME, variable, CredentialState.NOT_CHECKED, detail) for variable in tokens]
    app_token = f"{settings.facebook_app_id}|{settings.facebook_app_secret.get_secret_value()}"
    return [_check(connector, variable, token, app_token) for variable, token in sorted(tokens.items())]


def _check(connector: InstagramConnector, variable: str, token: str, app_token: str) -> CredentialCheck:
    if not token:
        detail = f"not set (nor a token per account, ACCOUNT_<KEY>_{ACCOUNT_TOKEN})"
        return CredentialCheck(NAME, variable, CredentialState.MISSING, detail)
    try:
        body = _debug_token(connector, variable, token, app_token)
    except PlatformError as failure:
        return CredentialCheck(NAME, variable, CredentialState.FAILED, failure.describe())
    data = body.get("data") or {}
    scopes = [str(s) for s in data.get("scopes") or []]
    if not data.get("is_valid"):
        problem = (data.get("error") or {}).get("message") or "Graph says the token is not valid"
        return CredentialCheck(NAME, variable, CredentialState.FAILED, f"invalid: {problem}", scopes=scopes)
    expires = _when(data.get("expires_at"))
    data_access = _when(data.get("data_access_expires_at"))
    if data_access is not None and (expires is None or data_access < expires):
        expires = data_access
    kind = str(data.get("type") or "token").lower().replace("_", " ")
    missing = [s for s in NEEDED_SCOPES if s not in scopes]
    if missing:
        detail = f"valid {kind}, but lacks {', '.join(missing)}: the Instagram audit reads less"
        return CredentialCheck(NAME, variable, CredentialState.WARNING, detail, expires, scopes)
    never = "" if expires is not None else " (does not expire)"
    return CredentialCheck(NAME, variable, CredentialState.OK, f"valid {kind}{never}", expires, scopes)
