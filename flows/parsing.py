"""Lenient parsers for what buyers type on their phones: amounts, dates, day
counts and order numbers.

Every failure raises InputError with a stable `code`; the bot maps codes to
localized hints, so nothing here produces user-facing text.  Input is capped
at a small length before any parsing, and the few regexes are anchored and
free of nested quantifiers, so pasted junk fails fast instead of hanging.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from babel.dates import get_month_names
from babel.numbers import get_decimal_symbol, list_currencies

from flows.languages import babel_locale, language

_MAX_LEN = 64  # no real amount, date or order number is longer than this
_CENT = Decimal("0.01")
_DIGITS = "0123456789"  # str.isdigit() would also let in '²', '٣' and friends


class InputError(ValueError):
    """Bad user input. `code` is a stable machine-readable reason the bot maps to a localized hint."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Money:
    amount: Decimal  # quantized to 2 decimal places
    currency: str | None  # ISO 4217 code, or None when the text named no currency


def _babel_locale(locale: str) -> str:
    """Bot locale -> Babel locale; "en" means en_US, unknown ones fall back to it.
    Only the primary subtag counts, so Telegram's "ru-RU"/"de_AT" still work."""
    return babel_locale(locale)


def _clean(text: str, error: str) -> str:
    """Collapse any whitespace (NBSP, U+202F, tabs) to single spaces, unify
    minus signs, and reject empty or overlong input up front."""
    s = " ".join(str(text or "").split())  # linear, so fine even for huge pastes
    s = s.replace("\u2212", "-").replace("\u2013", "-")
    if not s or len(s) > _MAX_LEN:
        raise InputError(error)
    return s


_CURRENCY_WORDS = {
    "$": "USD", "us$": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "евро": "EUR",
    "₽": "RUB", "руб": "RUB", "р": "RUB", "rub": "RUB",
    "рублей": "RUB", "рубля": "RUB", "рубль": "RUB",
    "£": "GBP", "¥": "CNY",
    # Symbols buyers of the bot's languages pay with (flows/languages.py), as the order page shows them.
    "ca$": "CAD", "c$": "CAD", "a$": "AUD", "au$": "AUD", "mx$": "MXN", "r$": "BRL", "zł": "PLN", "zl": "PLN",
    "₸": "KZT", "тг": "KZT", "тенге": "KZT", "br": "BYN", "бел. руб": "BYN", "₴": "UAH", "грн": "UAH",
    "fr": "CHF", "sfr": "CHF", "chf": "CHF", "pesos": None, "peso": None, "dólares": None, "dolares": None,
}
# Languages where a bare "$" names several currencies (pesos and dollars): the bot asks which one.
_DOLLAR_AMBIGUOUS = frozenset({"es"})


@cache
def _iso_codes() -> frozenset[str]:
    return frozenset(list_currencies())


def _currency(word: str, locale: str = "en") -> str | None:
    """Symbol, word or ISO code -> ISO 4217; "" -> None (bare number, or a word naming several currencies)."""
    if not word:
        return None
    key = word.lower().rstrip(".")  # "руб." and "р." are the usual abbreviations
    if key == "$" and language(locale).code in _DOLLAR_AMBIGUOUS:
        return None  # "$" is the peso's sign too (MXN, ARS, COP, CLP): asked
    if key in _CURRENCY_WORDS:
        return _CURRENCY_WORDS[key]
    if len(key) == 3 and key.isascii() and key.isalpha() and key.upper() in _iso_codes():
        return key.upper()
    raise InputError("not_a_number")


def parse_currency(text: str, locale: str) -> str:
    """A currency typed on its own ("usd", "€", "zł") -> ISO 4217."""
    s = _clean(text, "not_a_currency")
    try:
        code = _currency(s, locale)
    except InputError:
        code = None
    if code is None:
        raise InputError("not_a_currency")
    return code


def _read_number(body: str, locale_decimal: str) -> Decimal:
    """Digits with ',', '.' and ' ' marks -> Decimal.  Both ',' and '.': the
    last is decimal.  One kind, several times: grouping.  Once: decimal,
    unless exactly 3 digits follow ("1,234"), where the locale decides."""
    if any(ch not in _DIGITS + " .," for ch in body):
        raise InputError("not_a_number")
    marks = [ch for ch in body if ch in ".,"]
    decimal = None  # no marks, or several of one kind: all grouping
    if "," in marks and "." in marks:
        decimal = marks[-1]  # "1.234,56" / "1,234.56": the last one wins
    elif len(marks) == 1:
        tail = body.rpartition(marks[0])[2]
        # A leading 0 can't start a group, so "0,001" is decimal everywhere.
        if len(tail) != 3 or marks[0] == locale_decimal or body[0] == "0":
            decimal = marks[0]
    whole, frac = body.rpartition(decimal)[::2] if decimal else (body, "")
    groups = re.split(r"[ .,]", whole)
    # Sane-ish grouping: "1 234 567" yes; "1,2,3,4", "12 34", "0.123", "1.2,3.4" no.
    # Over 15 integer digits is no price (and would overflow Decimal's context).
    sane = (not frac or frac.isdigit()) and len("".join(groups)) <= 15
    if len(groups) > 1:
        sane = sane and groups[0][0] != "0" and len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])
    if not sane:
        raise InputError("not_a_number")
    if len(frac) > 2:
        raise InputError("too_many_decimals")
    return Decimal("".join(groups) + "." + (frac or "0"))


def parse_money(text: str, locale: str) -> Money:
    """Parse "€ 1.234,56", "500 руб.", "US$5", "12,5"... into Money.

    The number is the span from the first to the last digit; whatever is
    before or after it must be (at most one) currency, plus an optional minus.
    """
    s = _clean(text, "not_a_number")
    positions = [i for i, ch in enumerate(s) if ch in _DIGITS]
    if not positions:
        raise InputError("not_a_number")
    first, last = positions[0], positions[-1] + 1
    pre, body, post = s[:first].strip(), s[first:last], s[last:].strip()
    negative = pre.startswith("-") or pre.endswith("-")
    pre = pre.strip("-").strip()
    if pre and post:
        raise InputError("not_a_number")
    currency = _currency(pre or post, locale)
    amount = _read_number(body, get_decimal_symbol(_babel_locale(locale)))
    if negative or amount <= 0:
        raise InputError("not_positive")
    return Money(amount.quantize(_CENT), currency)


def parse_amount(text: str, locale: str, *, maximum: Decimal | None = None) -> Money:
    """parse_money, plus a cap (e.g. a partial refund can't exceed the order total)."""
    money = parse_money(text, locale)
    if maximum is not None and money.amount > maximum:
        raise InputError("above_total", maximum=maximum)
    return money


_YEAR_FIRST = re.compile(r"([0-9]{4})([-./])([0-9]{1,2})\2([0-9]{1,2})")
_NUMERIC = re.compile(r"([0-9]{1,2})([-./ ])([0-9]{1,2})(?:\2([0-9]{4}|[0-9]{2}))?\.?")
_ORDINAL = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th)")
_DATE_FILLER = {"de", "del"}  # "21 de noviembre de 2026"


@cache
def _month_names(babel_locale: str) -> tuple[dict[str, int], tuple[tuple[str, int], ...]]:
    """(exact name -> month, (wide name, month) pairs for prefix matching).
    English is always included after the locale's own names, because
    AliExpress itself shows dates like "Nov 21, 2026"."""
    exact: dict[str, int] = {}
    wide: list[tuple[str, int]] = []
    for loc in dict.fromkeys([babel_locale, "en_US"]):
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for num, name in get_month_names(width, context, loc).items():
                    name = name.lower().rstrip(".")
                    exact.setdefault(name, num)
                    if width == "wide":
                        wide.append((name, num))
    return exact, tuple(wide)


def _month(token: str, babel_locale: str) -> int | None:
    """Exact name/abbreviation, else an unambiguous prefix of 3+ letters ("ноя", "sept")."""
    exact, wide = _month_names(babel_locale)
    if token in exact:
        return exact[token]
    hits = {num for name, num in wide if len(token) >= 3 and name.startswith(token)}
    return hits.pop() if len(hits) == 1 else None


def _year(digits: str | None) -> int | None:
    return None if digits is None else int(digits) + (2000 if len(digits) == 2 else 0)


def _candidates(s: str, babel_locale: str) -> list[tuple[int | None, int, int]]:
    """(year or None, month, day) readings of `s`, most likely first."""
    s = re.sub(r"(?<=[0-9]) ?(?:г|года)\.?$", "", s)  # Russian "21.11.2026 г."
    if m := _YEAR_FIRST.fullmatch(s):
        return [(int(m[1]), int(m[3]), int(m[4]))]
    if m := _NUMERIC.fullmatch(s.replace(". ", ".")):
        a, sep, b, y = int(m[1]), m[2], int(m[3]), _year(m[4])
        if sep == ".":  # dots are day-first everywhere
            return [(y, b, a)]
        day_first = [(y, b, a), (y, a, b)]
        return day_first[::-1] if babel_locale == "en_US" else day_first
    months, numbers = [], []
    for token in re.split(r"[ ,]+", s):
        token = token.rstrip(".")
        if ordinal := _ORDINAL.fullmatch(token):
            token = ordinal[1]
        if not token or token in _DATE_FILLER:
            continue
        if token.isascii() and token.isdigit():
            numbers.append(token)
        elif month := _month(token, babel_locale):
            months.append(month)
        else:
            return []
    if len(months) != 1 or not 1 <= len(numbers) <= 2:
        return []
    day, year = numbers[0], (numbers[1] if len(numbers) == 2 else None)
    if year and len(day) == 4:  # "2026 nov 21"
        day, year = year, day
    if len(day) > 2 or (year and len(year) not in (2, 4)):
        return []
    return [(_year(year), months[0], int(day))]


def _resolve(year: int | None, month: int, day: int, today: date, allow_future: bool) -> date | None:
    """A real date for the reading, or None if impossible.  Without a year,
    take the most recent such date not after today (this year if the future
    is allowed); walking back a few years lets "29.02" find a leap year."""
    years = [year] if year else [today.year] if allow_future else range(today.year, today.year - 8, -1)
    for y in years:
        try:
            d = date(y, month, day)
        except ValueError:
            continue
        if year or allow_future or d <= today:
            return d
    return None


def parse_date(text: str, locale: str, *, today: date, allow_future: bool = False) -> date:
    """Parse numeric or month-name dates in the user's locale's field order.
    If the locale order is impossible but the swapped one is valid
    ("21/11/2026" in en), the valid one wins."""
    s = _clean(text, "not_a_date").lower()
    for reading in _candidates(s, _babel_locale(locale)):
        if d := _resolve(*reading, today, allow_future):
            break
    else:
        raise InputError("not_a_date")
    try:
        horizon = today.replace(year=today.year + 2)
    except ValueError:  # today is Feb 29
        horizon = today.replace(year=today.year + 2, day=28)
    if d.year < 2000 or d > horizon:
        raise InputError("not_a_date")
    if d > today and not allow_future:
        raise InputError("future_date", date=d)
    return d


_DAY_WORDS = {"", "d", "day", "days", "д", "дн", "день", "дня", "дней",
              "día", "días", "dia", "dias", "t", "tag", "tage", "tagen"}


def parse_days_left(text: str) -> int:
    """Days left on the Buyer Protection timer: 0..365, optionally with a unit word."""
    s = _clean(text, "not_days").lower()
    m = re.fullmatch(r"([0-9]{1,3}) ?([^0-9 ]*)", s)
    if m and m[2].rstrip(".") in _DAY_WORDS and int(m[1]) <= 365:
        return int(m[1])
    raise InputError("not_days")


# Longest first: the order page labels the number ("Order ID: 8123…") in each language.
_ORDER_PREFIXES = ("order number", "order id", "order", "номер заказа", "заказ", "número de pedido",
                   "pedido", "bestellnummer", "bestellung", ":", "#", "№", "no.", "nº", "no")


def parse_order_number(text: str) -> str:
    """AliExpress order numbers are 6-24 ASCII digits; people paste them with
    spaces, dashes, '#', "No." or '№' in front."""
    s = _clean(text, "not_order_number").lower()
    while prefix := next((p for p in _ORDER_PREFIXES if s.startswith(p)), None):
        s = s[len(prefix) :].lstrip()
    s = re.sub(r"[ \-\u2010\u2011\u2012\u2014]", "", s)
    if not re.fullmatch(r"[0-9]{6,24}", s):
        raise InputError("not_order_number")
    return s
