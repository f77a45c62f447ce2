"""Commands: /start /new /disputes /help /cancel /language /privacy /export /forget."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import BotCommand, BufferedInputFile, CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import hints
from bot.conversation import show
from bot.cosmetic import cosmetic
from bot.filters import PRIVATE
from bot.i18n import LANGUAGE_NAMES
from bot.keyboards import ForgetConfirm, LanguageChoice, NewDispute, OpenDispute, in_rows, keyboard
from bot.routers.intake import ask_confirmation
from bot.services import Services
from bot.formatting import html
from bot.planning import user_zone
from bot.reminders import when_text
from bot.stages import DEADLINE_TITLES, STAGE_TITLES
from bot.views import step_marker, step_title
from flows.calendar import HOLIDAY_COUNTRY
from flows.choices import N_, REASONS, option
from flows.dispute import Dispute
from flows.reminders import ahead
from flows.machine import MACHINE, can_fire


# /disputes lists the newest ones: a long list is no use on a phone.
DISPUTES_SHOWN = 20

# The command menu (setMyCommands), in menu order.
COMMANDS = (
    ("new", N_("Start a new dispute")),
    ("disputes", N_("My disputes")),
    ("cancel", N_("Cancel the current dispute")),
    ("language", N_("Change language")),
    ("timezone", N_("Time zone for reminders")),
    ("dossier", N_("Dossier for my bank or an appeal (PDF)")),
    ("help", N_("How this bot works")),
    ("privacy", N_("What I store about you")),
    ("export", N_("Download my data")),
    ("forget", N_("Delete all my data")),
)


def bot_commands(locale: str, i18n: I18n) -> list[BotCommand]:
    return [BotCommand(command=name, description=i18n.gettext(text, locale=locale))
            for name, text in COMMANDS]


async def on_start(message: Message, svc: Services) -> None:
    rows = [[InlineKeyboardButton(text=_("🚀 Start a dispute"), callback_data=NewDispute().pack())]]
    d = await svc.store.focused_dispute(message.from_user.id)
    if d is not None and d.state != "cancelled":
        rows.append([InlineKeyboardButton(text=_("▶️ Continue dispute #{id}").format(id=d.number),
                                          callback_data=OpenDispute(dispute_id=d.id).pack())])
    await message.answer(
        _("👋 I help you get your money back when an AliExpress order goes wrong.\n"
          "I tell you exactly what to pick in the dispute form, write the English explanation, "
          "keep your evidence and watch the deadlines."),
        reply_markup=keyboard(*rows))


async def start_new(bot: Bot, user_id: int, svc: Services, locale: str) -> None:
    d = await svc.store.create_dispute(user_id, MACHINE.initial, locale)
    await show(bot, user_id, d, svc, locale)


async def on_new(message: Message, bot: Bot, svc: Services, locale: str) -> None:
    await start_new(bot, message.from_user.id, svc, locale)


async def on_new_button(callback: CallbackQuery, bot: Bot, svc: Services, locale: str) -> None:
    await cosmetic(callback.answer(), "answerCallbackQuery")  # the spinner, beside the first question
    await start_new(bot, callback.from_user.id, svc, locale)


async def on_disputes(message: Message, svc: Services, locale: str) -> None:
    disputes = await svc.store.list_disputes(message.from_user.id, exclude_states=("cancelled",),
                                            limit=DISPUTES_SHOWN)
    if not disputes:
        await message.answer(_("You have no disputes yet. Send /new to start one."))
        return
    tz = await user_zone(svc, message.from_user.id, locale)
    now = svc.clock.now()
    lines, buttons = [_("<b>Your disputes</b>")], []
    for d in disputes:
        lines += ["", dispute_line(d, svc, tz, now, locale)]
        buttons.append(InlineKeyboardButton(text=_("▶️ Open #{id}").format(id=d.number),
                                            callback_data=OpenDispute(dispute_id=d.id).pack()))
    await message.answer("\n".join(lines), reply_markup=keyboard(*in_rows(buttons, 2)))


def dispute_line(d: Dispute, svc: Services, tz: ZoneInfo, now: datetime, locale: str) -> str:
    """A dispute as the buyer knows it: number, order, problem, where it is, the next date that matters."""
    reason = option(REASONS, d.reason)
    head = " · ".join([f"<b>#{d.number}</b>", *([html(d.order_number)] if d.order_number else []),
                       *([_(reason.label)] if reason else [])])
    if d.state in STAGE_TITLES:
        where = _(STAGE_TITLES[d.state])
    else:
        marker = step_marker(d)
        where = f"{marker}: {step_title(d.state)}" if marker else step_title(d.state)
    upcoming = ahead(d, svc.policy, tz, HOLIDAY_COUNTRY.get(locale), now)
    if upcoming:
        key, moment = next(iter(upcoming.items()))
        where += "\n" + _("⏰ {what}: {when}").format(what=_(DEADLINE_TITLES[key]),
                                                      when=when_text(moment, now, tz, locale))
    return f"{head}\n{where}"


async def on_open(callback: CallbackQuery, callback_data: OpenDispute, bot: Bot, svc: Services,
                  locale: str) -> None:
    d = await svc.store.get_dispute(callback.from_user.id, callback_data.dispute_id)
    if d is None or d.state == "cancelled":
        await callback.answer(hints.outdated())
        return
    await cosmetic(callback.answer(), "answerCallbackQuery")
    await svc.store.focus(callback.from_user.id, d.id)
    await show(bot, callback.from_user.id, d, svc, locale)


async def on_cancel(message: Message, bot: Bot, svc: Services, locale: str) -> None:
    d = await svc.store.focused_dispute(message.from_user.id)
    event = next((e for e in ("cancel", "withdraw") if d is not None and can_fire(d, e)), None)
    if event is None:
        await message.answer(hints.no_dispute())
        return
    await ask_confirmation(bot, message.chat.id, d, event, svc, locale)


async def on_help(message: Message) -> None:
    await message.answer(_(
        "<b>How it works</b>\n"
        "1. /new: answer a few questions about the order (buttons, or type when asked).\n"
        "2. Send your evidence: photos, screenshots, videos, forwarded seller messages.\n"
        "3. Get the summary: what to pick in AliExpress's form and an English text to paste.\n\n"
        "Every step has Back and Cancel. /disputes shows your disputes, /language changes the language."))


async def on_language(message: Message) -> None:
    buttons = [InlineKeyboardButton(text=name, callback_data=LanguageChoice(code=code).pack())
               for code, name in LANGUAGE_NAMES.items()]
    await message.answer(_("Choose your language:"), reply_markup=keyboard(*in_rows(buttons, 2)))


async def on_language_choice(callback: CallbackQuery, callback_data: LanguageChoice, bot: Bot, svc: Services,
                             i18n: I18n) -> None:
    locale = callback_data.code
    await svc.store.set_locale(callback.from_user.id, locale)
    i18n.current_locale = locale  # answer in the new language at once
    await callback.answer()
    note = _("Language set: {name}.").format(name=LANGUAGE_NAMES[locale])
    d = await svc.store.focused_dispute(callback.from_user.id)
    if d is None or d.state == "cancelled":
        await callback.message.answer(note)
        return
    # Where the buyer was, asked again in the new language.
    await show(bot, callback.from_user.id, d, svc, locale, hint=note)


async def on_privacy(message: Message) -> None:
    await message.answer(_(
        "<b>What I store</b>: your Telegram id and language, your answers for each dispute, and for evidence the "
        "Telegram file ids (not the files), forwarded texts with their sender's name and date, and your notes.\n"
        "I download a file only to shrink a photo for AliExpress or to put it into your dossier (PDF), and I keep "
        "no copy.\n"
        "/export sends you all of it, /forget deletes all of it."))


async def on_export(message: Message, svc: Services) -> None:
    data = await svc.store.export_user(message.from_user.id)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=_plain).encode()
    await message.answer_document(BufferedInputFile(body, filename="my-disputes.json"),
                                  caption=_("Everything I store about you."))


def _plain(value: object) -> object:
    if isinstance(value, set):
        return sorted(value)
    return str(value)  # dates, moments, amounts


async def on_forget(message: Message) -> None:
    await message.answer(_("Delete all your disputes, answers and evidence records? This cannot be undone."),
                         reply_markup=keyboard(
                             [InlineKeyboardButton(text=_("🗑 Yes, delete everything"),
                                                   callback_data=ForgetConfirm(confirm=True).pack())],
                             [InlineKeyboardButton(text=_("Keep my data"),
                                                   callback_data=ForgetConfirm(confirm=False).pack())]))


async def on_forget_confirm(callback: CallbackQuery, callback_data: ForgetConfirm, svc: Services) -> None:
    await callback.answer()
    if not callback_data.confirm:
        await callback.message.answer(_("Nothing was deleted."))
        return
    await svc.store.forget_user(callback.from_user.id)
    await callback.message.answer(_("All your data is deleted. Send /start if you need me again."))


def create_router() -> Router:
    router = Router(name="commands")
    router.message.filter(PRIVATE)
    router.message.register(on_start, CommandStart())
    router.message.register(on_new, Command("new"))
    router.callback_query.register(on_new_button, NewDispute.filter())
    router.message.register(on_disputes, Command("disputes"))
    router.callback_query.register(on_open, OpenDispute.filter())
    router.message.register(on_cancel, Command("cancel"))
    router.message.register(on_help, Command("help"))
    router.message.register(on_language, Command("language"))
    router.callback_query.register(on_language_choice, LanguageChoice.filter(F.code.in_(LANGUAGE_NAMES)))
    router.message.register(on_privacy, Command("privacy"))
    router.message.register(on_export, Command("export"))
    router.message.register(on_forget, Command("forget"))
    router.callback_query.register(on_forget_confirm, ForgetConfirm.filter())
    return router
