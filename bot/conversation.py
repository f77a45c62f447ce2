"""Drives a dispute: records an answer, fires the machine, saves, asks next.

The answer is committed before the next question is sent, so a failed send
loses nothing: the next message from the buyer re-asks the current step.
"""
from __future__ import annotations

from aiogram import Bot
from aiogram.utils.i18n import gettext as _

from bot.formatting import user_language
from bot.services import Services
from bot.views import explanation_text, question, summary, verdict_text
from flows.clock import today
from flows.dispute import Dispute
from flows.eligibility import assess
from flows.explanation import explanation
from flows.machine import fire


async def show(bot: Bot, chat_id: int, d: Dispute, svc: Services, locale: str, *, hint: str | None = None) -> None:
    """Sends the dispute's current step (or the summary), prefixed by an optional hint."""
    day = today(svc.clock)
    if d.state == "cancelled":
        await bot.send_message(chat_id, _("This dispute was cancelled. Send /new to start a new one."))
        return
    items = await svc.store.list_evidence(d) if d.state in ("evidence", "summary") else []
    if d.state == "summary":
        screen = summary(d, items, assess(d, svc.policy, day), locale=locale, today=day)
        await bot.send_message(chat_id, _join(hint, screen.text))
        # The explanation gets a message of its own (one tap copies the <pre>
        # block), and the edit buttons go last, where the buyer's thumb is.
        english = explanation(d, items, day)
        translation = explanation(d, items, day, user_language(locale, svc.i18n)) if locale != "en" else None
        await bot.send_message(chat_id, explanation_text(english, translation), reply_markup=screen.markup)
        return
    screen = question(d, items, locale=locale, today=day)
    await bot.send_message(chat_id, _join(hint, screen.text), reply_markup=screen.markup)


def _join(hint: str | None, text: str) -> str:
    return f"{hint}\n\n{text}" if hint else text


async def advance(bot: Bot, chat_id: int, d: Dispute, svc: Services, locale: str, event: str = "next") -> bool:
    """Fires ``event``, saves, then shows where the dispute is now.

    False when nothing changed: the event doesn't apply, or another update
    saved the dispute first (its version moved on).
    """
    before = d.state
    if not fire(d, event):
        return False
    if not await svc.store.save_dispute(d):
        return False
    hint = None
    if before in ("protection", "shipped_on") and d.state not in ("summary", "protection"):
        # The dates are in: say at once whether a dispute can be opened.
        hint = verdict_text(assess(d, svc.policy, today(svc.clock)), locale, today(svc.clock))
    await show(bot, chat_id, d, svc, locale, hint=hint)
    return True
