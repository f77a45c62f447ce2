"""Anything no other handler took: a short hint, then the same question again."""
from __future__ import annotations

import logging
from contextlib import suppress

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram.utils.i18n import gettext as _

from bot import hints
from bot.conversation import show
from bot.filters import Inline
from bot.middlewares import committed
from bot.services import Services
from bot.storage import is_unavailable

log = logging.getLogger(__name__)


async def on_group(message: Message, svc: Services) -> None:
    # Disputes are private: the bot stores nothing from groups, and says so once per group.
    if message.chat.id in svc.groups_told:
        return
    svc.groups_told.add(message.chat.id)
    await message.answer(_("I work only in a private chat: open me and press Start."))


async def on_anything(message: Message, bot: Bot, svc: Services, locale: str) -> None:
    d = await svc.store.focused_dispute(message.from_user.id)
    unknown_command = bool(message.text and message.text.startswith("/"))
    hint = _("I don't know that command. /help lists what I can do.") if unknown_command else hints.unexpected()
    if d is None or d.state == "cancelled":
        await message.answer(hint + "\n" + hints.no_dispute())
        return
    await show(bot, message.chat.id, d, svc, locale, hint=hint)


async def on_stale_button(callback: CallbackQuery) -> None:
    # Malformed, forged or retired callback data.
    await callback.answer(hints.outdated())


async def on_error(event: ErrorEvent, bot: Bot) -> None:
    """A bug or an outage must not leave the buyer guessing, nor be told something untrue.

    When the database itself refused the write (locked, disk full), nothing of this update
    was saved: the buyer is told to send it again. Otherwise "saved" is said only when it is
    true: this update committed the buyer's answer or evidence (``committed()``), or the
    failure is Telegram's or the network's. Handlers commit before they reply, and the calls
    made before a commit (the button spinner, marking a question answered, improving a
    photo) swallow their own failures, so a Telegram error reaching here struck after the
    commit or where there was nothing to save. Anything else (a bug) may have struck before
    the commit: the buyer is asked to check and resend instead.
    """
    unsaved = is_unavailable(event.exception)
    if unsaved:
        log.warning("update %s not saved: %s", event.update.update_id, event.exception)
    elif isinstance(event.exception, TelegramAPIError):
        # An outage or flood control that outlasted the retry (bot.budget): expected, and the buyer
        # is told below; a traceback is kept for what may be a bug.
        log.warning("update %s: Telegram refused the reply: %s: %s", event.update.update_id,
                    type(event.exception).__name__, event.exception)
    else:
        log.error("update %s failed", event.update.update_id, exc_info=event.exception)
    callback = event.update.callback_query
    if callback is not None:
        with suppress(Exception):  # stop the spinner; it may be answered already
            await callback.answer(hints.not_saved() if unsaved else None, show_alert=unsaved)
    chat = event.update.message.chat if event.update.message else None
    if chat is None and callback:
        chat = callback.message.chat if callback.message else None
    if chat is None or chat.type != "private":
        return
    if unsaved:
        text = hints.not_saved()
    elif committed() or isinstance(event.exception, TelegramAPIError):
        text = _("😓 Something went wrong on my side. Your answers are saved: send /disputes to continue.")
    else:
        text = _("😓 Something went wrong on my side, and your last message may not have been saved. "
                 "Send /disputes to see where you are, then send it again if it's missing.")
    with suppress(Exception):  # the failure may be the network itself
        await bot.send_message(chat.id, text)


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(on_group, Inline(F.chat.type != "private"))
    router.message.register(on_anything)
    router.callback_query.register(on_stale_button)
    router.errors.register(on_error)
    return router
