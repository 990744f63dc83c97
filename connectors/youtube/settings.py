"""What the YouTube connector reads from the environment and from policy.yaml (`connectors: {youtube: ...}`)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from connectors.base import ConnectorOptions, ConnectorSettings


class YouTubeSettings(ConnectorSettings):
    youtube_api_key: SecretStr | None = Field(None, validation_alias="YOUTUBE_API_KEY")
    youtube_client_id: str | None = Field(None, validation_alias="YOUTUBE_CLIENT_ID")
    youtube_client_secret: SecretStr | None = Field(None, validation_alias="YOUTUBE_CLIENT_SECRET")
    youtube_refresh_token: SecretStr | None = Field(None, validation_alias="YOUTUBE_REFRESH_TOKEN")


class YouTubeOptions(ConnectorOptions):
    # The Google Cloud project's daily quota, shared by every channel of a run: an audit stops as
    # `partial: quota` before the platform's own quota runs out.
    daily_units: int = Field(10_000, ge=0)
    # Discovery: a channel search by each school's name (100 quota units a search, a small daily allowance).
    discovery_search: bool = False


CREDENTIAL_VARIABLES = ("YOUTUBE_API_KEY", "YOUTUBE_CLIENT_SECRET", "YOUTUBE_REFRESH_TOKEN")
