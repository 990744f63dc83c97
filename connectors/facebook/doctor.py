"""`auditor doctor` for Facebook: Graph's `debug_token` says whether each token is valid, when it
expires and which permissions it carries. It needs the app's id and secret (an app token)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from connectors.base import CredentialCheck, CredentialState
from connectors.facebook.connector import GRAPH_VERSION, PAGE_TOKEN, TIMEOUT_SECONDS
from connectors.facebook.errors import classify_graph_error
from connectors.resilience import PlatformError, call_with_retry
from models.tables import RegisteredAccount

if TYPE_CHECKING:
    from connectors.facebook.connector import FacebookConnector

NAME = "facebook"
GRAPH = "https://graph.facebook.com"
# What the audit reads (docs/connectors-facebook.md); a token without one of them audits less.
NEEDED_SCOPES = ("pages_show_list", "pages_read_engagement", "pages_read_user_content")
# debug_token is asked with the app's token: a token Graph refuses there is first the app's id or secret.
APP_TOKEN_FIX = (
    "check FACEBOOK_APP_ID and FACEBOOK_APP_SECRET (debug_token is asked with the app's token), then {variable}"
)


def check_facebook(connector: FacebookConnector, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
    settings = connector.settings
    tokens: dict[str, str] = {}
    for account in accounts:
        page_token = settings.account_secret(account.key, PAGE_TOKEN)
        if page_token is not None:
            tokens.setdefault(settings.account_variable(account.key, PAGE_TOKEN), page_token.get_secret_value())
        elif settings.facebook_access_token is not None:
            tokens.setdefault("FACEBOOK_ACCESS_TOKEN", settings.facebook_access_token.get_secret_value())
        else:
            tokens.setdefault("FACEBOOK_ACCESS_TOKEN", "")
    if not (settings.facebook_app_id and settings.facebook_app_secret):
        detail = "set FACEBOOK_APP_ID and FACEBOOK_APP_SECRET: debug_token needs the app's token"
        return [CredentialCheck(NAME, variable, CredentialState.NOT_CHECKED, detail) for variable in tokens]
    app_token = f"{settings.facebook_app_id}|{settings.facebook_app_secret.get_secret_value()}"
    return [_check(connector, variable, token, app_token) for variable, token in sorted(tokens.items())]


def _check(connector: FacebookConnector, variable: str, token: str, app_token: str) -> CredentialCheck:
    if not token:
        return CredentialCheck(NAME, variable, CredentialState.MISSING, "not set (nor a Page token per account)")
    try:
        body = _debug_token(connector, variable, token, app_token)
    except PlatformError as failure:  # already classified by call_with_retry: shown as is
        return CredentialCheck(NAME, variable, CredentialState.FAILED, failure.describe())
    data = body.get("data") or {}
    scopes = [str(s) for s in data.get("scopes") or []]
    if not data.get("is_valid"):
        problem = (data.get("error") or {}).get("message") or "Graph says the token is not valid"
        return CredentialCheck(NAME, variable, CredentialState.FAILED, f"invalid: {problem}", scopes=scopes)
    expires = _when(data.get("expires_at"))
    data_access = _when(data.get("data_access_expires_at"))
    if data_access is not None and (expires is None or data_access < expires):
        expires = data_access  # data access ends first: the token then reads nothing
    kind = str(data.get("type") or "token").lower().replace("_", " ")
    missing = [s for s in NEEDED_SCOPES if scopes and s not in scopes]
    if missing:
        detail = f"valid {kind}, but lacks {', '.join(missing)}"
        return CredentialCheck(NAME, variable, CredentialState.WARNING, detail, expires, scopes)
    never = "" if expires is not None else " (does not expire)"
    return CredentialCheck(NAME, variable, CredentialState.OK, f"valid {kind}{never}", expires, scopes)


def _debug_token(connector: FacebookConnector, variable: str, token: str, app_token: str) -> dict[str, Any]:
    def ask() -> dict[str, Any]:
        response = requests.get(
            f"{GRAPH}/{GRAPH_VERSION}/debug_token",
            params={"input_token": token, "access_token": app_token},
            timeout=TIMEOUT_SECONDS,
        )
        response.raise_for_status()
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError("debug_token did not answer a JSON object")
        return body

    def classify(error: BaseException) -> PlatformError:
        return classify_graph_error(error, variable, auth_fix=APP_TOKEN_FIX.format(variable=variable))

    context = connector.context
    return call_with_retry(
        ask,
        classify,
        endpoint="debug_token",
        deadline=context.deadline,
        policy=context.retry,
        sleep=context.sleep or (lambda _seconds: None),
    )


def _when(value: Any) -> datetime | None:
    """Graph's expiry: a Unix time, 0 meaning never."""
    if isinstance(value, int) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None
