"""One Graph API instance per account, for every connector on the Graph API (Facebook Pages, Instagram)."""

from __future__ import annotations

from facebook_business.api import FacebookAdsApi
from facebook_business.session import FacebookSession

from connectors.facebook.settings import GRAPH_VERSION, TIMEOUT_SECONDS, FacebookSettings


def graph_api(settings: FacebookSettings, account_key: str, own_token: str) -> FacebookAdsApi | None:
    """The account's own token (ACCOUNT_<KEY>_<own_token>), else the system-user token; None without either."""
    token = settings.account_secret(account_key, own_token) or settings.facebook_access_token
    if token is None:
        return None
    secret = settings.facebook_app_secret.get_secret_value() if settings.facebook_app_secret else None
    session = FacebookSession(settings.facebook_app_id, secret, token.get_secret_value(), timeout=TIMEOUT_SECONDS)
    # Never FacebookAdsApi.init(): it sets a process-wide default API and, unless told otherwise,
    # installs the crash reporter. The constructor does neither.
    return FacebookAdsApi(session, api_version=GRAPH_VERSION)
