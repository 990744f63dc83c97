"""What the X connector reads from the environment and from policy.yaml (`connectors: {twitter: ...}`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from connectors.base import ConnectorOptions, ConnectorSettings


class XSettings(ConnectorSettings):
    x_bearer_token: SecretStr | None = Field(None, validation_alias="X_BEARER_TOKEN")
    x_consumer_key: SecretStr | None = Field(None, validation_alias="X_CONSUMER_KEY")
    x_consumer_secret: SecretStr | None = Field(None, validation_alias="X_CONSUMER_SECRET")


class XOptions(ConnectorOptions):
    page_cap: int = Field(50, ge=1)  # follower pages per account per run (1,000 each)
    # When a public account's followers are read. Its followers are not a participant list the school
    # controls (non-school-participant reports only a count), so by default they are listed only at the
    # account's full reconciliation; "nightly" also reads its new followers every run, as for a protected
    # account (X bills each follower and allows 15 follower requests per 15 minutes).
    public_follower_lists: Literal["reconciliation", "nightly"] = "reconciliation"


CREDENTIAL_VARIABLES = ("X_BEARER_TOKEN", "X_CONSUMER_SECRET")
# Per-item prices of X API pay-per-use (USD); policy `prices` ("twitter:<item>") overrides them.
PRICES = {"user": 0.010, "post": 0.005, "follower": 0.010}
