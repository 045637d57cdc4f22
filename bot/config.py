"""Typed settings read once from the environment (the contract in DESIGN.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts


class Settings(BaseSettings):
    """Everything the bot reads from its environment. The token stays a SecretStr until used."""

    model_config = SettingsConfigDict(env_prefix="BOT_", extra="ignore", frozen=True)

    token: SecretStr | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    # A SQLite file (the default), or a postgresql:// URL for several replicas.
    db: Path | str = Path("data/bot.db")
    content_dir: Path = Path("content")
    timezone: str = "Asia/Shanghai"
    # Updates handled at once. Handlers wait for the flood budget (not for HTTP connections),
    # so many can wait cheaply; a user who writes again is then handled at once and answered
    # right after their first answer instead of behind every update that came in between.
    concurrent_updates: int = Field(default=1024, ge=1, le=8192)
    # Webhook mode (several replicas behind a load balancer): the public URL Telegram posts
    # updates to; empty means long polling. Each replica listens on listen:port and answers
    # on the URL's path; every request must carry the secret (derived from the token when
    # unset, so all replicas agree).
    webhook_url: str = ""
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    webhook_max_connections: int = Field(default=100, ge=1, le=100)
    # The public base URL of this bot's HTTP server (https://bot.example.com): /ics gives
    # calendar subscription links under it, served by the WeChat callback's server and, in
    # the Telegram process, by a small server on calendar_listen:calendar_port. Empty: /ics
    # gives a calendar file instead.
    public_url: str = ""
    calendar_listen: str = "0.0.0.0"
    calendar_port: int = Field(default=8081, ge=1, le=65535)

    @field_validator("token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("BOT_WEBHOOK_URL must be an https:// URL (Telegram posts there)")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("BOT_PUBLIC_URL must be an https:// URL (calendar links use it)")
        if "?" in value or "#" in value:
            raise ValueError("BOT_PUBLIC_URL must be a plain base URL, without ? or #")
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            if not WEBHOOK_SECRET.fullmatch(value):
                raise ValueError(
                    "BOT_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
                )
        return value

    @field_validator("db", mode="before")
    @classmethod
    def _db_path_or_url(cls, value: object) -> object:
        if isinstance(value, str) and "://" in value:
            if not value.startswith(("postgresql://", "postgres://")):
                raise ValueError(
                    "BOT_DB must be a SQLite file path or a postgresql://user:pass@host:port/db URL"
                )
            return value
        return Path(value) if isinstance(value, str) else value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            try:
                return frozenset(int(p) for p in parts if p)
            except ValueError:
                raise ValueError(
                    "BOT_ADMIN_IDS must be comma-separated numeric Telegram user ids"
                ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"BOT_TIMEZONE {value!r} is not a known IANA time zone") from None
        return value

    def is_admin(self, user_id: int | None) -> bool:
        """True when the user may run admin commands (/reload, later /broadcast)."""
        return user_id is not None and user_id in self.admin_ids
