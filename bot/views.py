"""What each step looks like: the question, its buttons, the summary.

Pure rendering: takes a dispute (and its evidence) and returns HTML text with
a keyboard. Sending lives in bot.conversation.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from html import unescape

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from decimal import Decimal

from bot.formatting import example_amount, example_date, fmt_date, fmt_money, fmt_relative, html
from bot.stages import EVENT_LABELS, paperwork_button
from bot.keyboards import LabelPhotos, NewDispute, answer_button, in_rows, keyboard, nav_button, step_keyboard
from flows.choices import DEFECTS, N_, REASONS, SOLUTIONS, TRACKING, option
from flows.dispute import Dispute
from flows.eligibility import Eligibility, Verdict
from flows.evidence import UPLOAD_PROBLEMS, EvidenceItem, EvidenceKind, checklist, counts, unlabelled
from flows.machine import edit_events
from flows.explanation import notes
from flows.steps import NOTES, STEP, Context, Kind, Step, progress

# Titles of the states that aren't intake steps (a step's title is in flows/steps.py).
STATE_TITLES = {"summary": N_("Ready to submit"), "cancelled": N_("Cancelled")}
# A label longer than this is cut on a phone when two buttons share a row: such buttons get a row each.
ROW_LABEL_MAX = 24
# A phone's chat bubble: about PHONE_WIDTH characters a line; the summary's first screen holds SCREEN_LINES
# lines, a folded part (expandable quote) showing FOLDED_LINES of them until tapped (docs/rules.md).
PHONE_WIDTH = 35
SCREEN_LINES = 26
FOLDED_LINES = 3


@dataclass(frozen=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup | None = None


def step_marker(d: Dispute) -> str:
    """"Step N of at most M" (flows.steps.progress: M never grows while the buyer answers); "" on the reason."""
    at = progress(d)
    if at is None:
        return ""
    return _("Step {n} of at most {total}").format(n=at[0], total=at[1])


def step_title(step: str) -> str:
    if step in STEP:
        return _(STEP[step].title)
    return _(STATE_TITLES.get(step, step))


def _params(step: Step, d: Dispute, locale: str, today: date) -> dict[str, str]:
    example = {"amount": html(example_amount(locale)), "date": example_date(today, locale)}.get(step.example or "", "")
    total = fmt_money(d.order_total, d.currency, locale) if d.order_total is not None else ""
    return {"example": example, "total": total}


def rows_of(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    """``width`` buttons a row when every label fits on a phone, else one a row."""
    if width > 1 and any(len(b.text) > ROW_LABEL_MAX for b in buttons):
        width = 1
    return in_rows(buttons, width)


def question(d: Dispute, items: list[EvidenceItem], *, locale: str, today: date,
             ctx: Context | None = None) -> Screen:
    """The current step's question, with its buttons and Back/Cancel (read from flows/steps.py)."""
    if d.state not in STEP:
        raise ValueError(f"no question for state {d.state!r}")
    step = STEP[d.state]
    ctx = ctx or Context(locale=locale, today=today)
    params = _params(step, d, locale, today)
    marker = step_marker(d)
    head = f"<i>{marker}</i>\n" if marker else ""
    buttons = [answer_button(d, _(o.label).format(**params), o.value) for o in step.buttons(d, ctx)]
    if step.kind is Kind.EVIDENCE and (waiting := len(unlabelled(items))):
        buttons.insert(0, InlineKeyboardButton(text=_("🏷 Label my photos ({n})").format(n=waiting),
                                               callback_data=LabelPhotos(dispute_id=d.id).pack()))
    if step.kind is Kind.EVIDENCE:
        text = "\n".join([
            _("Now your evidence. Send photos, screenshots and videos here, or forward the seller's messages. "
              "I'll keep them in order and tell you what is still missing:"),
            "", checklist_text(d, items), "",
            _("Tap “Done” when you have sent everything."),
        ])
    else:
        text = _(step.prompt(d)).format(**params)
    return Screen(head + text, step_keyboard(d, rows_of(buttons, step.columns), back=d.state != "reason"))


def checklist_text(d: Dispute, items: list[EvidenceItem]) -> str:
    lines = []
    reason, tracking = d.evidence_case()
    for line in checklist(reason, items, tracking):
        mark = "✅" if line.done else "⬜"
        count = f" ({line.have}/{line.requirement.count})" if line.requirement.count > 1 else ""
        lines.append(f"{mark} {html(_(line.requirement.label))}{count}")
    if waiting := len(unlabelled(items)):
        lines.append("🏷 " + ngettext("{n} photo or video isn't labelled yet: it ticks a line once you say what "
                                     "it shows.", "{n} photos or videos aren't labelled yet: they tick a line once "
                                     "you say what they show.", waiting).format(n=waiting))
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
    """What the buyer can do today about opening the dispute (flows.eligibility; docs/rules.md), with what the
    tracking status adds to it."""
    core, note = verdict_parts(e, locale, today)
    return f"{core}\n{note}" if note else core


def verdict_parts(e: Eligibility, locale: str, today: date) -> tuple[str, str]:
    """The verdict, and the tracking status's note on it ("" when it adds nothing)."""
    def day(d: date) -> str:
        return _("{date} ({relative})").format(
            date=fmt_date(d, locale), relative=_("today") if d == today else fmt_relative((d - today).days, locale))

    def days_left(n: int) -> str:
        return ngettext("{n} day left", "{n} days left", n).format(n=n)

    def days(n: int) -> str:
        return ngettext("{n} day", "{n} days", n).format(n=n)

    return _verdict_core(e, locale, today, day, days_left, days), _tracking_note(e, today, day).strip()


def _tracking_note(e: Eligibility, today: date, day) -> str:
    """What the tracking status adds to the verdict: each status its own advice (docs/rules.md, "Not received:
    the tracking"). Nothing once no dispute can be opened any more."""
    if e.verdict is Verdict.TOO_LATE or e.tracking is None:
        return ""
    if e.lag_until is not None:
        return "\n" + _("ℹ️ A new tracking number often shows nothing for the first days: carriers need up to a "
                        "week to update it. If it still finds nothing on {date}, that counts as evidence.").format(
            date=day(e.lag_until))
    if e.tracking == "none":
        return "\n" + _("ℹ️ A number the carrier still can't find is evidence in itself: take a screenshot of the "
                        "carrier's site showing it, for the dispute.")
    if e.tracking == "delivered":
        return "\n" + _("⚠️ When the tracking says “delivered”, the Buyer Protection timer may run out sooner: "
                        "check it on the order page. Ask the carrier or post office for a written statement that "
                        "you did not receive the parcel.")
    if e.tracking == "customs":
        return "\n" + _("ℹ️ Ask the carrier or your customs office what is needed to release the parcel; keep the "
                        "customs notice as evidence.")
    if e.tracking == "returned":
        return "\n" + _("ℹ️ A parcel going back to the seller won't reach you: ask for a full refund, and don't "
                        "agree to wait for it to be sent again.")
    if e.tracking == "stalled":
        return "\n" + _("ℹ️ A parcel with no update for this long may be lost: you don't have to wait for the "
                        "estimated delivery date to open the dispute.")
    if e.tracking == "moving" and e.eta is not None and e.eta < today:
        return "\n" + _("ℹ️ The estimated delivery date, {date}, has passed: that is reason enough to open the "
                        "dispute.").format(date=day(e.eta))
    return ""


def _verdict_core(e: Eligibility, locale: str, today: date, day, days_left, days) -> str:
    dates, v = e.dates, e.verdict
    if v is Verdict.WAIT_DELIVERY and e.eta is not None:
        text = _("🚚 The parcel is on its way: wait until the estimated delivery date, {date}. If it hasn't "
                 "arrived by then, open the dispute.").format(date=day(e.eta))
        if dates.safe_until is not None:
            text += "\n" + _("Don't wait past {date}: after it fewer than {days} remain on the Buyer Protection "
                             "timer.").format(date=fmt_date(dates.safe_until, locale), days=days(e.margin_days))
        return text
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
    """The buyer's answer to a step, for the recap (the step's recap in flows/steps.py, formatted here)."""
    if step in d.unknown:
        return _("I don't know")
    recap = STEP[step].recap(d) if step in STEP else None
    if recap is None:
        return "—"
    msgid, params = recap
    shown: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, Decimal):
            shown[key] = fmt_money(value, d.currency, locale)
        elif isinstance(value, date):
            shown[key] = fmt_date(value, locale)
        else:
            shown[key] = html(str(value))
    return (html(_(msgid)) if msgid != "{text}" else msgid).format(**shown).strip()


def form_steps(d: Dispute, locale: str) -> list[str]:
    """The taps on AliExpress, numbered by the caller."""
    reason, solution = option(REASONS, d.reason), option(SOLUTIONS, d.solution)
    defect = option(DEFECTS, d.defect)
    order = html(d.order_number) if d.order_number else _("your order")
    amount = d.refund_amount()
    steps = [_("Account → <b>My Orders</b> → {order} → <b>Open Dispute</b>.").format(order=order)]

    def english(form: str) -> str:
        # No public source gives the form's ru/es/de wording (docs/rules.md): the English name goes alongside.
        return "" if _(form) == form else " " + _("In the English form: {english}.").format(
            english=f"<code>{html(form)}</code>")

    if reason:
        steps.append(_("Reason: “{option}”.").format(option=html(_(reason.form))) + english(reason.form))
    steps.append(_("“Have you received the item?”: <b>{answer}</b>.").format(
        answer=_("Yes") if d.received else _("No")))
    if defect and d.received:
        steps.append(_("What is wrong: “{option}”.").format(option=html(_(defect.form))) + english(defect.form))
    tracking = option(TRACKING, d.tracking)
    if tracking and d.received is False:
        steps.append(_("If the form asks what the tracking shows: “{option}”.").format(option=html(_(tracking.form))))
    if solution:
        steps.append(_("Solution: “{option}”.").format(option=html(_(solution.form))))
    if amount is not None:
        steps.append(_("Refund amount: <b>{money}</b>.").format(money=fmt_money(amount, d.currency, locale)))
    steps += [
        _("Paste the explanation below into the description box."),
        _("Add photos (“Browse”) and video (“Add Video”), each under 2 MB."),
        _("Tap <b>Submit</b>."),
    ]
    return steps


def folded(text: str) -> str:
    """A part the buyer opens with a tap (Telegram's expandable quote): shut, it shows its first lines only."""
    return f"<blockquote expandable>{text}</blockquote>"


def screen_lines(text: str) -> int:
    """Lines ``text`` (HTML) takes on a phone before any tap: wrapped at PHONE_WIDTH, a folded part FOLDED_LINES."""
    shown, folds = re.subn(r"<blockquote expandable>.*?</blockquote>", "", text, flags=re.S)
    shown = unescape(re.sub(r"<[^>]+>", "", shown)).strip("\n")
    return FOLDED_LINES * folds + sum(map(_phone_lines, shown.split("\n")))


# The same verdicts and taps come back for every buyer; the recap's lines are the buyer's own (order
# number, amounts), so the cache stays small: 4,096 entries kept 2 blocks per buyer for thousands of
# buyers (BENCHMARKS.md, figure 2), 256 are full after a few dozen and then only turn over.
@lru_cache(maxsize=256)
def _phone_lines(line: str) -> int:
    return 1 if len(line) <= PHONE_WIDTH else len(textwrap.wrap(line, PHONE_WIDTH))


def summary(d: Dispute, items: list[EvidenceItem], e: Eligibility, *, locale: str, today: date) -> Screen:
    return Screen(summary_text(d, items, e, locale=locale, today=today),
                  summary_keyboard(d, has_notes=bool(notes(items))))


def summary_text(d: Dispute, items: list[EvidenceItem], e: Eligibility, *, locale: str, today: date) -> str:
    """What the buyer does first, on one phone screen (SCREEN_LINES): the verdict, then the taps in the app
    (the explanation to paste follows as a message of its own). The evidence checklist and the recap of the
    answers are folded; when the verdict is long, the tracking's note folds with them, then the taps."""
    recap = [f"• {step_title(step)}: {answer_text(d, step, locale)}" for step in d.path() if step != "evidence"]
    if "amount" not in d.path():
        recap.append(f"• {step_title('amount')}: {answer_text(d, 'amount', locale)}")
    recap.append(f"• {step_title('evidence')}: {evidence_summary(items)}")
    clicks = [f"{n}. {text}" for n, text in enumerate(form_steps(d, locale), start=1)]
    taps = "\n".join([_("<b>On AliExpress</b>"), *clicks])
    verdict, note = verdict_parts(e, locale, today)

    def details(with_note: bool) -> str:
        # Its first lines show while it is shut: the title names both parts, the checklist comes first.
        return folded("\n".join([_("<b>Evidence checklist and your answers</b>"),
                                 *([note] if with_note and note else []), checklist_text(d, items), "",
                                 _("<b>Your answers</b>"), *recap]))

    head = [_("📋 <b>Your dispute is ready</b>"), verdict]
    layouts = [  # in order of preference: the first that fits a phone's screen
        "\n".join([*head, *([note] if note else []), "", taps, details(False)]),
        "\n".join([*head, "", taps, details(True)]),
        "\n".join([*head, folded(taps) + details(True)]),
    ]
    return next((t for t in layouts if screen_lines(t) <= SCREEN_LINES), layouts[-1])


def summary_keyboard(d: Dispute, *, has_notes: bool = False) -> InlineKeyboardMarkup:
    opened = EVENT_LABELS["open_on_aliexpress"]
    edits = [nav_button(d, "✏️ " + step_title(step), f"edit_{step}") for step in edit_events(d)]
    # Notes typed at the evidence step are offered for the explanation (and can be taken out again).
    toggle = [answer_button(d, _("📝 Remove my notes") if d.include_notes else _("📝 Add my notes"), NOTES)]
    return keyboard([nav_button(d, _(opened), "open_on_aliexpress")], toggle if has_notes else [],
                    [paperwork_button(d, _("🗓 Timeline"), "timeline")], *rows_of(edits, 2),
                    [nav_button(d, _("✖️ Cancel"), "cancel"),
                     InlineKeyboardButton(text=_("➕ New dispute"), callback_data=NewDispute().pack())])


def explanation_text(english: str, translation: str | None = None, *, unused_notes: int = 0) -> str:
    """The explanation to paste (one tap copies the block); what it says in the buyer's language is folded."""
    text = _("📝 <b>Explanation for AliExpress</b> (English; tap it to copy):") + f"\n<pre>{html(english)}</pre>"
    if translation:
        text += "\n" + folded(_("<i>What it says:</i> {translation}").format(translation=html(translation)))
    if unused_notes:
        text += "\n" + ngettext("📝 You wrote {n} note: it can go into the explanation as your own words.",
                                "📝 You wrote {n} notes: they can go into the explanation as your own words.",
                                unused_notes).format(n=unused_notes)
    return text


def pasted_text(line: str) -> str:
    """Shows the buyer the exact words that go into the form's text."""
    return _("📝 This goes into the explanation for AliExpress, exactly as written:") + f"\n<code>{html(line)}</code>"
