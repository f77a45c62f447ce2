"""Builds the Bot and the Dispatcher, and runs long polling."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from contextlib import suppress

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.methods import GetUpdates, SetMyCommands, SetMyDescription, SetMyShortDescription, TelegramMethod
from aiogram.types import BotCommandScopeDefault

from bot import cosmetic, metrics
from bot.budget import SendBudget, SharedSlot
from bot.config import LOCALES, Config, FatalError
from bot.cosmetic import Cosmetics
from bot.instance import AnotherInstance, ConflictWatch, InstanceLock, PostgresInstanceLock
from bot.i18n import UserLocaleMiddleware, make_i18n, telegram_locale
from bot.isolation import SparseMemoryStorage, UserLocks
from bot.middlewares import FloodControl, InFlight, OncePerUpdate, SpinnerIsCosmetic, TrackCommit, private_chat
from bot.reminders import ReminderEngine
from bot.resume import resume_after_restart
from bot.sender import RateLimitedSender
from bot.routers import admin, commands, evidence, fallback, intake, lifecycle, paperwork
from bot.services import Services
from bot.storage import Storage, is_postgres, sqlite_path
from bot.storage.base import SendRate
from bot.users import UserRow
from flows.choices import N_
from flows.clock import Clock, SystemClock

log = logging.getLogger("bot")
SHUTDOWN_GRACE_SECONDS = 10.0


def create_bot(config: Config, session: AiohttpSession | None = None, *, shared: SharedSlot | None = None) -> Bot:
    if session is None and config.bot.api_url:
        # Every request, file downloads included, goes to the self-hosted server.
        session = AiohttpSession(api=TelegramAPIServer.from_base(config.bot.api_url))
    bot = Bot(config.bot.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    bot.session.middleware(SpinnerIsCosmetic())
    bot.session.middleware(send_budget(config, shared))
    return bot


def send_budget(config: Config, shared: SharedSlot | None = None) -> SendBudget:
    """The one budget every send and edit goes through (bot.budget)."""
    s = config.sending
    return SendBudget(per_second=s.per_second, burst=s.burst, chat_per_second=s.chat_per_second,
                      chat_burst=s.chat_burst, reply_max_wait=s.reply_max_wait_seconds, shared=shared)


def shared_rate(store: Storage, config: Config) -> SharedSlot:
    """SendBudget's slot across workers: Storage.reserve_send with the configured limits."""
    s = config.sending
    rate = SendRate(per_second=s.per_second, burst=s.burst, chat_per_second=s.chat_per_second,
                    chat_burst=s.chat_burst)

    async def reserve(chat_id: int | None, background: bool) -> float:
        return await store.reserve_send(chat_id, rate, background=background)
    return reserve


def create_dispatcher(svc: Services, *, isolation: BaseEventIsolation | None = None,
                      received: dict[int, str] | None = None) -> Dispatcher:
    """``received``: the updates polling stored on receipt, as JSON (RecordReceived), by update id."""
    # Updates of one user run one at a time: a dispute is loaded, changed and
    # saved per update, and two taps must not race on the same model. Neither
    # keeps anything for a user who is not in the middle of an update.
    # Several workers on one PostgreSQL: the buyer is also held across them (Storage.hold_user).
    locks = isolation or UserLocks(svc.store.hold_user if svc.store.SHARED else None)
    dp = Dispatcher(storage=SparseMemoryStorage(), events_isolation=locks, svc=svc)
    if isinstance(locks, UserLocks):
        svc.backlog = locks.queued
    in_flight = InFlight()
    dp.update.outer_middleware(in_flight)
    dp.update.outer_middleware(TrackCommit())
    # Spinner and "answered" edits run beside the next question; the update waits for them at its end.
    dp.update.outer_middleware(Cosmetics())
    once = OncePerUpdate(svc.store, received=received)
    dp.update.outer_middleware(once)
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
    # After flood control (a muted update reads nothing): the user row, read once per update.
    dp.update.outer_middleware(UserRow(svc.store))
    UserLocaleMiddleware(svc.i18n, svc.store).setup(dp)

    async def on_shutdown() -> None:
        # Runs before aiogram closes the bot session: replies can still go out.
        if not await in_flight.wait_idle(SHUTDOWN_GRACE_SECONDS):
            log.warning("stopping with updates still in flight")
        await svc.albums.drain()
        await once.drain(SHUTDOWN_GRACE_SECONDS)
        cosmetic.cancel_later()  # "answered" edits still waiting for their chat's spare token

    dp.shutdown.register(on_shutdown)
    # Evidence before intake: a forwarded text is evidence, not a typed answer.
    dp.include_routers(admin.create_router(svc.config.bot.admin_ids), commands.create_router(),
                       lifecycle.create_router(), paperwork.create_router(), evidence.create_router(),
                       intake.create_router(), fallback.create_router())
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


def profile_calls(svc: Services) -> list[TelegramMethod]:
    """Command menu, description and short description in every language; the default language unscoped."""
    default = svc.config.bot.default_locale
    calls: list[TelegramMethod] = []
    for locale in (default, *(lang for lang in LOCALES if lang != default)):
        code = None if locale == default else locale
        tr = svc.i18n.gettext
        calls += [SetMyCommands(commands=commands.bot_commands(locale, svc.i18n), scope=BotCommandScopeDefault(),
                                language_code=code),
                  SetMyDescription(description=tr(DESCRIPTION, locale=locale), language_code=code),
                  SetMyShortDescription(short_description=tr(SHORT_DESCRIPTION, locale=locale), language_code=code)]
    return calls


def profile_hash(bot_id: int, calls: list[TelegramMethod]) -> str:
    """What the profile calls would set, for this bot (another token is another bot)."""
    body = json.dumps([bot_id, *((type(c).__name__, c.model_dump(mode="json")) for c in calls)],
                      sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


async def set_profile(bot: Bot, svc: Services) -> None:
    """Sets the whole profile (every language), whatever was set before."""
    for call in profile_calls(svc):
        await bot(call)


PROFILE_KEY = "profile_hash"


async def publish_profile(bot: Bot, svc: Services, bot_id: int) -> bool:
    """Sets the profile only when it differs from what the last start set (its hash is in the
    database; remembered only once every call succeeded). True when it was set now."""
    calls = profile_calls(svc)
    digest = profile_hash(bot_id, calls)
    if await svc.store.get_setting(PROFILE_KEY) == digest:
        return False
    for call in calls:
        await bot(call)
    await svc.store.set_setting(PROFILE_KEY, digest)
    log.info("profile published (%d calls)", len(calls))
    return True


class FirstPoll(BaseRequestMiddleware):
    """Set once the first getUpdates goes out: background start-up work waits for it."""

    def __init__(self) -> None:
        self.polling = asyncio.Event()

    async def __call__(self, make_request, bot, method):
        if isinstance(method, GetUpdates):
            self.polling.set()
        return await make_request(bot, method)


class RecordReceived(BaseRequestMiddleware):
    """Stores each update polling gets before the next getUpdates confirms it to Telegram: a
    process killed before handling it replays it at the next start (bot.resume.start_replay).

    The write runs beside the handlers (they don't wait for it); the next getUpdates waits for it,
    at most ``patience`` seconds: with the database locked by another program nothing can be
    stored anyway, and buyers must still be answered."""

    def __init__(self, store: Storage, received: dict[int, str] | None = None, *, patience: float = 1.0) -> None:
        self.store, self.patience = store, patience
        # Each private update's JSON, handed to OncePerUpdate (it keeps the payload while the update is in
        # flight): one serialization per update, not two. Taken as each is handled (queued behind its
        # buyer's earlier updates, it waits here a while).
        self.received = received if received is not None else {}
        self._pending: asyncio.Task | None = None

    async def __call__(self, make_request, bot, method):
        if not isinstance(method, GetUpdates):
            return await make_request(bot, method)
        if self._pending is not None and not self._pending.done():
            with suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._pending), self.patience)
        result = await make_request(bot, method)
        if result:
            rows = [(u.update_id, private_chat(u), u.model_dump_json(exclude_none=True)) for u in result]
            if len(self.received) > 10_000:  # leftovers only: OncePerUpdate serializes what is missing
                self.received.clear()
            self.received.update((update_id, payload) for update_id, chat, payload in rows if chat is not None)
            self._pending = asyncio.create_task(self._record(rows), name="record-received")
        return result

    async def _record(self, rows: list[tuple[int, int | None, str]]) -> None:
        try:
            await self.store.receive_updates(rows)
        except Exception as e:  # noqa: BLE001 - a locked database must not stop polling
            log.warning("could not store received updates: %s", type(e).__name__)


async def publish_in_background(bot: Bot, svc: Services, bot_id: int, first_poll: FirstPoll) -> None:
    """After polling has started: buyers are served first, the profile is cosmetic."""
    with suppress(TimeoutError):
        await asyncio.wait_for(first_poll.polling.wait(), 10)
    try:
        await publish_profile(bot, svc, bot_id)
    except asyncio.CancelledError:
        raise
    except Exception as e:  # noqa: BLE001 - the profile is set again on the next start
        log.warning("could not publish the bot's profile (tried again at the next start): %s: %s",
                    type(e).__name__, e)


async def run(config: Config, clock: Clock | None = None) -> None:
    """Runs until SIGTERM; FatalError (one line for the operator) when it can't."""
    if is_postgres(config.database.url):
        if config.webhook.url:  # webhook workers: as many as the load balancer spreads updates over
            await _run(config, clock)
            return
        pg_lock = PostgresInstanceLock(config.database.url)
        try:
            await pg_lock.acquire()
        except AnotherInstance:
            raise
        except Exception as e:  # any failure to connect: one line for the operator, no traceback
            raise FatalError(f"can't use the database at {config.database.url.rpartition('@')[2]}: "
                             f"{str(e) or type(e).__name__}") from None
        try:
            await _run(config, clock)
        finally:
            await pg_lock.release()
        return
    # Before anything else: a second instance must not touch the database or the Bot API.
    lock = InstanceLock(sqlite_path(config.database.url))
    try:
        lock.acquire()
    except OSError as e:
        raise FatalError(f"can't create the lock file {lock.path} (is the database directory writable?): "
                         f"{e.strerror}") from None
    try:
        await _run(config, clock)
    finally:
        lock.release()


async def _run(config: Config, clock: Clock | None) -> None:
    store = await Storage.open(config.database.url, busy_timeout=config.database.busy_timeout_seconds)
    svc = Services(config=config, store=store, clock=clock or SystemClock(),
                   i18n=make_i18n(config.bot.default_locale))
    # Several workers: the send rate is the bot's, held in the database.
    bot = create_bot(config, shared=shared_rate(store, config) if store.SHARED else None)
    received: dict[int, str] = {}  # RecordReceived's JSON of each private update, for OncePerUpdate
    dp = create_dispatcher(svc, received=received)
    engine = create_engine(svc, bot)

    def conflict() -> None:
        log.error("another instance is polling with this token: stopping")
        asyncio.get_running_loop().create_task(dp.stop_polling())

    watch = ConflictWatch(conflict)
    bot.session.middleware(watch)
    # Operator metrics (/metrics): every update by type, and the Bot API's 429s (innermost).
    dp.update.outer_middleware(metrics.UpdateMetrics())
    bot.session.middleware(metrics.Count429())
    first_poll = FirstPoll()
    bot.session.middleware(first_poll)
    bot.session.middleware(RecordReceived(store, received))

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
    api = config.bot.api_url or "https://api.telegram.org"
    started = False
    profile: asyncio.Task | None = None
    replays: list[asyncio.Task] = []
    try:
        try:
            me = await bot.me()  # cached: start_polling asks for it again
        except TelegramUnauthorizedError:
            raise FatalError(f"the Bot API at {api} rejected BOT_TOKEN (401 Unauthorized): "
                             "copy it again from @BotFather") from None
        except TelegramNetworkError as e:
            raise FatalError(f"can't reach the Bot API at {api}: {e.message}") from None
        log.info("started as @%s", me.username)
        started = True
        try:
            if not svc.store.SHARED:
                # One process per database: what is in flight there is the last process's. With several
                # workers it may be another's, alive: one killed mid-update has its update redelivered
                # (the webhook got no answer) and taken over then (bot.middlewares.OncePerUpdate).
                # Runs beside polling: each replay holds its place in its buyer's queue already.
                replays = await resume_after_restart(bot, dp, svc)
        except Exception as e:  # noqa: BLE001 - a courtesy: it must not keep the bot from starting
            log.warning("could not resume the chats cut off by the last stop: %s", type(e).__name__)
        # Buyers first (polling or the webhook); the profile (14 calls when it changed, none when not)
        # in the background.
        profile = asyncio.create_task(publish_in_background(bot, svc, me.id, first_poll), name="profile")

        async def stop_profile() -> None:
            if not profile.done():
                try:
                    await asyncio.wait_for(profile, SHUTDOWN_GRACE_SECONDS)
                except TimeoutError:
                    log.warning("publishing the profile did not finish in time")

        dp.shutdown.register(stop_profile)
        # Imported only when serving HTTP (aiohttp's server, aiogram's webhook handler): a polling bot
        # without /metrics starts without them.
        if config.webhook.url:
            from bot import web
            # Telegram posts to BOT_WEBHOOK_URL; SIGTERM finishes the updates in flight (bot.web).
            await web.run_webhook(bot, dp, svc, config)
            return
        # Polling and a webhook exclude each other: drop one left by a webhook deploy
        # (Telegram would refuse getUpdates). Pending updates stay.
        await bot.delete_webhook(drop_pending_updates=False)
        side = None
        if config.metrics.port:
            from bot import web
            side = await web.start_site(web.web_app(svc), config.metrics.host, config.metrics.port)
        try:
            # aiogram stops polling on SIGTERM/SIGINT and waits for running handlers.
            await dp.start_polling(bot, polling_timeout=config.bot.polling_timeout,
                                   handle_signals=True, close_bot_session=True)
        finally:
            if side is not None:
                await side.cleanup()
        if watch.tripped:
            raise AnotherInstance("another instance of the bot is polling with this token "
                                  "(Telegram answered 409 Conflict): stop it, or use another token")
    finally:
        if replays:  # queued behind a buyer's lock, they aren't in flight yet: let them finish
            await asyncio.wait(replays, timeout=SHUTDOWN_GRACE_SECONDS)
        if profile is not None and not profile.done():
            profile.cancel()
            with suppress(asyncio.CancelledError):
                await profile
        await bot.session.close()
        await store.close()
        if started:
            log.info("stopped")
