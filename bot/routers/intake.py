"""The intake conversation: button answers, typed answers, Back, Cancel, edits."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, time, timedelta, timezone

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from bot import hints
from bot.conversation import advance, show
from bot.cosmetic import cosmetic
from bot.filters import PRIVATE, Inline
from bot.keyboards import DAYS_AGO, Confirm, OpenedOn, StepAnswer, StepNav, keyboard
from bot.guard import guard_warning
from bot.planning import user_zone
from bot.formatting import fmt_date, html
from bot.services import Services
from bot.stages import stage_keyboard
from bot.views import evidence_count
from flows.clock import today
from flows.dispute import Dispute
from flows.evidence import EvidenceItem, EvidenceKind
from flows.explanation import has_chinese
from flows.guard import asks_for_false_claim
from flows.eligibility import assess
from flows.machine import FINAL, LIFECYCLE, can_fire
from flows.parsing import InputError, parse_date
from flows.steps import STEP, Context, Kind, toggle_notes

log = logging.getLogger(__name__)


async def _current(callback: CallbackQuery, svc: Services, dispute_id: int, version: int) -> Dispute | None:
    """The dispute a button speaks for, if it is the user's and the button is current."""
    d = await svc.store.get_dispute(callback.from_user.id, dispute_id)
    if d is None or d.version != version:
        await callback.answer(hints.outdated(), show_alert=False)
        return None
    return d


async def _mark_answered(callback: CallbackQuery, answer: str) -> None:
    """Turns the question into a record of the answer, so old buttons can't be tapped again.

    Cosmetic: called only once the answer is committed, and a failed edit (5xx, 429,
    network) is logged, never raised: the buyer's next message re-asks the step anyway.
    """
    message = callback.message
    if isinstance(message, Message) and message.text:
        try:
            await message.edit_text(f"{message.html_text}\n\n<b>→ {html(answer)}</b>", reply_markup=None)
        except TelegramBadRequest:
            pass  # already edited, or too old to edit
        except TelegramAPIError as e:
            log.warning("marking an answered question failed: %s", type(e).__name__)


async def on_answer(callback: CallbackQuery, callback_data: StepAnswer, bot: Bot, svc: Services, locale: str) -> None:
    d = await _current(callback, svc, callback_data.dispute_id, callback_data.version)
    if d is None:
        return
    if callback_data.step != d.state or not _apply_button(d, callback_data.value, svc):
        await callback.answer(hints.outdated())
        return
    # The spinner and the edit are cosmetic (bot.cosmetic): they run beside the next question.
    await cosmetic(callback.answer(), "answerCallbackQuery")
    label = _button_label(callback, callback_data)
    await svc.store.focus(callback.from_user.id, d.id)

    async def mark() -> None:  # the question shows the answer only once it is saved
        await cosmetic(_mark_answered(callback, label), "marking the answered question")

    if d.state == "opening":
        await record_opening(bot, callback.from_user.id, d, svc, locale, DAYS_AGO[callback_data.value],
                             on_saved=mark)
        return
    await advance(bot, callback.from_user.id, d, svc, locale, on_saved=mark)


async def record_opening(bot: Bot, chat_id: int, d: Dispute, svc: Services, locale: str, days_ago: int, *,
                         confirmed: bool = False, on_saved: Callable[[], Awaitable[None]] | None = None) -> None:
    """Records the day the dispute was opened; a day before the first possible one is asked about first."""
    when = await opened_moment(svc, d, locale, days_ago)
    tz = await user_zone(svc, d.user_id, locale)
    day = when.astimezone(tz).date()
    first = assess(d, svc.policy, today(svc.clock)).opens_on
    if first is not None and day < first and not confirmed:
        text = _("🤔 You opened it on {day}? By the shipping date you gave ({shipped}), the first day a dispute "
                 "can be opened is {first}. If the dispute really is open, tap “Yes”; otherwise pick the right "
                 "day.").format(day=fmt_date(day, locale), shipped=fmt_date(d.shipped_on, locale),
                                 first=fmt_date(first, locale))
        await bot.send_message(chat_id, text, reply_markup=keyboard(
            [InlineKeyboardButton(text=_("✅ Yes, it's open"), callback_data=OpenedOn(
                dispute_id=d.id, version=d.version, days_ago=days_ago).pack())],
            [InlineKeyboardButton(text=_("📅 Another day"), callback_data=StepNav(
                dispute_id=d.id, version=d.version, action="reopen_question").pack())]))
        return
    await advance(bot, chat_id, d, svc, locale, event="opened", on_saved=on_saved, opened_at=when)


async def on_opened_confirmed(callback: CallbackQuery, callback_data: OpenedOn, bot: Bot, svc: Services,
                              locale: str) -> None:
    d = await _current(callback, svc, callback_data.dispute_id, callback_data.version)
    if d is None:
        return
    if d.state != "opening" or not 0 <= callback_data.days_ago <= 366:
        await callback.answer(hints.outdated())
        return
    await cosmetic(callback.answer(), "answerCallbackQuery")
    await record_opening(bot, callback.from_user.id, d, svc, locale, callback_data.days_ago, confirmed=True)


async def opened_moment(svc: Services, d: Dispute, locale: str, days_ago: int) -> datetime:
    """When the dispute was opened: now for "today", else noon of that day in the buyer's zone."""
    now = svc.clock.now()
    if days_ago == 0:
        return now
    tz = await user_zone(svc, d.user_id, locale)
    day = now.astimezone(tz).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(12), tzinfo=tz).astimezone(timezone.utc)


def _apply_button(d: Dispute, value: str, svc: Services) -> bool:
    if d.state == "opening":
        return value in DAYS_AGO
    if d.state == "summary":
        return toggle_notes(d, value)
    step = STEP.get(d.state)
    return step is not None and step.answer_button(d, value, Context(locale="en", today=today(svc.clock),
                                                                       policy=svc.policy))


def _button_label(callback: CallbackQuery, data: CallbackData) -> str:
    markup = callback.message.reply_markup if isinstance(callback.message, Message) else None
    for row in (markup.inline_keyboard if markup else []):
        for button in row:
            if button.callback_data == data.pack():
                return button.text
    return "✓"


async def on_nav(callback: CallbackQuery, callback_data: StepNav, bot: Bot, svc: Services, locale: str) -> None:
    d = await _current(callback, svc, callback_data.dispute_id, callback_data.version)
    if d is None:
        return
    if callback_data.action == "reopen_question" and d.state == "opening":
        await callback.answer()
        await show(bot, callback.from_user.id, d, svc, locale)
        return
    if callback_data.action in CONFIRM_FIRST and can_fire(d, callback_data.action):
        await callback.answer()
        await ask_confirmation(bot, callback.from_user.id, d, callback_data.action, svc, locale)
        return
    if not can_fire(d, callback_data.action):
        await callback.answer(hints.outdated())
        return
    await cosmetic(callback.answer(), "answerCallbackQuery")
    await svc.store.focus(callback.from_user.id, d.id)
    if not await advance(bot, callback.from_user.id, d, svc, locale, event=callback_data.action):
        await show(bot, callback.from_user.id, d, svc, locale)


# Events that can't be undone: the buyer confirms first.
CONFIRM_FIRST = ("cancel", "withdraw")


async def ask_confirmation(bot: Bot, chat_id: int, d: Dispute, event: str, svc: Services, locale: str) -> None:
    if event == "cancel":
        question, yes, no = (_("Cancel this dispute? Your answers and evidence for it will be discarded."),
                             _("Yes, cancel it"), _("No, continue"))
    else:
        # A cancelled dispute can't be reopened, and once Buyer Protection is
        # over the payment is released to the seller (docs/rules.md).
        question = _("Did you cancel the dispute on AliExpress? A cancelled dispute can't be reopened.")
        if assess(d, svc.policy, today(svc.clock)).protection_over:
            question += "\n" + _("⚠️ Your Buyer Protection is over: the payment would be released to the seller.")
        question += "\n" + _("If not yet: cancel it only when you have your money or your item.")
        yes, no = _("Yes, I cancelled it"), _("Not yet, keep it open")
    await bot.send_message(chat_id, question, reply_markup=keyboard([
        InlineKeyboardButton(text=yes, callback_data=Confirm(dispute_id=d.id, version=d.version, event=event,
                                                             confirm=True).pack()),
        InlineKeyboardButton(text=no, callback_data=Confirm(dispute_id=d.id, version=d.version, event=event,
                                                            confirm=False).pack())]))


async def on_confirm(callback: CallbackQuery, callback_data: Confirm, bot: Bot, svc: Services, locale: str) -> None:
    d = await _current(callback, svc, callback_data.dispute_id, callback_data.version)
    if d is None or callback_data.event not in CONFIRM_FIRST:
        if d is not None:
            await callback.answer(hints.outdated())
        return
    await cosmetic(callback.answer(), "answerCallbackQuery")
    label = _button_label(callback, callback_data)
    if not callback_data.confirm:
        await _mark_answered(callback, label)  # nothing to save
        await show(bot, callback.from_user.id, d, svc, locale)
        return

    async def saved() -> None:
        if callback_data.event == "cancel":
            await svc.store.focus(callback.from_user.id, None)
        await cosmetic(_mark_answered(callback, label), "marking the answered question")

    await advance(bot, callback.from_user.id, d, svc, locale, event=callback_data.event, on_saved=saved)


# --- typed answers -----------------------------------------------------------

async def on_text(message: Message, bot: Bot, svc: Services, locale: str) -> None:
    if asks_for_false_claim(message.text):
        await message.answer(hints.no_false_claims())
        return
    d = await svc.store.focused_dispute(message.from_user.id)
    if d is None or d.state == "cancelled":
        await message.answer(hints.no_dispute())
        return
    if d.state == "summary":
        await show(bot, message.chat.id, d, svc, locale, hint=hints.unexpected())
        return
    if d.state in STEP and STEP[d.state].kind is Kind.CHOICE:
        await show(bot, message.chat.id, d, svc, locale, hint=hints.use_buttons())
        return
    if d.state in ("evidence", *LIFECYCLE, *FINAL):
        # Typed text is a note for the file (or the seller's words: the guard reads it).
        await save_note(message, d, svc, locale)
        return
    if d.asked_message_id is not None and message.message_id < d.asked_message_id:
        # Typed before this question was on screen (sent twice, or queued while the bot was
        # down): it answered an earlier one, never this (docs/rules.md).
        await show(bot, message.chat.id, d, svc, locale, hint=hints.typed_before_question())
        return
    if d.state == "opening":
        try:
            day = parse_date(message.text, locale, today=today(svc.clock))
        except InputError as e:
            hint = hints.input_hint(e.code, e.params, locale=locale, today=today(svc.clock))
            await show(bot, message.chat.id, d, svc, locale, hint=hint)
            return
        await record_opening(bot, message.chat.id, d, svc, locale, (today(svc.clock) - day).days)
        return
    ctx = Context(locale=locale, today=today(svc.clock), policy=svc.policy,
                  currency=await svc.store.get_currency(message.from_user.id))
    try:
        _apply_text(d, message.text, ctx)
    except InputError as e:
        hint = hints.input_hint(e.code, e.params, locale=locale, today=today(svc.clock), currency=d.currency)
        await show(bot, message.chat.id, d, svc, locale, hint=hint)
        return
    await advance(bot, message.chat.id, d, svc, locale)


def _apply_text(d: Dispute, text: str, ctx: Context) -> None:
    """Parses a typed answer into the dispute (the step's parser in flows/steps.py); raises InputError
    with a hint code, leaving the dispute as it was."""
    if has_chinese(text):
        raise InputError("chinese")
    step = STEP.get(d.state)
    if step is None or step.parse is None:
        raise InputError("unexpected")
    trial = replace(d, unknown=set(d.unknown))
    step.answer_text(trial, text, ctx)  # on a copy: a parser that fails half-way changes nothing
    for name in vars(d):
        setattr(d, name, getattr(trial, name))


async def save_note(message: Message, d: Dispute, svc: Services, locale: str) -> None:
    item = EvidenceItem(kind=EvidenceKind.NOTE, text=message.text)
    warning = guard_warning(item, margin_days=svc.policy.protection_margin_days)
    count = await svc.store.add_evidence(d, item)
    saved = _("📝 Note saved.") + " " + evidence_count(count)
    if d.state in LIFECYCLE:
        # "The seller refused" typed as a note: the stage's buttons are where that is told.
        saved += "\n" + _("If something happened in the dispute, tap it below.")
        await message.answer(_join(warning, saved), reply_markup=stage_keyboard(d))
        return
    await message.answer(_join(warning, saved))


def _join(first: str | None, second: str) -> str:
    return f"{first}\n\n{second}" if first else second


def create_router() -> Router:
    router = Router(name="intake")
    router.message.filter(PRIVATE)
    router.callback_query.register(on_answer, StepAnswer.filter())
    router.callback_query.register(on_nav, StepNav.filter())
    router.callback_query.register(on_confirm, Confirm.filter())
    router.callback_query.register(on_opened_confirmed, OpenedOn.filter())
    router.message.register(on_text, Inline(F.text & ~F.text.startswith("/")))
    return router
