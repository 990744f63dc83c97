"""Settings and credentials: environment or `.env` only, never the database, never CLI flags."""

from __future__ import annotations

import os
import re
from pathlib import Path

from dotenv import dotenv_values
from pydantic import Field, PrivateAttr, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.scrub import register_secret, register_url_secret


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

    # X / Twitter
    x_bearer_token: SecretStr | None = Field(None, validation_alias="X_BEARER_TOKEN")
    x_consumer_key: SecretStr | None = Field(None, validation_alias="X_CONSUMER_KEY")
    x_consumer_secret: SecretStr | None = Field(None, validation_alias="X_CONSUMER_SECRET")

    # Facebook
    facebook_app_id: str | None = Field(None, validation_alias="FACEBOOK_APP_ID")
    facebook_app_secret: SecretStr | None = Field(None, validation_alias="FACEBOOK_APP_SECRET")
    facebook_access_token: SecretStr | None = Field(None, validation_alias="FACEBOOK_ACCESS_TOKEN")

    # YouTube
    youtube_api_key: SecretStr | None = Field(None, validation_alias="YOUTUBE_API_KEY")
    youtube_client_id: str | None = Field(None, validation_alias="YOUTUBE_CLIENT_ID")
    youtube_client_secret: SecretStr | None = Field(None, validation_alias="YOUTUBE_CLIENT_SECRET")
    youtube_refresh_token: SecretStr | None = Field(None, validation_alias="YOUTUBE_REFRESH_TOKEN")

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
    # Whose credentials these are: the division's name when workers serve several divisions, so that
    # request budgets shared through PostgreSQL are counted per credential (auditor.workers.pacing).
    credential_scope: str = Field("default", validation_alias="AUDITOR_CREDENTIAL_SCOPE")

    # Where per-account credentials are read besides the environment: `.env`, or a division's secrets
    # file (`Settings.from_secrets_file`), which is then their only source.
    _secrets_file: Path = PrivateAttr(default=Path(".env"))
    _secrets_only_from_file: bool = PrivateAttr(default=False)

    @classmethod
    def from_secrets_file(cls, path: Path, **overrides: object) -> Settings:
        """One division's settings when workers serve several: its secrets file wins over the workers'
        environment, and per-account credentials come from that file only, never another division's."""
        values = {name: value for name, value in dotenv_values(path).items() if value is not None}
        settings = cls(**{**values, **overrides})  # type: ignore[arg-type]  # aliases: the variables' names
        settings._secrets_file = path
        settings._secrets_only_from_file = True
        for name, secret in values.items():
            if name.startswith("ACCOUNT_") and secret:
                register_secret(secret)
        return settings

    def model_post_init(self, __context: object) -> None:
        for name, value in self.__dict__.items():
            if isinstance(value, SecretStr):
                if name == "webhook_url":  # its scheme and host are public, its path is the token
                    register_url_secret(value.get_secret_value())
                else:
                    register_secret(value.get_secret_value())
        # Per-account credentials (ACCOUNT_<KEY>_<NAME>) are secrets from the start, not only once a
        # connector reads them: a crash before that read must not print one.
        env_file = Path(".env")
        from_file = dotenv_values(env_file) if env_file.exists() else {}
        for name, secret in {**from_file, **os.environ}.items():
            if name.startswith("ACCOUNT_") and secret:
                register_secret(secret)

    def account_secret(self, account_key: str, name: str) -> SecretStr | None:
        """A per-account credential: `ACCOUNT_<KEY>_<NAME>`, e.g. ACCOUNT_HS_CLUB_X_ACCESS_TOKEN.

        Used where one token cannot serve every account (a protected X account's own user token,
        one Page token per Facebook Page, a channel owner's refresh token).
        """
        variable = self.account_variable(account_key, name)
        value = None if self._secrets_only_from_file else os.environ.get(variable)
        if value is None:
            env_file = self._secrets_file
            if env_file.exists():
                value = dotenv_values(env_file).get(variable)
        if not value:
            return None
        register_secret(value)
        return SecretStr(value)

    @staticmethod
    def account_variable(account_key: str, name: str) -> str:
        return "ACCOUNT_" + re.sub(r"[^A-Za-z0-9]", "_", account_key).upper() + "_" + name.upper()
