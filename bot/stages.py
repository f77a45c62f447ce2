"""After the dispute is opened: one screen per stage (docs/rules.md, "After opening").

Each says what is happening, what the buyer can do, and the next date that
matters; its buttons are the machine's events for that stage. ``t`` is the
translator: ``_`` in handlers, ``i18n.gettext(..., locale=...)`` for reminders.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.formatting import fmt_date, fmt_relative
from bot.keyboards import Paperwork, StageAction, StepNav, keyboard
from flows.choices import N_
from flows.dispute import Dispute
from flows.machine import available_events
from flows.policy import Policy
from flows.reminders import deadlines

Translate = Callable[[str], str]

EVENT_LABELS: dict[str, str] = {
    "open_on_aliexpress": N_("✅ I opened it on AliExpress"),
    "seller_accepted": N_("👍 The seller accepted"),
    "seller_offer": N_("💬 The seller offered something else"),
    "accept_offer": N_("🤝 I accept the offer"),
    "modify": N_("✏️ I modified my request"),
    "processed_as_requested": N_("✅ AliExpress processed my request"),
    "escalate": N_("⚖️ It went to AliExpress"),
    "item_returned": N_("📦 I shipped the item back"),
    "decision_full": N_("💯 Decision: full refund"),
    "decision_partial": N_("➗ Decision: partial refund"),
    "decision_rejected": N_("❌ Decision: rejected"),
    "appeal": N_("📣 I appealed"),
    "refunded": N_("💰 The money arrived"),
    "not_arrived": N_("⏳ The money hasn't arrived"),
    "chargeback": N_("🏦 I'm asking my bank for a chargeback"),
    "withdraw": N_("🗑 Cancel the dispute"),
}
# Stages whose screen offers "the goods arrived after the refund".
_GOODS_AFTER_REFUND = ("refund_pending", "refunded")
# Stages where the dispute failed: the dossier for the appeal and the bank (flows/dossier.py).
DOSSIER_STAGES = ("rejected", "refund_missing", "chargeback")


def _when(moment: datetime, tz: ZoneInfo, now: datetime, locale: str, t: Translate) -> str:
    days = (moment.astimezone(tz).date() - now.astimezone(tz).date()).days
    relative = t("today") if days == 0 else fmt_relative(days, locale)
    return t("{date} ({relative})").format(date=fmt_date(moment.astimezone(tz).date(), locale), relative=relative)


def stage_text(d: Dispute, policy: Policy, *, tz: ZoneInfo, country: str | None, now: datetime, locale: str,
               t: Translate) -> str:
    known = deadlines(d, policy, tz, country)

    def when(key: str) -> str:
        return _when(known[key], tz, now, locale, t) if key in known else t("(date unknown)")

    s = d.state
    if s == "opening":
        return t("When did you open the dispute on AliExpress? Tap a button or type the date.")
    if s == "negotiating":
        return t("⏳ <b>The seller has until {date} to answer.</b>\n"
                 "You can wait, escalate to AliExpress at any time if you don't agree, or modify your request to "
                 "add evidence. Never cancel the dispute because the seller promises something outside "
                 "AliExpress.").format(date=when("seller_response"))
    if s == "counter_offer":
        return t("💬 <b>The seller offered another solution.</b>\n"
                 "Accept it if it is fair, modify your request to negotiate, or escalate to AliExpress. "
                 "Buyer Protection ends {date}.").format(date=when("protection_end"))
    if s == "return_shipping":
        return t("📦 <b>Ship the item back by {date}</b> and add the tracking number in the dispute: after that "
                 "the money goes to the seller.").format(date=when("return_shipping"))
    if s == "escalated":
        return t("⚖️ <b>AliExpress's team is reviewing the dispute.</b>\n"
                 "Add any new evidence there now (Modify Dispute). Tell me the decision when it comes.")
    if s == "refund_pending":
        text = t("💸 <b>The refund is on its way.</b> Banks take {min}–{max} business days: expect it by {date}.").format(
            min=policy.refund_business_days_min, max=policy.refund_business_days_max, date=when("refund_estimate"))
        if "appeal" in known:
            text += "\n" + t("Not satisfied with the decision? You can appeal until {date}.").format(date=when("appeal"))
        return text
    if s == "rejected":
        return t("❌ <b>AliExpress rejected the dispute.</b>\n"
                 "You can appeal until {appeal} and tell them why in the dispute survey until {survey}. If that "
                 "fails and you paid by card, ask your bank about a chargeback.").format(
            appeal=when("appeal"), survey=when("survey"))
    if s == "refund_missing":
        return t("🏦 <b>The refund hasn't arrived.</b>\n"
                 "First check with your bank: the refund may have gone to your card's USD account or been "
                 "converted to your currency; ask for the refund's reference. If it isn't there, ask the bank "
                 "about a chargeback.")
    if s == "refunded":
        return t("🎉 <b>Your money is back.</b> Well done.")
    if s == "chargeback":
        # Card networks count from the expected delivery or receipt, which the bot doesn't know: the
        # shipping date is earlier than both, so a limit counted from it is never too late (docs/rules.md).
        text = t("🏦 <b>Chargeback</b>: call your bank (or open a PayPal case) and say the dispute with AliExpress "
                 "failed. Give them the order number, your evidence and the dates.\n"
                 "Time limits: card networks usually allow {card} days, counted from the expected delivery date or "
                 "the day you received the item, not from the payment; PayPal allows {paypal} days from the "
                 "payment.").format(card=policy.chargeback_card_days, paypal=policy.paypal_case_days)
        if d.shipped_on is not None:
            safe = d.shipped_on + timedelta(days=policy.chargeback_card_days)
            text += " " + t("To be safe, call your bank before {date}.").format(
                date=_when(datetime.combine(safe, time(12), tzinfo=tz), tz, now, locale, t))
        return text + "\n" + t("⚠️ A chargeback usually freezes the order and the dispute on AliExpress: "
                               "nothing more happens there while the bank decides.")
    if s == "withdrawn":
        return t("The dispute is cancelled. It can't be reopened.")
    raise ValueError(f"no stage screen for {s!r}")


def stage_keyboard(d: Dispute, t: Translate, *, extra: list[InlineKeyboardButton] | None = None
                   ) -> InlineKeyboardMarkup | None:
    rows = [[InlineKeyboardButton(text=t(EVENT_LABELS[event]), callback_data=StepNav(
        dispute_id=d.id, version=d.version, action=event).pack())]
        for event in available_events(d) if event in EVENT_LABELS]
    if d.state == "opening":
        rows.append([InlineKeyboardButton(text=t("◀️ Back"), callback_data=StepNav(
            dispute_id=d.id, version=d.version, action="back").pack())])
    if d.state in _GOODS_AFTER_REFUND:
        rows.append([_action(d, t("📦 The goods came after the refund"), "goods_arrived")])
    if d.state not in ("opening", "withdrawn"):
        row = [_action(d, t("📅 Add to calendar"), "ics")]
        if d.state not in ("refunded", "chargeback"):
            row.append(_action(d, t("🔔 Turn reminders on"), "unmute") if d.reminders_off
                       else _action(d, t("🔕 Stop reminders"), "mute"))
        rows.append(row)
    papers = [paperwork_button(d, t("🗓 Timeline"), "timeline")]
    if d.state in DOSSIER_STAGES:
        papers.append(paperwork_button(d, t("📄 Dossier (PDF)"), "dossier"))
    rows.append(papers)
    rows += [[button] for button in extra or []]
    return keyboard(*rows) if rows else None


def paperwork_button(d: Dispute, text: str, what: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=Paperwork(dispute_id=d.id, what=what).pack())


def _action(d: Dispute, text: str, action: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=StageAction(dispute_id=d.id, action=action).pack())
