"""Everything that differs per bot language, in one place (docs/rules.md).

The language's own name, the Babel locale for numbers and dates, the default time zone for reminders,
the country whose public holidays are not business days, and the currencies
buyers of that language pay in (the first is the most common). The rest of the
bot derives its per-language tables from ``LANGUAGES``.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LanguageData:
    code: str
    name: str  # the language named in itself, for the /language buttons
    babel: str
    timezone: str
    holiday_country: str
    # Currencies buyers of this language pay in, most common first; a bare number typed in a language with
    # several of them makes the bot ask once (docs/rules.md, "Currency as paid").
    currencies: tuple[str, ...]


LANGUAGES: dict[str, LanguageData] = {
    "en": LanguageData("en", "🇺🇸 English", "en_US", "America/New_York", "US", ("USD", "GBP", "CAD", "AUD", "EUR")),
    "ru": LanguageData("ru", "🇷🇺 Русский", "ru_RU", "Europe/Moscow", "RU", ("RUB", "KZT", "BYN", "USD", "EUR")),
    "es": LanguageData("es", "🇪🇸 Español", "es_ES", "Europe/Madrid", "ES", ("EUR", "MXN", "ARS", "COP", "CLP", "USD")),
    "de": LanguageData("de", "🇩🇪 Deutsch", "de_DE", "Europe/Berlin", "DE", ("EUR", "CHF")),
}
DEFAULT_LANGUAGE = "en"

# Currencies per language, as docs/rules.md lists them.
CURRENCIES: dict[str, str] = {code: " ".join(lang.currencies) for code, lang in LANGUAGES.items()}


def language(locale: str | None) -> LanguageData:
    """The language's data; "ru-RU", "de_AT" count as their language, anything unknown as English."""
    primary = str(locale or "").replace("_", "-").split("-")[0].lower()
    return LANGUAGES.get(primary, LANGUAGES[DEFAULT_LANGUAGE])


def babel_locale(locale: str | None) -> str:
    return language(locale).babel
