"""One rate-limited, failure-classifying path for outgoing messages (used by the reminder engine).

Telegram allows roughly 30 messages/s per bot and about 1 message/s per chat; past that it
answers 429 and pauses the whole bot. We space sends so that does not happen, and turn
every failure into a ``DeliveryOutcome`` the caller can act on without knowing aiogram.
"""
from __future__ import annotations

import asyncio
import bisect
import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import (ClientDecodeError, TelegramAPIError, TelegramBadRequest,
                                TelegramEntityTooLarge, TelegramForbiddenError, TelegramRetryAfter)
from aiohttp import ClientError

from bot.budget import ClaimLost, background

log = logging.getLogger(__name__)


class DeliveryOutcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"    # 403 / chat not found / deactivated: never retry
    RETRY = "retry"        # network, 5xx, 429 after max attempts: try again later
    REJECTED = "rejected"  # other 400: the message itself is bad, never retry
    NOT_OURS = "not ours"  # not sent: still_ours() said another worker has it now (bot.budget.ClaimLost)


@dataclass
class DeliveryResult:
    outcome: DeliveryOutcome
    message_id: int | None = None
    retry_after: float | None = None
    error: str | None = None


class RateLimitedSender:
    def __init__(self, bot: Bot, *, global_per_second: float = 25, per_chat_per_second: float = 1,
                 max_429_retries: int = 3, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        # clock/sleep are injectable for tests; a fake `sleep` must advance the fake `clock`
        # past a 429 pause, or _wait_turn keeps queueing behind it.
        self._bot = bot
        self._global_gap = 1.0 / global_per_second
        self._chat_gap = 1.0 / per_chat_per_second
        self._max_429_retries = max_429_retries
        self._clock, self._sleep = clock, sleep
        self._lock = asyncio.Lock()
        # Start times already promised to callers, sorted. Kept as a list rather than a single
        # "next free" time so a caller waiting on a busy chat does not hold back later callers
        # for other chats: they can take the free global slots in between.
        self._slots: list[float] = []
        self._chat_next: dict[int, float] = {}  # earliest next start per chat
        self._swept_at = clock()
        self._paused_until = 0.0                # 429 flood control pauses the whole bot
        # Slots space the plan; this spaces what really happens: after the loop stalls,
        # several overdue slots must not fire at once and bunch up at Telegram.
        self._last_start = float("-inf")

    async def send_message(self, chat_id: int, text: str, *, still_ours: Callable[[], Awaitable[bool]] | None = None,
                           **kwargs: Any) -> DeliveryResult:
        """``still_ours``: asked right before each attempt's request (bot.budget.background)."""
        return await self._deliver(chat_id, lambda: self._bot.send_message(chat_id, text, **kwargs), still_ours)

    async def send_document(self, chat_id: int, document: Any, **kwargs: Any) -> DeliveryResult:
        return await self._deliver(
            chat_id, lambda: self._bot.send_document(chat_id, document, **kwargs))

    # ------------------------------------------------------------------ scheduling
    def _reserve(self, chat_id: int, now: float) -> float:
        """Earliest start >= now that respects the pause, the chat gap and the global gap."""
        t = max(now, self._paused_until, self._chat_next.get(chat_id, now))
        gap = self._global_gap
        del self._slots[:bisect.bisect_left(self._slots, now - gap)]  # can no longer collide
        for s in self._slots:  # sorted: slide t past every slot closer than `gap`
            if t + gap <= s:
                break
            if s + gap > t:
                t = s + gap
        bisect.insort(self._slots, t)
        self._chat_next[chat_id] = t + self._chat_gap
        if now - self._swept_at >= self._chat_gap:  # once per gap: forget chats free again (none kept per buyer)
            self._swept_at = now
            self._chat_next = {c: n for c, n in self._chat_next.items() if n > now}
        return t

    async def _wait_turn(self, chat_id: int) -> None:
        async with self._lock:
            now = self._clock()
            start = self._reserve(chat_id, now)
        if start > now:
            await self._sleep(start - now)
        # The slot was planned; now make it real. A 429 seen by someone else while we slept
        # pauses us too, and after the loop stalled, several overdue slots must not fire at
        # once and bunch up at Telegram: real starts stay a global gap apart.
        while True:
            async with self._lock:
                now = self._clock()
                ready_at = max(self._paused_until, self._last_start + self._global_gap)
                if now >= ready_at:
                    self._last_start = now
                    return
            await self._sleep(ready_at - now)

    # ------------------------------------------------------------------ delivery
    async def _deliver(self, chat_id: int, call: Callable[[], Awaitable[Any]],
                       still_ours: Callable[[], Awaitable[bool]] | None = None) -> DeliveryResult:
        retries = 0
        while True:
            await self._wait_turn(chat_id)
            try:
                with background(still_ours):  # replies to buyers go first (bot.budget)
                    message = await call()
            except ClaimLost:
                return DeliveryResult(DeliveryOutcome.NOT_OURS)
            except TelegramRetryAfter as e:
                # Flood control is per bot: hold every send, not only this chat's.
                self._paused_until = max(self._paused_until, self._clock() + e.retry_after)
                if retries >= self._max_429_retries:
                    return self._fail(DeliveryOutcome.RETRY, chat_id, e, retry_after=e.retry_after)
                retries += 1
                log.warning("429 for chat %s, pausing all sends for %s s", chat_id, e.retry_after)
                continue
            # Anything else (e.g. a pydantic error for a bad kwarg) is our bug: let it raise.
            except (TelegramAPIError, ClientDecodeError, asyncio.TimeoutError, ClientError) as e:
                return self._fail(self._classify(e), chat_id, e)
            return DeliveryResult(DeliveryOutcome.SENT, message_id=message.message_id)

    @staticmethod
    def _classify(e: Exception) -> DeliveryOutcome:
        if isinstance(e, TelegramForbiddenError):
            return DeliveryOutcome.BLOCKED
        if isinstance(e, TelegramAPIError) and "chat not found" in e.message.lower():
            return DeliveryOutcome.BLOCKED
        # EntityTooLarge subclasses TelegramNetworkError, but resending the same file won't help.
        if isinstance(e, (TelegramBadRequest, TelegramEntityTooLarge)):
            return DeliveryOutcome.REJECTED
        # Network errors, 5xx and timeouts are transient. Anything else (401, 409, an
        # undecodable reply...) is not the message's or the user's fault, so keep the message.
        return DeliveryOutcome.RETRY

    def _fail(self, outcome: DeliveryOutcome, chat_id: int, e: Exception,
              retry_after: float | None = None) -> DeliveryResult:
        detail = getattr(e, "message", None) or str(e)
        # aiohttp errors may quote the request URL, which contains the token.
        token = self._bot.token
        for secret in (token, token.partition(":")[2]):
            if secret:
                detail = detail.replace(secret, "<token>")
        error = f"{type(e).__name__}: {detail}"
        log.info("delivery to chat %s: %s (%s)", chat_id, outcome, error)
        return DeliveryResult(outcome, retry_after=retry_after, error=error)
