"""Builds the Bot and the Dispatcher, and runs long polling."""
from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import BotCommandScopeDefault

from bot.budget import SendBudget
from bot.config import LOCALES, Config
from bot.i18n import UserLocaleMiddleware, make_i18n, telegram_locale
from bot.isolation import SparseMemoryStorage, UserLocks
from bot.middlewares import FloodControl, InFlight, OncePerUpdate, SpinnerIsCosmetic, TrackCommit
from bot.reminders import ReminderEngine
from bot.sender import RateLimitedSender
from bot.routers import admin, commands, evidence, fallback, intake, lifecycle
from bot.services import Services
from bot.storage import Storage
from flows.choices import N_
from flows.clock import Clock, SystemClock

log = logging.getLogger("bot")
SHUTDOWN_GRACE_SECONDS = 10.0


def create_bot(config: Config, session: AiohttpSession | None = None) -> Bot:
    if session is None and config.bot.api_url:
        # Every request, file downloads included, goes to the self-hosted server.
        session = AiohttpSession(api=TelegramAPIServer.from_base(config.bot.api_url))
    bot = Bot(config.bot.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    bot.session.middleware(SpinnerIsCosmetic())
    bot.session.middleware(send_budget(config))
    return bot


def send_budget(config: Config) -> SendBudget:
    """The one budget every send and edit goes through (bot.budget)."""
    s = config.sending
    return SendBudget(per_second=s.per_second, burst=s.burst, chat_per_second=s.chat_per_second,
                      chat_burst=s.chat_burst, reply_max_wait=s.reply_max_wait_seconds)


def create_dispatcher(svc: Services, *, isolation: BaseEventIsolation | None = None) -> Dispatcher:
    # Updates of one user run one at a time: a dispute is loaded, changed and
    # saved per update, and two taps must not race on the same model. Neither
    # keeps anything for a user who is not in the middle of an update.
    locks = isolation or UserLocks()
    dp = Dispatcher(storage=SparseMemoryStorage(), events_isolation=locks, svc=svc)
    if isinstance(locks, UserLocks):
        svc.backlog = locks.queued
    in_flight = InFlight()
    dp.update.outer_middleware(in_flight)
    dp.update.outer_middleware(TrackCommit())
    dp.update.outer_middleware(OncePerUpdate(svc.store))
    b = svc.config.bot

    async def slow_down(data: dict, user_id: int) -> None:
        user = await svc.store.get_user(user_id)
        sender = data.get("event_from_user")
        locale = (user.locale if user and user.locale else
                  telegram_locale(sender.language_code if sender else None, b.default_locale))
        with suppress(Exception):
            await data["bot"].send_message(user_id, svc.i18n.gettext(
                "🐢 Slow down a little: I'll read your messages again in a few seconds.", locale=locale))

    # Evidence is exempt: a batch of forwarded messages is what the bot asks for, and must never be dropped.
    dp.update.outer_middleware(FloodControl(b.flood_limit, b.flood_window_seconds, b.flood_cooldown_seconds,
                                            slow_down, clock=svc.monotonic,
                                            exempt=lambda update: evidence.carries_evidence(update.message)))
    UserLocaleMiddleware(svc.i18n, svc.store).setup(dp)

    async def on_shutdown() -> None:
        # Runs before aiogram closes the bot session: replies can still go out.
        if not await in_flight.wait_idle(SHUTDOWN_GRACE_SECONDS):
            log.warning("stopping with updates still in flight")
        await svc.albums.drain()

    dp.shutdown.register(on_shutdown)
    # Evidence before intake: a forwarded text is evidence, not a typed answer.
    dp.include_routers(admin.create_router(svc.config.bot.admin_ids), commands.create_router(),
                       lifecycle.create_router(), evidence.create_router(), intake.create_router(),
                       fallback.create_router())
    return dp


# Shown in the bot's profile and on the empty chat before /start.
DESCRIPTION = N_("I help you get your money back when an AliExpress order goes wrong: what to pick in the dispute "
                 "form, an English explanation to paste, your evidence in order, and the deadlines to watch.")
SHORT_DESCRIPTION = N_("Win your AliExpress dispute: the right choices in the form, an English text, "
                       "evidence and deadlines.")


def create_engine(svc: Services, bot: Bot) -> ReminderEngine:
    r = svc.config.reminders
    sender = RateLimitedSender(bot, global_per_second=r.global_per_second, per_chat_per_second=r.per_chat_per_second)
    return ReminderEngine(svc, sender, lease_seconds=r.lease_seconds, batch=r.batch, max_sleep=r.max_sleep_seconds,
                          concurrency=r.concurrency)


async def set_profile(bot: Bot, svc: Services) -> None:
    """Command menu, description and short description in every language; the default language unscoped."""
    default = svc.config.bot.default_locale
    for locale in (default, *(lang for lang in LOCALES if lang != default)):
        code = None if locale == default else locale
        tr = svc.i18n.gettext
        await bot.set_my_commands(commands.bot_commands(locale, svc.i18n), scope=BotCommandScopeDefault(),
                                  language_code=code)
        await bot.set_my_description(tr(DESCRIPTION, locale=locale), language_code=code)
        await bot.set_my_short_description(tr(SHORT_DESCRIPTION, locale=locale), language_code=code)


async def run(config: Config, clock: Clock | None = None) -> None:
    store = await Storage.open(config.database.url)
    svc = Services(config=config, store=store, clock=clock or SystemClock(),
                   i18n=make_i18n(config.bot.default_locale))
    bot = create_bot(config)
    dp = create_dispatcher(svc)
    engine = create_engine(svc, bot)

    async def start_engine() -> None:
        dp["reminder_task"] = asyncio.create_task(engine.run(), name="reminders")

    async def stop_engine() -> None:
        task = dp.workflow_data.get("reminder_task")
        if task:
            engine.stop()
            try:
                await asyncio.wait_for(task, SHUTDOWN_GRACE_SECONDS)
            except TimeoutError:
                log.warning("reminder delivery did not stop in time")

    dp.startup.register(start_engine)
    dp.shutdown.register(stop_engine)
    try:
        me = await bot.get_me()
        await set_profile(bot, svc)
        log.info("started as @%s", me.username)
        # aiogram stops polling on SIGTERM/SIGINT and waits for running handlers.
        await dp.start_polling(bot, polling_timeout=config.bot.polling_timeout,
                               handle_signals=True, close_bot_session=True)
    finally:
        await store.close()
        log.info("stopped")
