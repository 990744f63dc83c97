"""The core's settings: environment or `.env` only, never the database, never CLI flags.

A platform's credentials are its connector's own settings (`Connector.settings_model`), loaded through
the connector registry: the core names no platform.
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.scrub import register_secret, register_url_secret

# What a connector's credential variables end with (X_..._TOKEN, ..._APP_SECRET, ..._API_KEY).
SECRET_SUFFIXES = ("_TOKEN", "_SECRET", "_KEY", "_PASSWORD")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field("sqlite:///var/auditor.db", validation_alias="DATABASE_URL")
    report_dir: Path = Field(Path("reports"), validation_alias="AUDITOR_REPORT_DIR")
    log_dir: Path | None = Field(None, validation_alias="AUDITOR_LOG_DIR")
    lock_file: Path = Field(Path("var/auditor.lock"), validation_alias="AUDITOR_LOCK_FILE")
    # Keyed hash for identities of people outside the directory once a run no longer needs names.
    hmac_key: SecretStr | None = Field(None, validation_alias="AUDITOR_HMAC_KEY")
    # Or a file holding it, outside the data folder (default: ~/.config/school-social-auditor/hmac.key).
    hmac_key_file: Path | None = Field(None, validation_alias="AUDITOR_HMAC_KEY_FILE")
    # Replay recorded traffic instead of calling platforms (demo, tests): a cassette folder.
    cassette_dir: Path | None = Field(None, validation_alias="AUDITOR_CASSETTE_DIR")

    # Notifications
    smtp_host: str | None = Field(None, validation_alias="SMTP_HOST")
    smtp_port: int = Field(587, validation_alias="SMTP_PORT")
    smtp_user: str | None = Field(None, validation_alias="SMTP_USER")
    smtp_password: SecretStr | None = Field(None, validation_alias="SMTP_PASSWORD")
    smtp_from: str | None = Field(None, validation_alias="SMTP_FROM")
    smtp_starttls: bool = Field(True, validation_alias="SMTP_STARTTLS")
    # Implicit TLS (SMTPS) from the first byte; port 465 implies it. The report names minors: it
    # never travels without TLS, so one of SMTP_SSL / port 465 / SMTP_STARTTLS must hold.
    smtp_ssl: bool = Field(False, validation_alias="SMTP_SSL")
    webhook_url: SecretStr | None = Field(None, validation_alias="AUDITOR_WEBHOOK_URL")
    # Tests only: accept an http:// webhook on a loopback address (127.0.0.1, ::1, localhost).
    webhook_allow_http_loopback: bool = Field(False, validation_alias="AUDITOR_WEBHOOK_ALLOW_HTTP_LOOPBACK")

    @classmethod
    def from_secrets_file(cls, path: Path, **overrides: object) -> Settings:
        """One division's core settings when workers serve several (its HMAC key, mail and webhook): its
        secrets file wins over the workers' environment. The platforms' credentials in the same file
        reach the connectors through the division's registry (ConnectorRegistry.for_secrets_file)."""
        values = {name: value for name, value in dotenv_values(path).items() if value is not None}
        for name, secret in values.items():
            if secret and (name.startswith("ACCOUNT_") or name.upper().endswith(SECRET_SUFFIXES)):
                register_secret(secret)
        return cls(**{**values, **overrides})  # type: ignore[arg-type]  # aliases: the variables' names

    def model_post_init(self, __context: object) -> None:
        for name, value in self.__dict__.items():
            if isinstance(value, SecretStr):
                if name == "webhook_url":  # its scheme and host are public, its path is the token
                    register_url_secret(value.get_secret_value())
                else:
                    register_secret(value.get_secret_value())
        # Per-account credentials (ACCOUNT_<KEY>_<NAME>) and every connector's tokens, secrets and keys
        # are secrets from the start, not only once a connector loads its settings: a crash before that
        # must not print one (the core does not know the connectors' variables, only their shape).
        env_file = Path(".env")
        from_file = dotenv_values(env_file) if env_file.exists() else {}
        for name, secret in {**from_file, **os.environ}.items():
            if secret and (name.startswith("ACCOUNT_") or name.upper().endswith(SECRET_SUFFIXES)):
                register_secret(secret)
