"""What each step looks like: the question, its buttons, the summary.

Pure rendering: takes a dispute (and its evidence) and returns HTML text with
a keyboard. Sending lives in bot.conversation.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.formatting import example_amount, example_date, fmt_date, fmt_money, fmt_relative, html
from bot.stages import EVENT_LABELS, paperwork_button
from bot.keyboards import (DONE, FULL_REFUND, UNKNOWN, NewDispute, answer_button, in_rows,
                           keyboard, nav_button, step_keyboard)
from flows.choices import DEFECTS, N_, REASONS, RECEIVED, SOLUTIONS, defects_for, option
from flows.dispute import Dispute
from flows.eligibility import Eligibility, Verdict
from flows.evidence import UPLOAD_PROBLEMS, EvidenceItem, EvidenceKind, checklist, counts
from flows.machine import edit_events

STEP_TITLES = {
    "reason": N_("Problem"), "received": N_("Received"), "defect": N_("What's wrong"),
    "solution": N_("Solution"), "order_number": N_("Order number"), "order_total": N_("Order total"),
    "shipped_on": N_("Shipping date"), "protection": N_("Buyer Protection"), "amount": N_("Refund"),
    "evidence": N_("Evidence"), "summary": N_("Ready to submit"), "cancelled": N_("Cancelled"),
}


@dataclass(frozen=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup | None = None


def step_marker(d: Dispute) -> str:
    path = d.path()
    if d.state not in path:
        return ""
    return _("Step {n} of {total}").format(n=path.index(d.state) + 1, total=len(path))


def step_title(step: str) -> str:
    return _(STEP_TITLES.get(step, step))


def question(d: Dispute, items: list[EvidenceItem], *, locale: str, today: date) -> Screen:
    """The current step's question, with its buttons and Back/Cancel."""
    if d.state == "summary":
        raise ValueError("the summary is rendered by summary()")
    head = f"<i>{step_marker(d)}</i>\n"
    skip = [answer_button(d, _("🤷 I don't know"), UNKNOWN)]
    back = d.state != "reason"
    s = d.state
    if s == "reason":
        rows = [[answer_button(d, _(o.label), o.value)] for o in REASONS]
        return Screen(head + _("What went wrong with your order?"), step_keyboard(d, rows, back=False))
    if s == "received":
        rows = [[answer_button(d, _(o.label), o.value) for o in RECEIVED]]
        return Screen(head + _("Have you received the item? AliExpress's form asks this first."),
                      step_keyboard(d, rows))
    if s == "defect":
        buttons = [answer_button(d, _(o.label), o.value) for o in defects_for(d.reason)]
        return Screen(head + _("What exactly is wrong? Pick the closest match: the form has the same list."),
                      step_keyboard(d, in_rows(buttons, 2)))
    if s == "solution":
        rows = [[answer_button(d, _(o.label), o.value)] for o in SOLUTIONS]
        text = _("What do you want?\n"
                 "• <b>Refund only</b>: you keep the item and get money back.\n"
                 "• <b>Return and refund</b>: you send the item back, then get the refund.")
        return Screen(head + text, step_keyboard(d, rows, back=back))
    if s == "order_number":
        text = _("What is the order number? It is in My Orders → the order → Order details. "
                 "Type it, or tap “I don't know”.")
        return Screen(head + text, step_keyboard(d, [skip]))
    if s == "order_total":
        text = _("How much did you pay for the whole order? For example: {example}").format(
            example=html(example_amount(locale)))
        return Screen(head + text, step_keyboard(d, [skip]))
    if s == "shipped_on":
        presets = [answer_button(d, _("Today"), "d0"), answer_button(d, _("Yesterday"), "d1"),
                   answer_button(d, _("A week ago"), "d7")]
        text = _("When did the seller ship the order? Tap a button or type the date, like {example}.").format(
            example=example_date(today, locale))
        return Screen(head + text, step_keyboard(d, [presets, skip]))
    if s == "protection":
        text = _("How long is left on the Buyer Protection timer? It is on the order's page.\n"
                 "Type the days left (for example 23) or the end date (like {example}).").format(
            example=example_date(today, locale))
        return Screen(head + text, step_keyboard(d, [skip]))
    if s == "amount":
        total = d.order_total
        full = (_("💯 Full refund: {total}").format(total=fmt_money(total, d.currency, locale)) if total is not None
                else _("💯 Full refund"))
        if d.wants_return():
            text = _("A return means a full refund: tap “Full refund”. (For a partial refund you keep the item: "
                     "go back and pick “Refund only”.)")
        else:
            text = _("How much do you ask for? Tap “Full refund”, or type a smaller amount, like {example}.").format(
                example=html(example_amount(locale)))
        return Screen(head + text, step_keyboard(d, [[answer_button(d, full, FULL_REFUND)]]))
    if s == "evidence":
        text = "\n".join([
            _("Now your evidence. Send photos, screenshots and videos here, or forward the seller's messages. "
              "I'll keep them in order and tell you what is still missing:"),
            "", checklist_text(d, items), "",
            _("Tap “Done” when you have sent everything."),
        ])
        return Screen(head + text, step_keyboard(d, [[answer_button(d, _("✅ Done"), DONE)]]))
    raise ValueError(f"no question for state {s!r}")


def checklist_text(d: Dispute, items: list[EvidenceItem]) -> str:
    lines = []
    for line in checklist(d.reason, items):
        mark = "✅" if line.done else "⬜"
        count = f" ({line.have}/{line.requirement.count})" if line.requirement.count > 1 else ""
        lines.append(f"{mark} {html(_(line.requirement.label))}{count}")
    flagged = sum(1 for i in items if i.flags & UPLOAD_PROBLEMS)
    if flagged:
        lines.append("⚠️ " + ngettext("{n} file doesn't meet AliExpress's upload rules (see my notes above).",
                                     "{n} files don't meet AliExpress's upload rules (see my notes above).",
                                     flagged).format(n=flagged))
    return "\n".join(lines)


def evidence_count(n: int) -> str:
    return ngettext("{n} piece of evidence so far.", "{n} pieces of evidence so far.", n).format(n=n)


def evidence_summary(items: list[EvidenceItem]) -> str:
    c = counts(items)
    parts = []
    if c[EvidenceKind.IMAGE]:
        parts.append(ngettext("{n} photo", "{n} photos", c[EvidenceKind.IMAGE]).format(n=c[EvidenceKind.IMAGE]))
    if c[EvidenceKind.VIDEO]:
        parts.append(ngettext("{n} video", "{n} videos", c[EvidenceKind.VIDEO]).format(n=c[EvidenceKind.VIDEO]))
    if c[EvidenceKind.FORWARD]:
        parts.append(ngettext("{n} seller message", "{n} seller messages",
                              c[EvidenceKind.FORWARD]).format(n=c[EvidenceKind.FORWARD]))
    if c[EvidenceKind.NOTE]:
        parts.append(ngettext("{n} note", "{n} notes", c[EvidenceKind.NOTE]).format(n=c[EvidenceKind.NOTE]))
    return ", ".join(parts) if parts else _("none yet")


def verdict_text(e: Eligibility, locale: str, today: date) -> str:
    """What the buyer can do today about opening the dispute (flows.eligibility; docs/rules.md)."""
    def day(d: date) -> str:
        return _("{date} ({relative})").format(
            date=fmt_date(d, locale), relative=_("today") if d == today else fmt_relative((d - today).days, locale))

    def days_left(n: int) -> str:
        return ngettext("{n} day left", "{n} days left", n).format(n=n)

    def days(n: int) -> str:
        return ngettext("{n} day", "{n} days", n).format(n=n)

    dates, v = e.dates, e.verdict
    estimated = ("\n" + _("This date is an estimate: check the timer on the order page.")) if e.estimated else ""
    if v is Verdict.CHECK_TIMER:
        return _("⚠️ <b>Check the Buyer Protection timer on the order page now.</b> I assumed it runs "
                 "{days} from shipping, to {date}, but yours may be longer. If “Open Dispute” is there, open the "
                 "dispute today.").format(days=days(e.protection_default_days), date=fmt_date(dates.protection_ends_on, locale))
    if v is Verdict.LAST_CHANCE:
        return _("⚠️ <b>Buyer Protection ended on {ended}, but you may still be able to open the dispute: look "
                 "for “Open Dispute” on the order page today.</b> AliExpress allows it within {days} after the "
                 "order finished, so until {until} at the latest. If the button is gone, contact AliExpress "
                 "customer service from the order page; if you paid by card or PayPal, ask about a "
                 "chargeback.").format(ended=fmt_date(dates.protection_ends_on, locale), days=days(e.after_protection_days),
                                       until=day(dates.open_until))
    if v is Verdict.TOO_LATE:
        return _("⛔ Buyer Protection ended on {ended}, and the {days} after it in which a dispute may still "
                 "be opened ended on {until}. What you can still do: contact AliExpress customer service from the "
                 "order page, and if you paid by card or PayPal, ask about a chargeback.").format(
            ended=fmt_date(dates.protection_ends_on, locale), days=days(e.after_protection_days),
            until=fmt_date(dates.open_until, locale))
    if v is Verdict.ENDS_FIRST:
        return _("⚠️ <b>Don't wait: Buyer Protection ends on {ends}, before {opens}, the first day a dispute "
                 "can normally be opened.</b> Today: look for “Open Dispute” on the order page and open it if it "
                 "is there; ask the seller in the chat to extend the protection; if neither works, contact "
                 "AliExpress customer service before {ends_short}.").format(
            ends=day(dates.protection_ends_on), opens=fmt_date(dates.opens_on, locale),
            ends_short=fmt_date(dates.protection_ends_on, locale))
    if v is Verdict.TOO_EARLY:
        text = _("⏳ Too early: you can open the dispute from {date}. Let's prepare everything now.").format(
            date=day(dates.opens_on))
        if e.tight:
            text += "\n" + _("⚠️ Buyer Protection ends on {ends}: open the dispute on {opens} itself, and ask the "
                             "seller now to extend the protection.").format(
                ends=fmt_date(dates.protection_ends_on, locale), opens=fmt_date(dates.opens_on, locale))
        return text
    if v is Verdict.URGENT:
        when = _("today") if e.days_left == 0 else days_left(e.days_left)
        return _("🔥 Urgent: Buyer Protection ends on {date} ({when}). Open the dispute today, or ask the "
                 "seller to extend the protection.").format(
            date=fmt_date(dates.protection_ends_on, locale), when=when) + estimated
    if v is Verdict.OPEN_NOW:
        text = _("✅ You can open the dispute now. Buyer Protection ends on {date} ({left}).").format(
            date=fmt_date(dates.protection_ends_on, locale), left=days_left(e.days_left))
        if e.last_safe_day:
            text += "\n" + _("Open it today: from tomorrow fewer than {days} remain, the safe margin.").format(
                days=days(e.margin_days))
        return text + estimated
    return _("ℹ️ Check the Buyer Protection timer on the order page: open the dispute while at least "
             "{days} remain.").format(days=days(e.margin_days))


def answer_text(d: Dispute, step: str, locale: str) -> str:
    """The buyer's answer to a step, for the recap."""
    if step in d.unknown:
        return _("I don't know")
    if step == "reason":
        o = option(REASONS, d.reason)
    elif step == "received":
        o = option(RECEIVED, None if d.received is None else ("yes" if d.received else "no"))
    elif step == "defect":
        o = option(DEFECTS, d.defect)
    elif step == "solution":
        o = option(SOLUTIONS, d.solution)
    else:
        o = None
    if o is not None:
        return html(_(o.label))
    if step == "order_number" and d.order_number:
        return html(d.order_number)
    if step == "order_total" and d.order_total is not None:
        return fmt_money(d.order_total, d.currency, locale)
    if step == "shipped_on" and d.shipped_on:
        return fmt_date(d.shipped_on, locale)
    if step == "protection" and d.protection_ends_on:
        return _("ends {date}").format(date=fmt_date(d.protection_ends_on, locale))
    if step == "amount":
        amount = d.refund_amount()
        money = fmt_money(amount, d.currency, locale) if amount is not None else ""
        return (_("full refund {money}") if d.refund_full else _("partial refund {money}")).format(money=money).strip()
    return "—"


def form_steps(d: Dispute, locale: str) -> list[str]:
    """The clicks on AliExpress, numbered by the caller."""
    reason, solution = option(REASONS, d.reason), option(SOLUTIONS, d.solution)
    defect = option(DEFECTS, d.defect)
    order = html(d.order_number) if d.order_number else _("your order")
    amount = d.refund_amount()
    steps = [
        _("Open the AliExpress app → Account → <b>My Orders</b>."),
        _("Find {order} and tap <b>Open Dispute</b> (in the order's details).").format(order=order),
    ]
    if reason:
        steps.append(_("Reason: pick “{option}”.").format(option=html(_(reason.form))))
    steps.append(_("“Have you received the item?”: <b>{answer}</b>.").format(
        answer=_("Yes") if d.received else _("No")))
    if defect and d.received:
        steps.append(_("What is wrong: “{option}”.").format(option=html(_(defect.form))))
    if solution:
        steps.append(_("Solution: “{option}”.").format(option=html(_(solution.form))))
    if amount is not None:
        steps.append(_("Refund amount: <b>{money}</b>.").format(money=fmt_money(amount, d.currency, locale)))
    steps += [
        _("Paste the explanation below into the description box."),
        _("Add your photos (“Browse”) and video (“Add Video”): jpg, png, bmp or gif, under 2 MB each."),
        _("Tap <b>Submit</b>."),
    ]
    return steps


def summary(d: Dispute, items: list[EvidenceItem], e: Eligibility, *, locale: str, today: date) -> Screen:
    recap = [f"• {step_title(step)}: {answer_text(d, step, locale)}" for step in d.path() if step != "evidence"]
    recap.append(f"• {step_title('evidence')}: {evidence_summary(items)}")
    clicks = [f"{n}. {text}" for n, text in enumerate(form_steps(d, locale), start=1)]
    text = "\n".join([
        _("📋 <b>Your dispute is ready</b>"), "", verdict_text(e, locale, today), "",
        _("<b>Your answers</b>"), *recap, "",
        _("<b>On AliExpress</b>"), *clicks, "",
        _("<b>Evidence checklist</b>"), checklist_text(d, items),
    ])
    return Screen(text, summary_keyboard(d))


def summary_keyboard(d: Dispute) -> InlineKeyboardMarkup:
    opened = EVENT_LABELS["open_on_aliexpress"]
    edits = [nav_button(d, "✏️ " + step_title(step), f"edit_{step}") for step in edit_events(d)]
    return keyboard([nav_button(d, _(opened), "open_on_aliexpress")], [paperwork_button(d, _("🗓 Timeline"), "timeline")],
                    *in_rows(edits, 2),
                    [nav_button(d, _("✖️ Cancel"), "cancel"),
                     InlineKeyboardButton(text=_("➕ New dispute"), callback_data=NewDispute().pack())])


def explanation_text(english: str, translation: str | None = None) -> str:
    text = _("📝 <b>Explanation for AliExpress</b> (English; tap it to copy):") + f"\n<pre>{html(english)}</pre>"
    if translation:
        text += "\n\n" + _("<i>What it says:</i> {translation}").format(translation=html(translation))
    return text
