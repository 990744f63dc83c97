"""What the Instagram connector reads from the environment and from policy.yaml (`connectors: {instagram: ...}`).

Instagram's Graph API is reached through the Division's Facebook app with the same system-user token
the Facebook connector uses, so the settings are the Facebook connector's model (FACEBOOK_APP_ID,
FACEBOOK_APP_SECRET, FACEBOOK_ACCESS_TOKEN), read once more for this connector: one variable to
rotate, not two. An account whose token differs gives its own in ACCOUNT_<KEY>_INSTAGRAM_TOKEN
(`ConnectorSettings.account_secret`).
"""

from __future__ import annotations

from pydantic import Field

from connectors.base import ConnectorOptions
from connectors.facebook.settings import CREDENTIAL_VARIABLES as FACEBOOK_CREDENTIAL_VARIABLES
from connectors.facebook.settings import FacebookSettings


class InstagramSettings(FacebookSettings):
    """The Facebook app and system-user token (no variable of Instagram's own besides the per-account one)."""


class InstagramOptions(ConnectorOptions):
    # Pages read per edge (media, comments, replies, tags, the token's Pages) per account and run, 100
    # items a page: beyond it the collection is reported partial, never complete.
    page_cap: int = Field(50, ge=1)


CREDENTIAL_VARIABLES = FACEBOOK_CREDENTIAL_VARIABLES
ACCOUNT_TOKEN = "INSTAGRAM_TOKEN"  # ACCOUNT_<KEY>_INSTAGRAM_TOKEN: this account's own token
