"""What the Facebook connector reads from the environment.

A Page token per account comes from ACCOUNT_<KEY>_FACEBOOK_PAGE_TOKEN (`ConnectorSettings.account_secret`).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from connectors.base import ConnectorSettings

# Read by the connector and by its `auditor doctor` check alike.
GRAPH_VERSION = "v26.0"
TIMEOUT_SECONDS = 30.0
PAGE_TOKEN = "FACEBOOK_PAGE_TOKEN"  # ACCOUNT_<KEY>_FACEBOOK_PAGE_TOKEN: one Page's own token


class FacebookSettings(ConnectorSettings):
    facebook_app_id: str | None = Field(None, validation_alias="FACEBOOK_APP_ID")
    facebook_app_secret: SecretStr | None = Field(None, validation_alias="FACEBOOK_APP_SECRET")
    facebook_access_token: SecretStr | None = Field(None, validation_alias="FACEBOOK_ACCESS_TOKEN")


CREDENTIAL_VARIABLES = ("FACEBOOK_ACCESS_TOKEN", "FACEBOOK_APP_SECRET")
