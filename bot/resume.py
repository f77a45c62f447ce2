"""After a crash: chats whose update was cut off get their current question again.

Telegram's offset is confirmed as soon as polling hands an update out, so an update
being handled when the process was killed is never delivered again. Its chat is
known (storage records updates in flight), and the buyer is shown where they are,
with a word on why, instead of silence.
"""
from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.utils.i18n import gettext as _

from bot import hints
from bot.conversation import show
from bot.services import Services

log = logging.getLogger(__name__)


async def resume_cut_off(bot: Bot, svc: Services) -> int:
    """Re-shows each cut-off chat's current question; returns how many chats."""
    chats: dict[int, list[int]] = {}
    for update_id, chat_id in await svc.store.cut_off():
        chats.setdefault(chat_id, []).append(update_id)
    for chat_id, update_ids in chats.items():
        await reask(bot, svc, chat_id)
        for update_id in update_ids:
            await svc.store.update_done(update_id)
    if chats:
        log.info("resumed %d chat(s) cut off by the last stop", len(chats))
    return len(chats)


async def reask(bot: Bot, svc: Services, chat_id: int) -> None:
    """Shows the chat where it is, with a word on why (its last update was cut off)."""
    try:
        user = await svc.store.get_user(chat_id)
        locale = user.locale if user and user.locale else svc.config.bot.default_locale
        with svc.i18n.context(), svc.i18n.use_locale(locale):
            note = _("🔄 I restarted while I was handling your last message. Here is where we are: "
                     "if your last answer is missing, please send it again.")
            d = await svc.store.focused_dispute(chat_id)
            if d is None or d.state == "cancelled":
                await bot.send_message(chat_id, note + "\n" + hints.no_dispute())
            else:
                await show(bot, chat_id, d, svc, locale, hint=note)
    except Exception as e:  # noqa: BLE001 - one chat's failure must not stop the others
        log.warning("could not resume chat after a restart: %s", type(e).__name__)


async def replay_received(bot: Bot, dp: Dispatcher, svc: Services) -> int:
    """Handles the updates the last process received but was killed before starting: polling had
    confirmed them to Telegram, so nobody would deliver them again (a batch of forwards, a tap)."""
    replayed = 0
    for payload in await svc.store.received_unhandled():
        try:
            await dp.feed_update(bot, Update.model_validate_json(payload, context={"bot": bot}))
            replayed += 1
        except Exception as e:  # noqa: BLE001 - one bad update must not stop the start
            log.warning("could not replay an update received before the restart: %s", type(e).__name__)
    if replayed:
        log.info("handled %d update(s) received before the last stop", replayed)
    return replayed
