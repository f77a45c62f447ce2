"""Language: stored per user, else the Telegram client's language, else English."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.config import LOCALES
from bot.storage import Storage
from bot.users import user_record

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
# Each language named in itself, for the /language buttons.
LANGUAGE_NAMES = {"en": "🇺🇸 English", "ru": "🇷🇺 Русский", "es": "🇪🇸 Español", "de": "🇩🇪 Deutsch"}
# Babel locale used for numbers and dates; "en" means US English here.
BABEL_LOCALES = {"en": "en_US", "ru": "ru_RU", "es": "es_ES", "de": "de_DE"}


def make_i18n(default_locale: str = "en") -> I18n:
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


def telegram_locale(language_code: str | None, default: str = "en") -> str:
    """``ru``, ``ru-RU``, ``es-MX``, ``de-AT`` → their language; anything else → default."""
    base = (language_code or "").replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else default


def babel_locale(locale: str) -> str:
    return BABEL_LOCALES.get(locale, "en_US")


class UserLocaleMiddleware(I18nMiddleware):
    def __init__(self, i18n: I18n, store: Storage) -> None:
        super().__init__(i18n=i18n)
        self.store = store

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        # Handlers get the locale as the ``locale`` kwarg (numbers, dates, parsing).
        # The user row comes from bot.users.UserRow (one read per update) as ``user``.
        data["locale"] = locale = await self._user_locale(data.get("event_from_user"), data)
        return locale

    async def _user_locale(self, user: User | None, data: dict[str, Any]) -> str:
        if user is None:
            return self.i18n.default_locale
        record = data["user"] if "user" in data else await user_record(self.store, user.id)
        if record and record.locale in LOCALES:
            return record.locale
        return telegram_locale(user.language_code, self.i18n.default_locale)
