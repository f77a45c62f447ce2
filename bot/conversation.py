"""Drives a dispute: records an answer, fires the machine, saves, asks next.

The answer is committed before the next question is sent, so a failed send
loses nothing: the next message from the buyer re-asks the current step.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.utils.i18n import gettext as _

from bot.formatting import user_language
from bot.planning import reminder_plan, user_zone
from bot.keyboards import answer_button
from bot.middlewares import mark_committed
from bot.services import Services
from bot.stages import stage_keyboard, stage_text
from bot.views import explanation_text, pasted_text, question, summary, verdict_text
from flows.clock import today
from flows.dispute import Dispute
from flows.eligibility import assess
from flows.explanation import explanation, explanation_details, notes
from flows.calendar import HOLIDAY_COUNTRY
from flows.machine import FINAL, LIFECYCLE, fire

# States shown as a lifecycle stage screen rather than an intake question.
STAGES = frozenset({"opening", *LIFECYCLE, *FINAL})


async def show(bot: Bot, chat_id: int, d: Dispute, svc: Services, locale: str, *, hint: str | None = None,
               new_question: bool = False) -> None:
    """Sends the dispute's current step (or the summary), prefixed by an optional hint.

    ``new_question``: the dispute just moved to this step (advance): its message becomes the one
    typed answers are measured against (docs/rules.md). Showing the same question again (a hint,
    /disputes, a re-ask after a restart) doesn't move it: an answer typed after the first showing
    answers it, or a buyer typing faster than the bot may send would never catch up."""
    day = today(svc.clock)
    if d.state == "cancelled":
        await bot.send_message(chat_id, _("This dispute was cancelled. Send /new to start a new one."))
        return
    if d.state in STAGES:
        tz = await user_zone(svc, d.user_id, locale)
        text = stage_text(d, svc.policy, tz=tz, country=HOLIDAY_COUNTRY.get(locale), now=svc.clock.now(),
                          locale=locale)
        extra = [answer_button(d, label, value) for label, value in
                 ((_("Today"), "d0"), (_("Yesterday"), "d1"), (_("2 days ago"), "d2"))] if d.state == "opening" else None
        sent = await bot.send_message(chat_id, _join(hint, text), reply_markup=stage_keyboard(d, extra=extra))
        if d.state == "opening" and new_question:  # a typed date answers it
            await svc.store.asked(d, sent.message_id)
        return
    items = await svc.store.list_evidence(d) if d.state in ("evidence", "summary") else []
    if d.state == "summary":
        screen = summary(d, items, assess(d, svc.policy, day), locale=locale, today=day)
        await bot.send_message(chat_id, _join(hint, screen.text))
        # The explanation gets a message of its own (one tap copies the <pre>
        # block), and the edit buttons go last, where the buyer's thumb is.
        english = explanation(d, items, day, locale=locale)
        translation = (explanation(d, items, day, user_language(locale, svc.i18n), locale=locale)
                       if locale != "en" else None)
        unused = 0 if d.include_notes else len(notes(items))
        await bot.send_message(chat_id, explanation_text(english, translation, unused_notes=unused),
                               reply_markup=screen.markup)
        return
    screen = question(d, items, locale=locale, today=day)
    sent = await bot.send_message(chat_id, _join(hint, screen.text), reply_markup=screen.markup)
    if new_question:  # after the send, off the buyer's wait: what they type from now on answers it
        await svc.store.asked(d, sent.message_id)


# Steps after which the order's currency is known: remembered per buyer.
CURRENCY_STEPS = frozenset({"order_total", "item_price", "currency", "amount"})


def _join(hint: str | None, text: str) -> str:
    return f"{hint}\n\n{text}" if hint else text


async def advance(bot: Bot, chat_id: int, d: Dispute, svc: Services, locale: str, event: str = "next",
                  on_saved: Callable[[], Awaitable[None]] | None = None, **event_args: object) -> bool:
    """Fires ``event``, saves, runs ``on_saved`` (only once the save is committed), then
    shows where the dispute is now.

    False when nothing changed: the event doesn't apply, or another update
    saved the dispute first (its version moved on); ``on_saved`` doesn't run then.
    """
    before, now = d.state, svc.clock.now()
    if not fire(d, event, now=now, **event_args):
        return False
    tz = await user_zone(svc, d.user_id, locale)
    if not await svc.store.save_dispute(d, plan=reminder_plan(d, svc, tz, locale, now)):
        return False
    svc.reminders_changed.set()
    mark_committed()
    if on_saved is not None:
        await on_saved()
    hint = None
    if before in ("protection", "shipped_on") and d.state not in ("summary", "protection"):
        # The dates are in: say at once whether a dispute can be opened.
        hint = verdict_text(assess(d, svc.policy, today(svc.clock)), locale, today(svc.clock))
    if before in CURRENCY_STEPS and d.currency:
        await svc.store.set_currency(d.user_id, d.currency)  # asked once: remembered for this buyer
    if before == "detail" and d.detail:
        # The buyer sees exactly what goes into the form's text.
        hint = pasted_text(explanation_details(d))
    await show(bot, chat_id, d, svc, locale, hint=hint, new_question=True)
    return True
