"""What the Facebook connector reads from the environment.

A Page token per account comes from ACCOUNT_<KEY>_FACEBOOK_PAGE_TOKEN (`ConnectorSettings.account_secret`).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from connectors.base import ConnectorSettings


class FacebookSettings(ConnectorSettings):
    facebook_app_id: str | None = Field(None, validation_alias="FACEBOOK_APP_ID")
    facebook_app_secret: SecretStr | None = Field(None, validation_alias="FACEBOOK_APP_SECRET")
    facebook_access_token: SecretStr | None = Field(None, validation_alias="FACEBOOK_ACCESS_TOKEN")


CREDENTIAL_VARIABLES = ("FACEBOOK_ACCESS_TOKEN", "FACEBOOK_APP_SECRET")
