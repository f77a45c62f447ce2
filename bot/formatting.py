"""Values shown to the user, in the user's locale (Babel) and HTML-safe."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import escape

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from bot.i18n import babel_locale


def fmt_date(day: date, locale: str) -> str:
    return format_date(day, format="medium", locale=babel_locale(locale))


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
