"""Configuration: a TOML file (see config.example.toml) overridden by environment variables.

One pydantic model per section; a missing or bad value ends the process with
one clear line (bot.__main__), never a traceback.
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from urllib.parse import urlparse

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator

from flows.languages import LANGUAGES
from flows.policy import Policy

LOCALES = tuple(LANGUAGES)  # flows/languages.py: every per-language table


class FatalError(Exception):
    """Something the bot can't run with (the database, another instance, the Bot API
    refusing the token), worded for the operator: ``python -m bot`` prints it as one
    line and exits non-zero."""


class ConfigError(FatalError):
    """A configuration problem, worded for the operator."""


class BotSection(BaseModel):
    token: str = ""
    # Base URL of a self-hosted Bot API server, e.g. http://127.0.0.1:8081.
    api_url: str | None = None
    admin_ids: list[int] = Field(default_factory=list)
    default_locale: str = "en"
    # How long to wait for the rest of an album before acknowledging it once.
    album_settle_seconds: float = Field(1.0, ge=0)
    # Flood control: more than this many updates from one user within the
    # window earns one "slow down" and a cool-down.
    flood_limit: int = Field(20, ge=1)
    flood_window_seconds: float = Field(5, gt=0)
    flood_cooldown_seconds: float = Field(20, ge=0)
    # Long-polling timeout per getUpdates call.
    polling_timeout: int = Field(30, ge=0, le=50)

    @field_validator("api_url")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value.rstrip("/") or None if value else None

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # Checked here: aiohttp would fail on the first request with the URL, token
        # included, in its message.
        try:
            parsed = urlparse(value)
            parsed.port  # noqa: B018 - raises ValueError for a port out of range or not a number
        except ValueError:
            raise ValueError("is not a valid URL: it must look like http://127.0.0.1:8081, "
                             "with a port from 1 to 65535") from None
        if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.query or parsed.fragment:
            raise ValueError("must look like http://127.0.0.1:8081 (http or https, a host, an optional port)")
        if parsed.port == 0:
            raise ValueError("has a bad port (it must be a number from 1 to 65535)")
        return value

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in LOCALES:
            raise ValueError(f"must be one of {', '.join(LOCALES)}")
        return value


class RemindersSection(BaseModel):
    # Telegram allows about 30 messages/s per bot and 1/s per chat; stay under.
    global_per_second: float = Field(25, gt=0)
    per_chat_per_second: float = Field(1, gt=0)
    # A claimed reminder not marked sent within this time is claimed again
    # (the process died mid-send): at most one duplicate.
    lease_seconds: float = Field(120, gt=0)
    batch: int = Field(200, ge=1)
    # Reminders being sent at once (the sender still keeps the rates). Each one in flight when the
    # process dies goes out again: 1 means at most one duplicate per crash (bot/reminders.py).
    concurrency: int = Field(1, ge=1)
    # The loop wakes at least this often even with nothing due.
    max_sleep_seconds: float = Field(300, gt=0)


class SendingSection(BaseModel):
    # Every message the bot sends (replies, edits, reminders) shares this budget; replies
    # are served first. Telegram allows about 30 messages/s per bot: the steady rate plus
    # the burst stay under that in any second.
    per_second: float = Field(25, gt=0)
    burst: int = Field(5, ge=1)
    # Per chat: about 1 message/s, a short burst (one screen of a few messages) at once.
    chat_per_second: float = Field(1, gt=0)
    chat_burst: int = Field(4, ge=1)
    # A reply hit by a 429 is sent again once if Telegram's retry_after is at most this
    # long; a longer one gives the reply up (the buyer's next message re-asks the step).
    reply_max_wait_seconds: float = Field(5, ge=0)


class DatabaseSection(BaseModel):
    url: str = "sqlite:///data/disputes.db"
    # How long a write waits for another program's lock before the buyer is told
    # it wasn't saved (and to try again in a minute).
    busy_timeout_seconds: float = Field(5.0, gt=0, le=60)


# What Telegram accepts as a webhook's secret_token.
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class WebhookSection(BaseModel):
    # Set: Telegram posts updates to this URL (setWebhook), served on host:port. Unset: long polling.
    # Telegram only posts to https on port 443, 80, 88 or 8443; a TLS proxy in front forwards to port.
    url: str | None = None
    # Telegram sends it in X-Telegram-Bot-Api-Secret-Token; a request without it is refused (401).
    # Unset: a new one is generated at every start (fine for one process, not for several).
    secret: SecretStr | None = None
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=1, le=65535)

    @field_validator("url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            parsed = urlparse(value)
            parsed.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise ValueError("is not a valid URL: it must look like https://bot.example.com/telegram") from None
        if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.fragment:
            raise ValueError("must look like https://bot.example.com/telegram")
        return value

    @field_validator("secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not SECRET_SHAPE.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1 to 256 characters, only A-Z, a-z, 0-9, _ and -")
        return value

    @property
    def path(self) -> str:
        """Where the server takes Telegram's posts: the URL's path."""
        return urlparse(self.url or "").path or "/"


class MetricsSection(BaseModel):
    # Polling mode: serve /metrics and /healthz on this port (unset: no HTTP server). In webhook
    # mode both are always on the webhook's server.
    port: int | None = Field(None, ge=1, le=65535)
    host: str = "0.0.0.0"


class Config(BaseModel):
    bot: BotSection = Field(default_factory=BotSection)
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    webhook: WebhookSection = Field(default_factory=WebhookSection)
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    reminders: RemindersSection = Field(default_factory=RemindersSection)
    sending: SendingSection = Field(default_factory=SendingSection)
    policy: Policy = Field(default_factory=Policy)


# What aiogram's Bot accepts (bot id, colon, secret, no spaces), checked here without
# importing aiogram: that import takes seconds, and a bad token should fail at once.
TOKEN_SHAPE = re.compile(r"\d+:\S+")

ENV_OVERRIDES = {"BOT_TOKEN": ("bot", "token"), "BOT_API_URL": ("bot", "api_url"),
                 "DATABASE_URL": ("database", "url"), "BOT_WEBHOOK_URL": ("webhook", "url"),
                 "BOT_WEBHOOK_SECRET": ("webhook", "secret"), "PORT": ("webhook", "port"),
                 "METRICS_PORT": ("metrics", "port")}


def load_config(environ: dict[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    path = Path(env.get("CONFIG_FILE", "config.toml"))
    data: dict = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path} is not valid TOML: {e}") from None
    elif "CONFIG_FILE" in env:
        raise ConfigError(f"CONFIG_FILE points to {path}, which does not exist")
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            data.setdefault(section, {})[key] = env[var]
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        from_env = [var for var, loc in ENV_OVERRIDES.items() if loc == tuple(first["loc"][:2]) and env.get(var)]
        source = f" (set by {from_env[0]})" if from_env else ""
        raise ConfigError(f"config value {where}: {first['msg']}{source}") from None
    if not config.bot.token:
        raise ConfigError("BOT_TOKEN is not set: get a token from @BotFather and run BOT_TOKEN=<token> python -m bot")
    if not TOKEN_SHAPE.fullmatch(config.bot.token):
        raise ConfigError("BOT_TOKEN is malformed: it looks like 123456789:AA... (copy it again from @BotFather)")
    return config
