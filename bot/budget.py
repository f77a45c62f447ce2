"""One budget for every message the bot sends: replies first, reminders with what is left.

Telegram allows about 30 messages/s per bot and about 1 message/s per chat (short bursts
are fine); past that it answers 429 with a ``retry_after`` and holds the whole bot. Every
send and edit goes through ``SendBudget``, an aiogram request middleware:

- a shared token bucket (``per_second``, a burst of ``burst``) that serves waiting replies
  before waiting background sends (reminders, marked with ``background()``): a reply
  waits only for other replies, never behind queued reminders;
- a per-chat bucket (``chat_per_second``, a burst of ``chat_burst``): one screen of a few
  messages goes at once, a longer run at the chat's pace;
- a 429 pauses every send to that chat until its ``retry_after`` (the budget keeps the
  bot under the global limit, so a 429 is a chat's; other buyers are not held up). A reply
  waits for that and is tried once more when the wait is at most ``reply_max_wait``
  seconds; a longer pause gives the reply up at once, and the replies to that chat queued
  with it (the error reaches the handler: everything was committed before, and the
  buyer's next message re-asks the step). Background sends are never retried here: the
  reminder sender has its own backoff (it also holds every reminder on a 429).
- with several workers (``shared``, PostgreSQL), a send also takes the chat's slot, then the
  bot's, from the database (Storage.reserve_send: taken only when free at that moment, else
  waited for and asked again) as its turn here comes: the limits are the bot's, whatever the
  number of workers. Replies go before reminders across workers too: a reminder takes
  the bot's slot only while no worker's replies are spending the burst.
- a reply that fails with a 5xx or a network error is sent once more after
  ``reply_retry_delay`` seconds: the answer before it is committed, and without the
  retry the next question would never arrive (a duplicate is better than silence).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import EditMessageText, SendChatAction

log = logging.getLogger(__name__)

# The chat's send slot (the whole bot's for None), shared by every worker, for a background send or
# not: 0 when taken now, else the seconds until it frees.
SharedSlot = Callable[[int | None, bool], Awaitable[float]]
_background: ContextVar[bool] = ContextVar("background_send", default=False)
# Asked right before a background send's request goes, after every wait for its turn: still ours?
_still_ours: ContextVar[Callable[[], Awaitable[bool]] | None] = ContextVar("still_ours", default=None)


# Set while a cosmetic call runs (bot.cosmetic): its edit gives way to the reply it accompanies.
cosmetic_call: ContextVar[bool] = ContextVar("cosmetic_call", default=False)


class NoSpareSlot(Exception):
    """A cosmetic edit not made now: its chat has no token to spare beside the reply it accompanies.
    bot.cosmetic makes it again after ``wait`` seconds, outside the update."""

    def __init__(self, wait: float, bot, method) -> None:
        super().__init__(f"no spare slot in the chat for {type(method).__name__}, {wait:.2f} s")
        self.wait, self.bot, self.method = wait, bot, method


class ClaimLost(Exception):
    """A background send not made: what it was for was taken by another worker while it waited its turn."""


@contextmanager
def background(still_ours: Callable[[], Awaitable[bool]] | None = None) -> Iterator[None]:
    """Sends made inside are served only when no reply is waiting (reminders). ``still_ours`` is
    awaited once the send's turn has come, right before its request: False gives it up (ClaimLost).
    A reminder's claim is checked there, not before the wait, since a wait behind replies can
    outlast the claim's lease (bot.reminders)."""
    token, check = _background.set(True), _still_ours.set(still_ours)
    try:
        yield
    finally:
        _background.reset(token)
        _still_ours.reset(check)


def counted(method: object) -> bool:
    """Calls that put or change a message in a chat: what Telegram's flood limits count."""
    name = type(method).__name__
    return name.startswith(("Send", "Edit", "Copy", "Forward")) and not isinstance(method, SendChatAction)


class SendBudget(BaseRequestMiddleware):
    def __init__(self, *, per_second: float = 25, burst: int = 5, chat_per_second: float = 1,
                 chat_burst: int = 4, reply_max_wait: float = 5, reply_retry_delay: float = 0.5,
                 clock: Callable[[], float] = time.monotonic, shared: SharedSlot | None = None) -> None:
        self.per_second, self.burst = per_second, burst
        self.shared = shared
        self.chat_per_second, self.chat_burst = chat_per_second, chat_burst
        self.reply_max_wait = reply_max_wait
        self.reply_retry_delay = reply_retry_delay
        self.clock = clock
        self._tokens, self._filled_at = float(burst), clock()
        self._waiting: tuple[deque[asyncio.Future], deque[asyncio.Future]] = (deque(), deque())  # replies, background
        self._pump: asyncio.Task | None = None
        self._paused_until: dict[int | str | None, float] = {}  # chat -> end of its 429 pause
        self._chats: dict[int | str, tuple[float, float]] = {}  # chat -> (tokens, at)
        self._swept_at = clock()

    # ------------------------------------------------------------------ the middleware
    async def __call__(self, make_request, bot, method):
        if not counted(method):
            return await make_request(bot, method)
        is_background = _background.get()
        # Edits count against a chat's limit as sends do (Telegram's maintainers: "limits for message
        # editing and sending are shared"; docs/rules.md). The edit that marks a question answered is cosmetic and goes
        # beside the next question (bot.cosmetic): it takes a token of its chat only when two are left for
        # that answer, else it is made later, outside the update (NoSpareSlot). Paced in line, it would
        # take the question's slot: from the fifth tap in a row the question would wait a second for it.
        # answerCallbackQuery is no message at all (``counted`` leaves it out entirely).
        chat = getattr(method, "chat_id", None)
        paced = chat
        if chat is not None and isinstance(method, EditMessageText) and cosmetic_call.get():
            wait = self._spare_chat(chat)
            if wait == 0 and self.shared is not None:  # the chat's slot among every worker's sends, spared too
                wait = await self.shared(chat, True)
            if wait > 0:
                raise NoSpareSlot(wait, bot, method)
            paced = None  # its chat's token is taken
        retried = False
        while True:
            await self._wait_turn(method, chat, is_background, paced)
            if is_background and (still_ours := _still_ours.get()) is not None and not await still_ours():
                raise ClaimLost(type(method).__name__)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as e:
                # Everything for this chat waits, not only this call.
                self._pause(chat, e.retry_after)
                if is_background or retried or e.retry_after > self.reply_max_wait:
                    log.warning("429 on %s (retry after %s s): given up", type(method).__name__, e.retry_after)
                    raise
                log.warning("429 on %s: retrying once after %s s", type(method).__name__, e.retry_after)
                retried = True
            except (TelegramServerError, TelegramNetworkError) as e:
                if is_background or retried:
                    raise
                log.warning("%s on %s: retrying once after %s s", type(e).__name__, type(method).__name__,
                            self.reply_retry_delay)
                retried = True
                await asyncio.sleep(self.reply_retry_delay)

    async def _wait_turn(self, method, chat, is_background: bool, paced=None) -> None:
        await self._wait_pause(method, chat, is_background)
        if paced is not None:
            wait = self._reserve_chat(paced)
            if wait > 0:
                await asyncio.sleep(wait)
            await self._shared_slot(paced, is_background)  # the chat's slot among every worker's sends
        await self._take(is_background)
        await self._shared_slot(None, is_background)  # the bot's slot among every worker's sends
        # A 429 may have come for this chat while this call waited its turn.
        await self._wait_pause(method, chat, is_background)

    async def _shared_slot(self, chat, is_background: bool) -> None:
        if self.shared is not None:
            while (wait := await self.shared(chat, is_background)) > 0:
                await asyncio.sleep(wait)

    async def _wait_pause(self, method, chat, is_background: bool) -> None:
        while (left := self._paused_until.get(chat, float("-inf")) - self.clock()) > 0:
            if not is_background and left > self.reply_max_wait:
                raise TelegramRetryAfter(method=method, message="Flood control: this chat's sends are paused",
                                         retry_after=int(left) + 1)
            await asyncio.sleep(left)

    def _pause(self, chat, seconds: float) -> None:
        now = self.clock()
        self._paused_until[chat] = max(self._paused_until.get(chat, now), now + seconds)
        if len(self._paused_until) > 1000:  # forget pauses that are over
            self._paused_until = {c: t for c, t in self._paused_until.items() if t > now}

    # ------------------------------------------------------------------ per chat
    def _spare_chat(self, chat) -> float:
        """For a cosmetic edit: takes a token of this chat if two stay for the reply (0), else how long
        until they would (nothing taken)."""
        now = self.clock()
        tokens, at = self._chats.get(chat, (float(self.chat_burst), now))
        tokens = min(float(self.chat_burst), tokens + (now - at) * self.chat_per_second)
        # Its own, and two for the reply it goes beside (the summary is two messages). A burst of 3 or
        # less keeps what it can: the edit goes when the bucket is full.
        need = min(3.0, float(self.chat_burst))
        if tokens < need:
            return (need - tokens) / self.chat_per_second
        self._chats[chat] = (tokens - 1, now)
        return 0.0

    def _reserve_chat(self, chat) -> float:
        """Takes this chat's next slot; how long to wait for it (a token bucket that may go
        into debt, so callers line up in order at the chat's pace)."""
        now = self.clock()
        tokens, at = self._chats.get(chat, (float(self.chat_burst), now))
        tokens = min(float(self.chat_burst), tokens + (now - at) * self.chat_per_second) - 1
        self._chats[chat] = (tokens, now)
        if now - self._swept_at >= self.chat_burst / self.chat_per_second:
            # Once per time a bucket takes to fill: forget chats whose bucket is full again (as good as
            # new), so only the last few seconds' chats are remembered, however many buyers came before.
            self._swept_at = now
            self._chats = {c: (t, a) for c, (t, a) in self._chats.items()
                           if t + (now - a) * self.chat_per_second < self.chat_burst}
        return -tokens / self.chat_per_second if tokens < 0 else 0.0

    # ------------------------------------------------------------------ shared, with priority
    def _refill(self, now: float) -> None:
        self._tokens = min(float(self.burst), self._tokens + (now - self._filled_at) * self.per_second)
        self._filled_at = now

    async def _take(self, is_background: bool) -> None:
        now = self.clock()
        self._refill(now)
        if not any(self._waiting) and self._tokens >= 1:
            self._tokens -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting[1 if is_background else 0].append(turn)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._serve())
        await turn

    async def _serve(self) -> None:
        """Hands out tokens as they come: every waiting reply before any background send."""
        replies, rest = self._waiting
        while replies or rest:
            now = self.clock()
            self._refill(now)
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.per_second)
                continue
            turn = (replies or rest).popleft()
            if not turn.done():  # a cancelled waiter gives its place up
                self._tokens -= 1
                turn.set_result(None)

    def waiting(self) -> tuple[int, int]:
        """Replies and background sends waiting for a token now."""
        return len(self._waiting[0]), len(self._waiting[1])
