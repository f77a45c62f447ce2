"""Short, localized hints for input the bot could not take."""
from __future__ import annotations

from datetime import date

from aiogram.utils.i18n import gettext as _

from bot.formatting import example_amount, example_date, fmt_date, fmt_money, html


def input_hint(code: str, params: dict, *, locale: str, today: date, currency: str | None = None) -> str:
    """The hint for a flows.parsing.InputError code; the step stays where it was."""
    if code == "not_a_number":
        return _("⚠️ I couldn't read an amount there. Type just the number, like {example}.").format(
            example=html(example_amount(locale)))
    if code == "not_positive":
        return _("⚠️ The amount must be more than zero.")
    if code == "too_many_decimals":
        return _("⚠️ Use at most two decimals, like {example}.").format(example=html(example_amount(locale)))
    if code == "above_total":
        return _("⚠️ That is more than the order total ({total}). Type a smaller amount or tap “Full refund”.").format(
            total=fmt_money(params["maximum"], currency, locale))
    if code == "above_item_price":
        return _("⚠️ That is more than the price of the item in dispute ({total}): one dispute covers one "
                 "product. Type a smaller amount or tap “Full refund”.").format(
            total=fmt_money(params["maximum"], currency, locale))
    if code == "return_is_full_refund":
        return _("⚠️ With “Return and refund” you get the full price back: tap “Full refund”. For a partial "
                 "refund you keep the item: go back and pick “Refund only”.")
    if code == "currency_mismatch":
        return _("⚠️ The order was paid in {currency}. Type the amount in {currency}.").format(currency=currency)
    if code == "future_date":
        return _("⚠️ {date} is in the future. Type the day the seller shipped, like {example}.").format(
            date=fmt_date(params["date"], locale), example=example_date(today, locale))
    if code == "future_update":
        return _("⚠️ {date} is in the future. Type the date of the tracking's last update, like {example}.").format(
            date=fmt_date(params["date"], locale), example=example_date(today, locale))
    if code == "not_a_currency":
        return _("⚠️ I don't know that currency. Tap one of the buttons, or type its code, like EUR.")
    if code == "not_a_date":
        return _("⚠️ I couldn't read that date. Type it like {example}, or tap a button.").format(
            example=example_date(today, locale))
    if code == "not_days":
        return _("⚠️ Type the number of days left (for example 23) or the end date, like {example}.").format(
            example=example_date(today, locale))
    if code == "not_order_number":
        return _("⚠️ An order number is only digits, like 8123456789012345. Type it, or tap “I don't know”.")
    if code == "detail_length":
        return _("⚠️ Please describe it in a few words, at most {n} characters, or tap “I don't know”.").format(
            n=params.get("limit", 200))
    if code == "item_name_length":
        return _("⚠️ Type the item's name in a few words, at most {n} characters.").format(n=params.get("limit", 60))
    if code == "use_buttons":
        return use_buttons()
    if code == "chinese":
        return _("⚠️ AliExpress's form refuses Chinese characters. Please write it without them.")
    return _("⚠️ I couldn't read that. Please try again.")


def not_saved() -> str:
    """The database refused a write (locked, disk full): nothing was saved, and the buyer must know."""
    return _("⚠️ I couldn't save that just now, so nothing changed. Please try again in a minute. "
             "/disputes and /help still work.")


def use_buttons() -> str:
    return _("👆 Please tap one of the buttons below.")


def unexpected() -> str:
    return _("🤔 I can't use that here.")


def no_dispute() -> str:
    return _("You have no dispute in progress. Send /new to start one.")


def outdated() -> str:
    return _("This button is outdated.")


def no_false_claims() -> str:
    return _("🙅 I can't help with a false claim. It is fraud: AliExpress checks evidence, can block the "
             "account and side with the seller, and you'd lose the money you are owed. I'll gladly help you "
             "make a true claim as strong as it can be: what happened, with photos and the seller's messages.")


def typed_before_question() -> str:
    """A typed answer older than the question on screen (sent twice, or queued while the bot was
    down): it isn't used for this question."""
    return _("✋ That message was sent before this question, so I didn't use it here. "
             "Please answer this one:")
