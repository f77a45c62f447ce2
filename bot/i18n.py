"""Language: stored per user, else the Telegram client's language, else English."""
from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.config import LOCALES
from bot.storage import Storage
from flows.languages import LANGUAGES
from bot.users import user_record

log = logging.getLogger(__name__)


def _locales_dir() -> Path:
    """The catalogs installed with the package (``pip install .`` puts ``locales/`` at
    ``bot/locales``), else the checkout's ``locales/`` (``make``, ``pip install -e``)."""
    here = Path(__file__).resolve().parent
    installed = here / "locales"
    return installed if installed.is_dir() else here.parent / "locales"


LOCALES_DIR = _locales_dir()
DOMAIN = "messages"
# Each language named in itself, for the /language buttons.
LANGUAGE_NAMES = {code: lang.name for code, lang in LANGUAGES.items()}
# Babel locale used for numbers and dates; "en" means US English here (flows/languages.py).
BABEL_LOCALES = {code: lang.babel for code, lang in LANGUAGES.items()}


def compiled_locales(source: Path = LOCALES_DIR) -> Path:
    """A directory of compiled catalogs for aiogram's I18n (which reads only ``.mo`` files):
    ``source`` itself, after compiling (like ``pybabel compile``) every ``.po`` whose ``.mo``
    is missing or older, so a fresh checkout or ``pip install .`` runs with no build step
    and an edited catalog is never shadowed by a stale ``.mo``. When ``source`` is not
    writable (a read-only install), a cache directory of the user's instead."""
    try:
        _compile_stale(source, source)
        return source
    except OSError as e:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dispute-guide-bot" / "locales"
        log.info("can't write compiled catalogs next to %s (%s): using %s", source, e.strerror or e, cache)
        _compile_stale(source, cache)
        return cache


def _compile_stale(source: Path, target: Path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in sorted(source.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        try:
            if mo.stat().st_mtime >= po.stat().st_mtime:
                continue
        except FileNotFoundError:
            pass
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parts[-3])
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        mo.parent.mkdir(parents=True, exist_ok=True)
        # Atomically: another process starting now must never read half a file.
        fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(buffer.getvalue())
            os.replace(tmp, mo)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def make_i18n(default_locale: str = "en") -> I18n:
    return I18n(path=compiled_locales(), default_locale=default_locale, domain=DOMAIN)


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
