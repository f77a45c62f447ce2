"""Values shown to the user, in the user's locale (Babel) and HTML-safe."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from html import escape

from aiogram.utils.i18n import I18n
from babel.dates import format_date, format_timedelta
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal

from bot.i18n import babel_locale
from flows.explanation import Language


def fmt_date(day: date, locale: str) -> str:
    return format_date(day, format="medium", locale=babel_locale(locale))


def fmt_relative(days: int, locale: str) -> str:
    """"in 4 days" / "через 4 дня"; always in days: deadlines need the exact count."""
    return format_timedelta(timedelta(days=days), granularity="day", threshold=10_000, add_direction=True,
                            locale=babel_locale(locale))


def fmt_money(amount: Decimal, currency: str | None, locale: str) -> str:
    if not currency:
        return format_decimal(amount, format="#,##0.00", locale=babel_locale(locale))
    return format_currency(amount, currency, locale=babel_locale(locale))


def example_date(day: date, locale: str) -> str:
    """How this locale writes a date by hand, e.g. 11/21/2026 or 21.11.2026."""
    if locale == "en":
        return f"{day.month}/{day.day}/{day.year}"
    if locale == "es":
        return f"{day.day}/{day.month}/{day.year}"
    return f"{day:%d.%m.%Y}"


def example_amount(locale: str) -> str:
    return format_decimal(Decimal("12.50"), format="#,##0.00", locale=babel_locale(locale))


def html(text: str) -> str:
    """Escapes anything the user typed before it is echoed in an HTML message."""
    return escape(text, quote=False)


def user_language(locale: str, i18n: I18n) -> Language:
    """The buyer's language for the explanation's translated copy."""
    return Language(
        gettext=lambda message: i18n.gettext(message, locale=locale),
        ngettext=lambda singular, plural, n: i18n.gettext(singular, plural, n, locale=locale),
        date=lambda day: fmt_date(day, locale),
        money=lambda amount, currency: fmt_money(amount, currency, locale),
        join=lambda parts: format_list(parts, locale=babel_locale(locale)),
    )
