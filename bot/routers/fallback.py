"""Anything no other handler took: a short hint, then the same question again."""
from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import hints
from bot.conversation import show
from bot.services import Services



async def on_group(message: Message) -> None:
    # Disputes are private: the bot stores nothing from groups or channels.
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


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.register(on_group, F.chat.type != "private")
    router.message.register(on_anything)
    router.callback_query.register(on_stale_button)
    return router
