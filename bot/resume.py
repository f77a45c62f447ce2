"""After a crash: nothing the buyer sent is dropped.

Telegram's offset is confirmed as soon as polling hands an update out, so an update
received or being handled when the process was killed is never delivered again.
Storage keeps each one with its payload until it is handled: one whose answer was
never committed is handled again (replay_received); one whose answer was committed
but whose reply may not have gone, or that can't be replayed, gets its chat's current
question again, with a word on why (resume_cut_off).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.utils.i18n import gettext as _

from bot import hints
from bot.conversation import show
from bot.services import Services

log = logging.getLogger(__name__)


async def resume_after_restart(bot: Bot, dp: Dispatcher, svc: Services) -> list[asyncio.Task[bool]]:
    """Before polling starts: replays what can be replayed (start_replay) and re-shows the
    question to chats cut off otherwise. Returns the replays, still running in their buyers'
    queues."""
    replays = await start_replay(bot, dp, svc)
    await resume_cut_off(bot, svc, cut_off=replays.cut_off)
    return replays.tasks


async def resume_cut_off(bot: Bot, svc: Services, *, cut_off: list[tuple[int, int, bool]] | None = None) -> int:
    """Re-shows each cut-off chat's current question; returns how many chats."""
    chats: dict[int, list[int]] = {}
    saved: dict[int, bool] = {}
    for update_id, chat_id, answered in await svc.store.cut_off() if cut_off is None else cut_off:
        chats.setdefault(chat_id, []).append(update_id)
        saved[chat_id] = saved.get(chat_id, True) and answered

    async def resume(chat_id: int, update_ids: list[int]) -> None:
        await reask(bot, svc, chat_id, saved=saved[chat_id])
        for update_id in update_ids:
            await svc.store.update_done(update_id)

    # Each chat on its own: one slow chat (its send budget) doesn't hold up the others.
    await asyncio.gather(*(resume(chat_id, ids) for chat_id, ids in chats.items()))
    if chats:
        log.info("resumed %d chat(s) cut off by the last stop", len(chats))
    return len(chats)


async def reask(bot: Bot, svc: Services, chat_id: int, *, saved: bool = False) -> None:
    """Shows the chat where it is, with a word on why (its last update was cut off); ``saved``: that
    update's answer is known to be committed."""
    try:
        user = await svc.store.get_user(chat_id)
        locale = user.locale if user and user.locale else svc.config.bot.default_locale
        with svc.i18n.context(), svc.i18n.use_locale(locale):
            note = (_("🔄 I restarted while I was handling your last message. It is saved; here is "
                      "where we are.") if saved else
                    _("🔄 I restarted while I was handling your last message. Here is where we are: "
                      "if your last answer is missing, please send it again."))
            d = await svc.store.focused_dispute(chat_id)
            if d is None or d.state == "cancelled":
                await bot.send_message(chat_id, note + "\n" + hints.no_dispute())
            else:
                await show(bot, chat_id, d, svc, locale, hint=note)
    except Exception as e:  # noqa: BLE001 - one chat's failure must not stop the others
        log.warning("could not resume chat after a restart: %s", type(e).__name__)


async def replay_received(bot: Bot, dp: Dispatcher, svc: Services) -> int:
    """Handles the updates the last process received and never committed an answer for, and
    waits for them; returns how many were handled."""
    return sum(await asyncio.gather(*(await start_replay(bot, dp, svc)).tasks))


@dataclass
class Replays:
    tasks: list[asyncio.Task[bool]]
    cut_off: list[tuple[int, int, bool]]  # read before the replays started: none of theirs


async def start_replay(bot: Bot, dp: Dispatcher, svc: Services) -> Replays:
    """Starts handling the updates the last process received but was killed before starting, or
    started and was killed before it committed their answer: polling had confirmed them to
    Telegram, so nobody would deliver them again (a batch of forwards, a tap, a typed answer).

    Each runs as its own task in arrival order, as polling runs them: one buyer's updates queue
    behind each other (bot.isolation.UserLocks), so a batch of forwards gets its one line at the
    end, and buyers don't wait for each other. Returns once every task holds its place in its
    buyer's queue: what polling gets from now on is handled after it, in order."""
    payloads = await svc.store.received_unhandled()
    cut_off = await svc.store.cut_off()
    tasks = [asyncio.create_task(_replay(bot, dp, payload), name="replay") for payload in payloads]
    await asyncio.sleep(0)  # each task runs up to its buyer's lock
    if tasks:
        log.info("handling %d update(s) received before the last stop", len(tasks))
    return Replays(tasks, cut_off)


async def _replay(bot: Bot, dp: Dispatcher, payload: str) -> bool:
    try:
        await dp.feed_update(bot, Update.model_validate_json(payload, context={"bot": bot}))
        return True
    except Exception as e:  # noqa: BLE001 - one bad update must not stop the others
        log.warning("could not replay an update received before the restart: %s", type(e).__name__)
        return False
