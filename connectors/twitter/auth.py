"""Which X credentials serve which account, and the tweepy client built from them.

- App-only bearer token `X_BEARER_TOKEN`: public profiles, followers, posts, mentions, search.
- A protected account needs its owner's user-context token, per account (registry key KEY):
  `ACCOUNT_<KEY>_X_USER_TOKEN` (OAuth 2.0 user access token), or
  `ACCOUNT_<KEY>_X_ACCESS_TOKEN` + `ACCOUNT_<KEY>_X_ACCESS_TOKEN_SECRET` (OAuth 1.0a) together with the
  app's `X_CONSUMER_KEY` + `X_CONSUMER_SECRET`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
import tweepy

from connectors.scrub import ScrubbingFilter
from connectors.twitter.settings import XSettings

REQUEST_TIMEOUT = (10.0, 60.0)  # connect, read (seconds): a hung socket must not eat the run's deadline

USER_TOKEN = "X_USER_TOKEN"
ACCESS_TOKEN = "X_ACCESS_TOKEN"
ACCESS_TOKEN_SECRET = "X_ACCESS_TOKEN_SECRET"

# tweepy logs full request headers (the bearer token) at DEBUG; oauthlib logs signing parameters.
_LOGGERS_WITH_SECRETS = ("tweepy", "tweepy.client", "requests_oauthlib", "oauthlib", "urllib3.connectionpool")


def guard_library_logs() -> None:
    """Scrub every record those libraries emit, whatever level a user configures."""
    for name in _LOGGERS_WITH_SECRETS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubbingFilter) for f in logger.filters):
            logger.addFilter(ScrubbingFilter())


class TimeoutSession(requests.Session):
    """tweepy has no timeout option: its session gets one for every request."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        return super().request(method, url, *args, **kwargs)


@dataclass(frozen=True)
class XCredentials:
    client: tweepy.Client
    user_auth: bool  # OAuth 1.0a: tweepy signs each call when `user_auth=True`
    owner_context: bool  # a token of the account's owner (can read a protected account)
    variable: str  # the environment variable(s) to fix when X refuses it


def credentials_for(settings: XSettings, account_key: str) -> XCredentials | None:
    """The best token for this account: the owner's user token when configured, else the app's."""
    user_token = settings.account_secret(account_key, USER_TOKEN)
    if user_token is not None:
        return XCredentials(
            build_client(bearer_token=user_token.get_secret_value()),
            user_auth=False,
            owner_context=True,
            variable=settings.account_variable(account_key, USER_TOKEN),
        )
    access = settings.account_secret(account_key, ACCESS_TOKEN)
    access_secret = settings.account_secret(account_key, ACCESS_TOKEN_SECRET)
    if access and access_secret and settings.x_consumer_key and settings.x_consumer_secret:
        variables = " / ".join(
            [
                settings.account_variable(account_key, ACCESS_TOKEN),
                settings.account_variable(account_key, ACCESS_TOKEN_SECRET),
            ]
        )
        return XCredentials(
            build_client(
                consumer_key=settings.x_consumer_key.get_secret_value(),
                consumer_secret=settings.x_consumer_secret.get_secret_value(),
                access_token=access.get_secret_value(),
                access_token_secret=access_secret.get_secret_value(),
            ),
            user_auth=True,
            owner_context=True,
            variable=f"{variables} (with X_CONSUMER_KEY / X_CONSUMER_SECRET)",
        )
    if settings.x_bearer_token is not None:
        return XCredentials(
            build_client(bearer_token=settings.x_bearer_token.get_secret_value()),
            user_auth=False,
            owner_context=False,
            variable="X_BEARER_TOKEN",
        )
    return None


def owner_token_hint(settings: XSettings, account_key: str) -> str:
    return (
        f"set {settings.account_variable(account_key, USER_TOKEN)} (OAuth 2.0 user token of the account's "
        f"owner), or {settings.account_variable(account_key, ACCESS_TOKEN)} and "
        f"{settings.account_variable(account_key, ACCESS_TOKEN_SECRET)} (OAuth 1.0a, with X_CONSUMER_KEY "
        "and X_CONSUMER_SECRET)"
    )


def build_client(**tokens: str) -> tweepy.Client:
    # wait_on_rate_limit=False: tweepy would sleep without limit, even on usage-cap 429s; the shared
    # resilience layer waits instead, within the run's deadline. return_type=dict: raw JSON bodies.
    client = tweepy.Client(**tokens, return_type=dict, wait_on_rate_limit=False)
    client.session = TimeoutSession()
    return client
