"""Timelines and limits as configurable policy: every value, its source and
the test that pins it are listed in docs/rules.md.

Defaults follow the AliExpress Help Center (the newer, official text); the
older guides' values are noted beside them so an operator can switch. Where
sources differ, the default is the reading that never makes a buyer give up a
claim they still have.
"""
from __future__ import annotations

from datetime import time

from pydantic import BaseModel, Field

from flows.languages import LANGUAGES


class Policy(BaseModel):
    # A dispute can be opened from the 11th day after the seller shipped.
    earliest_open_day: int = Field(11, ge=0)
    # Open while at least this many days remain on the Buyer Protection timer
    # (the older guide's safety margin); below it the bot says "urgent".
    protection_margin_days: int = Field(15, ge=0)
    # Help Center: a dispute may still be opened within 15 days after the order
    # finished (the timer ran out): the bot says "look for Open Dispute today".
    after_protection_days: int = Field(15, ge=0)
    # When the buyer doesn't know the timer: protection usually lasts 60-90
    # days from shipping; assume the short end so we never reassure wrongly.
    protection_default_days: int = Field(60, ge=1)
    # Tracking may show nothing for 3-7 days after shipping.
    tracking_lag_days: int = Field(7, ge=0)
    # Seller response window: 5 days (Help Center); the older guide says 15.
    seller_response_days: int = Field(5, ge=1)
    appeal_days: int = Field(7, ge=1)
    survey_days: int = Field(15, ge=1)
    # Refund arrival in business days: 3-20 (newer Help Center pages; older 3-15, 7-10).
    refund_business_days_min: int = Field(3, ge=0)
    refund_business_days_max: int = Field(20, ge=1)
    # "Return and refund": the item must be shipped back within about 10 days
    # of the agreement, or the money goes to the seller.
    return_shipping_days: int = Field(10, ge=1)
    # After the buyer shipped a return: ask whether the seller confirmed receipt
    # this many days later (a check-in; an international return takes weeks).
    return_check_days: int = Field(21, ge=1)
    # Card networks (Visa 13.1/13.3, Mastercard 4853) commonly allow 120 days,
    # counted from the expected delivery date or receipt, not from the payment.
    chargeback_card_days: int = Field(120, ge=1)
    # PayPal: 180 days from the payment to open a case.
    paypal_case_days: int = Field(180, ge=1)
    # Reminders arrive in the buyer's daytime, at this time on the day they're for.
    daytime_start: time = time(9)
    daytime_end: time = time(21)
    reminder_time: time = time(10)
    # A reminder whose deadline passed longer ago than this (the bot was down)
    # is dropped, not sent late: its advice would be wrong by then.
    reminder_stale_days: int = Field(3, ge=0)
    # The currency offered first when a bare number leaves the currency open (flows/languages.py lists all
    # of a language's currencies), and assumed for amounts when the order total was "I don't know".
    default_currency: dict[str, str] = Field(
        default_factory=lambda: {code: lang.currencies[0] for code, lang in LANGUAGES.items()})

    def currency_for(self, locale: str) -> str:
        return self.default_currency.get(locale, self.default_currency.get("en", "USD"))
