"""After the dispute is opened: one screen per stage (docs/rules.md, "After opening").

Each says what is happening, what the buyer can do, and the next date that
matters; its buttons are the machine's events for that stage. Text goes
through ``_`` only: handlers run in the i18n middleware's context, the
reminder engine renders inside ``i18n.context()`` and ``use_locale()``.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.formatting import fmt_date, fmt_relative
from bot.keyboards import Paperwork, StageAction, StepNav, keyboard
from flows.choices import N_
from flows.dispute import Dispute
from flows.machine import available_events
from flows.policy import Policy
from flows.reminders import deadlines

EVENT_LABELS: dict[str, str] = {
    "open_on_aliexpress": N_("✅ I opened it on AliExpress"),
    "seller_accepted": N_("👍 The seller accepted"),
    "seller_offer": N_("💬 The seller offered something else"),
    "seller_refused": N_("👎 The seller refused"),
    "accept_offer": N_("🤝 I accept the offer"),
    "modify": N_("✏️ I modified my request"),
    "processed_as_requested": N_("✅ AliExpress processed my request"),
    "escalate": N_("⚖️ I escalated to AliExpress"),
    "aliexpress_stepped_in": N_("🏛 AliExpress stepped in"),
    "item_returned": N_("📦 Shipped, tracking entered"),
    "seller_confirmed_return": N_("👍 The seller got the return"),
    "decision_full": N_("💯 Decision: full refund"),
    "decision_partial": N_("➗ Decision: partial refund"),
    "decision_return": N_("📦 Decision: return it"),
    "decision_rejected": N_("❌ Decision: rejected"),
    "appeal": N_("📣 I appealed"),
    "refunded": N_("💰 The money arrived"),
    "not_arrived": N_("⏳ The money hasn't arrived"),
    "chargeback": N_("🏦 I'm asking my bank for a chargeback"),
    "withdraw": N_("🗑 Cancel the dispute"),
}
# Each stage in the buyer's words (/disputes), never the machine's state names.
STAGE_TITLES: dict[str, str] = {
    "opening": N_("Opening it on AliExpress"),
    "negotiating": N_("Waiting for the seller"),
    "counter_offer": N_("The seller offered something else"),
    "refused": N_("The seller refused: escalate"),
    "return_shipping": N_("Ship the item back"),
    "return_sent": N_("Return on its way"),
    "escalated": N_("AliExpress is reviewing it"),
    "refund_pending": N_("Refund on its way"),
    "rejected": N_("Rejected by AliExpress"),
    "refund_missing": N_("The refund hasn't arrived"),
    "refunded": N_("Money back"),
    "chargeback": N_("Chargeback with the bank"),
    "withdrawn": N_("Cancelled on AliExpress"),
}
# What each deadline is, for /disputes and the calendar.
DEADLINE_TITLES: dict[str, str] = {
    "protection_end": N_("AliExpress Buyer Protection ends"),
    "open_from": N_("You can open the AliExpress dispute"),
    "open_until": N_("Last day “Open Dispute” may still be there"),
    "seller_response": N_("The seller's time to answer the dispute ends"),
    "return_shipping": N_("Ship the item back to the seller"),
    "return_check": N_("Check that the seller confirmed your return"),
    "appeal": N_("Last day to appeal AliExpress's decision"),
    "survey": N_("Last day for the dispute survey"),
    "refund_estimate": N_("The refund should have arrived"),
}
# Stages whose screen offers "the goods arrived after the refund" (an order not received).
_GOODS_AFTER_REFUND = ("refund_pending", "refunded")
# Stages where the dispute failed: the dossier for the appeal and the bank (flows/dossier.py).
DOSSIER_STAGES = ("rejected", "refund_missing", "chargeback")


def _when(moment: datetime, tz: ZoneInfo, now: datetime, locale: str) -> str:
    days = (moment.astimezone(tz).date() - now.astimezone(tz).date()).days
    relative = _("today") if days == 0 else fmt_relative(days, locale)
    return _("{date} ({relative})").format(date=fmt_date(moment.astimezone(tz).date(), locale), relative=relative)


def stage_text(d: Dispute, policy: Policy, *, tz: ZoneInfo, country: str | None, now: datetime, locale: str) -> str:
    known = deadlines(d, policy, tz, country)

    def when(key: str) -> str:
        return _when(known[key], tz, now, locale) if key in known else _("(date unknown)")

    s = d.state
    if s == "opening":
        return _("When did you open the dispute on AliExpress? Tap a button or type the date.")
    if s == "negotiating":
        return _("⏳ <b>The seller has until {date} to answer.</b>\n"
                 "You can wait, escalate to AliExpress at any time if you don't agree, or modify your request to "
                 "add evidence. Never cancel the dispute because the seller promises something outside "
                 "AliExpress.").format(date=when("seller_response"))
    if s == "counter_offer":
        return _("💬 <b>The seller offered another solution.</b>\n"
                 "Accept it if it is fair, modify your request to negotiate, or escalate to AliExpress. "
                 "Buyer Protection ends {date}.").format(date=when("protection_end"))
    if s == "refused":
        return _("👎 <b>The seller refused your request.</b>\n"
                 "Escalate to AliExpress now: on the dispute page tap “Escalate” and add your evidence. The page "
                 "shows how long you have to answer; if that time runs out, the dispute may close in the "
                 "seller's favour. You can also modify your request with more evidence.")
    if s == "return_shipping":
        return _("📦 <b>Ship the item back by {date}.</b>\n"
                 "Send it tracked to the address shown in the dispute, and enter the tracking number in the "
                 "dispute before that date. If you miss this date, the money goes to the seller.").format(
            date=when("return_shipping"))
    if s == "return_sent":
        return _("🚚 <b>Your return is on its way.</b>\n"
                 "When its tracking shows it delivered, the seller must confirm receipt in the dispute. If the "
                 "seller stays silent past the time shown there, AliExpress processes your refund; if the seller "
                 "says it didn't arrive or came damaged, escalate with your tracking number and shipping "
                 "receipt. I'll ask you on {date}.").format(date=when("return_check"))
    if s == "escalated":
        return _("⚖️ <b>AliExpress's team is reviewing the dispute.</b>\n"
                 "Add any new evidence there now (Modify Dispute). Tell me the decision when it comes.")
    if s == "refund_pending":
        text = _("💸 <b>The refund is on its way.</b> Banks take {min}–{max} business days: expect it by {date}.").format(
            min=policy.refund_business_days_min, max=policy.refund_business_days_max, date=when("refund_estimate"))
        if "appeal" in known:
            text += "\n" + _("Not satisfied with the decision? You can appeal until {date}.").format(date=when("appeal"))
        return text
    if s == "rejected":
        return _("❌ <b>AliExpress rejected the dispute.</b>\n"
                 "You can appeal until {appeal} and tell them why in the dispute survey until {survey}. If that "
                 "fails and you paid by card, ask your bank about a chargeback.").format(
            appeal=when("appeal"), survey=when("survey"))
    if s == "refund_missing":
        return _("🏦 <b>The refund hasn't arrived.</b>\n"
                 "First check with your bank: the refund may have gone to your card's USD account or been "
                 "converted to your currency; ask for the refund's reference. If it isn't there, ask the bank "
                 "about a chargeback.")
    if s == "refunded":
        return _("🎉 <b>Your money is back.</b> Well done.")
    if s == "chargeback":
        # Card networks count from the expected delivery or receipt, which the bot doesn't know: the
        # shipping date is earlier than both, so a limit counted from it is never too late (docs/rules.md).
        text = _("🏦 <b>Chargeback</b>: call your bank (or open a PayPal case) and say the dispute with AliExpress "
                 "failed. Give them the order number, your evidence and the dates.\n"
                 "Time limits: card networks usually allow {card} days, counted from the expected delivery date or "
                 "the day you received the item, not from the payment; PayPal allows {paypal} days from the "
                 "payment.").format(card=policy.chargeback_card_days, paypal=policy.paypal_case_days)
        if d.shipped_on is not None:
            safe = d.shipped_on + timedelta(days=policy.chargeback_card_days)
            text += " " + _("To be safe, call your bank before {date}.").format(
                date=_when(datetime.combine(safe, time(12), tzinfo=tz), tz, now, locale))
        return text + "\n" + _("⚠️ A chargeback usually freezes the order and the dispute on AliExpress: "
                               "nothing more happens there while the bank decides.")
    if s == "withdrawn":
        return _("The dispute is cancelled. It can't be reopened.")
    raise ValueError(f"no stage screen for {s!r}")


def stage_keyboard(d: Dispute, *, extra: list[InlineKeyboardButton] | None = None
                   ) -> InlineKeyboardMarkup | None:
    rows = [[InlineKeyboardButton(text=_(EVENT_LABELS[event]), callback_data=StepNav(
        dispute_id=d.id, version=d.version, action=event).pack())]
        for event in available_events(d) if event in EVENT_LABELS]
    if d.state == "opening":
        rows.append([InlineKeyboardButton(text=_("◀️ Back"), callback_data=StepNav(
            dispute_id=d.id, version=d.version, action="back").pack())])
    if d.state in _GOODS_AFTER_REFUND and d.reason == "not_received":
        rows.append([_action(d, _("📦 The goods came after the refund"), "goods_arrived")])
    if d.state not in ("opening", "withdrawn"):
        row = [_action(d, _("📅 Add to calendar"), "ics")]
        if d.state not in ("refunded", "chargeback"):
            row.append(_action(d, _("🔔 Turn reminders on"), "unmute") if d.reminders_off
                       else _action(d, _("🔕 Stop reminders"), "mute"))
        rows.append(row)
    papers = [paperwork_button(d, _("🗓 Timeline"), "timeline")]
    if d.state in DOSSIER_STAGES:
        papers.append(paperwork_button(d, _("📄 Dossier (PDF)"), "dossier"))
    rows.append(papers)
    rows += [[button] for button in extra or []]
    return keyboard(*rows) if rows else None


def paperwork_button(d: Dispute, text: str, what: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=Paperwork(dispute_id=d.id, what=what).pack())


def _action(d: Dispute, text: str, action: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=StageAction(dispute_id=d.id, action=action).pack())
