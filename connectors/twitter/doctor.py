"""`auditor doctor` for X: each distinct credential is tried once with the cheapest call that proves it.

An owner's user token is checked with `get_me` (it must act as the registered account); the app's
bearer token, which cannot call `get_me`, with a lookup of one registered account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.base import CredentialCheck, CredentialState
from connectors.resilience import call_with_retry
from connectors.twitter.auth import ACCESS_TOKEN, ACCESS_TOKEN_SECRET, credentials_for
from connectors.twitter.errors import classify
from models.tables import RegisteredAccount

if TYPE_CHECKING:
    from connectors.twitter.connector import TwitterConnector

NAME = "twitter"


def check_x(connector: TwitterConnector, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
    settings = connector.settings
    checks: list[CredentialCheck] = []
    seen: set[str] = set()
    for account in accounts:
        credentials = credentials_for(settings, account.key)
        if credentials is None:
            if "X_BEARER_TOKEN" not in seen:
                seen.add("X_BEARER_TOKEN")
                checks.append(CredentialCheck(NAME, "X_BEARER_TOKEN", CredentialState.MISSING, "not set"))
            continue
        if credentials.variable in seen:
            continue
        seen.add(credentials.variable)
        checks.append(_check(connector, account, credentials))
    return checks


def _check(connector: TwitterConnector, account: RegisteredAccount, credentials: Any) -> CredentialCheck:
    client = credentials.client
    handle = (account.handle or "").lstrip("@")
    try:
        if credentials.owner_context:
            body = _call(connector, credentials, "users/me", lambda: client.get_me(user_auth=credentials.user_auth))
        elif account.platform_id:
            body = _call(connector, credentials, "users/:id", lambda: client.get_user(id=account.platform_id))
        else:
            body = _call(connector, credentials, "users/by/username", lambda: client.get_user(username=handle))
    except Exception as error:
        failure = classify(error, credentials.variable)
        return CredentialCheck(NAME, credentials.variable, CredentialState.FAILED, failure.describe())
    username = str(((body or {}).get("data") or {}).get("username") or "?")
    if not credentials.owner_context:
        return CredentialCheck(NAME, credentials.variable, CredentialState.OK, f"accepted (looked up @{username})")
    if handle and username.lower() != handle.lower():
        detail = f"acts as @{username}, not as the registered @{handle}: it cannot read that protected account"
        return CredentialCheck(NAME, credentials.variable, CredentialState.WARNING, detail)
    if not credentials.user_auth:
        # An OAuth 2.0 user access token lasts 2 hours and the auditor does not refresh it.
        settings = connector.settings
        token, secret = (settings.account_variable(account.key, n) for n in (ACCESS_TOKEN, ACCESS_TOKEN_SECRET))
        detail = (
            f"acts as @{username}, but an OAuth 2.0 user token expires 2 hours after it was issued and is not "
            f"refreshed: for the nightly job set {token} and {secret} with X_CONSUMER_KEY / X_CONSUMER_SECRET "
            "(OAuth 1.0a, does not expire) instead"
        )
        return CredentialCheck(NAME, credentials.variable, CredentialState.WARNING, detail)
    return CredentialCheck(NAME, credentials.variable, CredentialState.OK, f"acts as @{username}")


def _call(connector: TwitterConnector, credentials: Any, endpoint: str, fn: Any) -> Any:
    context = connector.context
    return call_with_retry(
        fn,
        lambda error: classify(error, credentials.variable),
        endpoint=endpoint,
        deadline=context.deadline,
        policy=context.retry,
        sleep=context.sleep or (lambda _seconds: None),
    )
