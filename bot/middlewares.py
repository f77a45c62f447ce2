"""Dispatcher-wide middlewares."""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import logging

from aiogram import BaseMiddleware
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, TelegramObject, Update

from bot.storage import handling_update, is_unavailable


class InFlight(BaseMiddleware):
    """Counts updates being handled, so shutdown can let them finish.

    aiogram cancels polling on SIGTERM but not the handler tasks it started;
    closing the database under them would lose an answer half-way.
    """

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False


# Whether the update being handled has committed what the buyer sent (an answer, a
# piece of evidence). The error handler reads it so it says "saved" only when true.
_committed: ContextVar[bool] = ContextVar("committed", default=False)


def mark_committed() -> None:
    """Called right after the buyer's answer or evidence is committed to the database."""
    _committed.set(True)


def committed() -> bool:
    return _committed.get()


class TrackCommit(BaseMiddleware):
    """Starts every update as "nothing committed yet" (see ``mark_committed``).

    Not reset on the way out: aiogram's error handler runs outside every middleware
    and must still see it. Each polled update runs in a task of its own anyway."""

    async def __call__(self, handler, event, data):
        _committed.set(False)
        return await handler(event, data)


def private_chat(update: Update) -> int | None:
    """The private chat an update speaks in (the one to re-ask after a crash), if any."""
    event = update.event
    message = event.message if isinstance(event, CallbackQuery) else event
    chat = getattr(message, "chat", None)
    return chat.id if chat is not None and chat.type == "private" else None


class OncePerUpdate(BaseMiddleware):
    """Handles each update_id once: Telegram redelivers after a crash or a slow answer.

    When the database can't record the id (locked by another program, disk full)
    the update is handled anyway: /disputes and /help only read, and a write the
    handler tries fails on its own and tells the buyer. Nor does it wait longer
    than ``patience`` seconds for the record: the write finishes in the background.
    """

    def __init__(self, store, *, patience: float = 1.0, received: dict[int, str] | None = None) -> None:
        self.store = store
        self.patience = patience
        # update id → the update as JSON, made by polling's RecordReceived when it stored the update on
        # receipt: taken from here instead of serializing the update a second time.
        self.received = received if received is not None else {}
        self._marking: set[asyncio.Future] = set()
        self._here: set[int] = set()  # updates this process handles, until their "done" mark is written

    async def __call__(self, handler, event, data):
        # A private chat's update stays "in flight" until its handling is over, with its payload: a
        # process killed meanwhile has Telegram's offset confirmed already, so after the restart
        # bot.resume replays it when its answer wasn't committed yet (the commit records it,
        # bot.storage.handling_update), and shows the chat its current question when it was.
        chat_id = private_chat(event)
        payload = self.received.pop(event.update_id, None)
        if payload is None and chat_id is not None:
            payload = event.model_dump_json(exclude_none=True)
        record = asyncio.ensure_future(self.store.first_delivery(event.update_id, chat_id=chat_id, payload=payload))
        try:
            first = await asyncio.wait_for(asyncio.shield(record), self.patience)
        except TimeoutError:
            record.add_done_callback(_quietly)
            first = True
        except Exception as e:  # noqa: BLE001
            if not is_unavailable(e):
                raise
            first = True
        if not first and not (self.store.SHARED and chat_id is not None and event.update_id not in self._here
                              and await self._take_over(event.update_id, data)):
            return None
        self._here.add(event.update_id)
        handling = handling_update.set(event.update_id)
        try:
            result = await handler(event, data)
        except asyncio.CancelledError:
            raise  # not over: still in flight for the next start
        except BaseException:
            await self._done(event.update_id, chat_id)
            raise
        finally:
            handling_update.reset(handling)
        await self._done(event.update_id, chat_id)
        return result

    async def _take_over(self, update_id: int, data: dict) -> bool:
        """Several workers (PostgreSQL): the update came again while still marked in flight. This
        worker holds the buyer (Storage.hold_user), so whoever started it is no longer handling it:
        its worker was killed before answering the webhook. As after a restart (bot.resume): True
        when its answer was never committed, so this worker handles it now; when it was, the buyer
        gets their current question again, once, and False."""
        from bot.resume import reask

        taken = await self.store.take_over(update_id)
        if taken is None:
            return False
        chat_id, answered = taken
        if answered:
            await reask(data["bot"], data["svc"], chat_id, saved=True)
        return not answered

    async def _done(self, update_id: int, chat_id: int | None) -> None:
        # In the background: the buyer's next update must not wait for it when the
        # database is locked. Should it never land, a restart re-shows the question.
        if chat_id is None:
            self._here.discard(update_id)
            return
        if self.store.SHARED:
            # Several workers (PostgreSQL: no file lock to wait out): before the webhook is answered,
            # so an update answered 200 is never left "in flight" by a worker killed just after.
            try:
                await self.store.update_done(update_id)
            except Exception as e:  # noqa: BLE001 - the answer went out; only the mark is missing
                logging.getLogger(__name__).warning("update not recorded as done: %s", e)
            self._here.discard(update_id)
            return
        task = asyncio.ensure_future(self.store.update_done(update_id))
        self._marking.add(task)
        task.add_done_callback(self._marking.discard)
        task.add_done_callback(lambda _: self._here.discard(update_id))
        task.add_done_callback(_quietly)

    async def drain(self, timeout: float) -> None:
        """Waits for the "done" marks still being written (at shutdown)."""
        if self._marking:
            await asyncio.wait(set(self._marking), timeout=timeout)


def _quietly(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger(__name__).warning("update not recorded (in flight or done): %s", task.exception())


class FloodControl(BaseMiddleware):
    """A user sending more than ``limit`` updates within ``window`` seconds gets one
    "slow down" and is ignored for ``cooldown`` seconds; other users are unaffected.
    ``exempt`` updates (evidence) are neither counted nor ignored, even during a cool-down.
    Kept in memory: a restart forgives, and only recent senders are remembered."""

    def __init__(self, limit: int, window: float, cooldown: float, warn, clock=None, exempt=None) -> None:
        self.limit, self.window, self.cooldown, self.warn = limit, window, cooldown, warn
        # Updates that are never counted nor dropped (evidence: forwarding a batch of the
        # seller's messages is what the bot asks for).
        self.exempt = exempt or (lambda event: False)
        self.clock = clock or asyncio.get_running_loop().time
        self._recent: dict[int, deque[float]] = {}
        self._muted_until: dict[int, float] = {}
        self._swept_at = float("-inf")

    async def __call__(self, handler, event, data):
        user = data.get("event_from_user")
        if user is None or self.exempt(event):
            return await handler(event, data)
        now = self.clock()
        if self._muted_until.get(user.id, 0) > now:
            return None
        times = self._recent.setdefault(user.id, deque())
        times.append(now)
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) > self.limit:
            self._muted_until[user.id] = now + self.cooldown
            times.clear()
            await self.warn(data, user.id)
            return None
        self._forget_idle(now)
        return await handler(event, data)

    def _forget_idle(self, now: float) -> None:
        # Bounded memory: once a window, drop users with nothing left in it and
        # mutes that ran out, so only the last window's senders are remembered.
        if now - self._swept_at < self.window:
            return
        self._swept_at = now
        for uid in [u for u, t in self._recent.items() if not t or t[-1] <= now - self.window]:
            del self._recent[uid]
        for uid in [u for u, until in self._muted_until.items() if until <= now]:
            del self._muted_until[uid]

    def remembered(self) -> int:
        """Users held in memory now (recent senders and mutes)."""
        return len(self._recent) + len(self._muted_until)


class SpinnerIsCosmetic(BaseRequestMiddleware):
    """answerCallbackQuery only stops the button's spinner: if it fails (5xx, network),
    the tap must still be applied, so the failure is logged and swallowed."""

    async def __call__(self, make_request, bot, method):
        if not isinstance(method, AnswerCallbackQuery):
            return await make_request(bot, method)
        try:
            return await make_request(bot, method)
        except (TelegramAPIError, TimeoutError) as e:
            logging.getLogger(__name__).warning("answerCallbackQuery failed: %s", type(e).__name__)
            return True
