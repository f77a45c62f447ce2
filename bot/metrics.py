"""Operator metrics in Prometheus' text format (``/metrics``, bot/web.py).

One registry for the process (not prometheus_client's global one, which other libraries
may fill). Counters move as things happen; disputes by stage are counted by one
``COUNT ... GROUP BY state`` query at every scrape, so the number is never stale.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import Update
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               ProcessCollector, generate_latest)

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

UPDATES = Counter("bot_updates", "Updates handled, by type (message, callback_query, ...)", ["type"],
                  registry=REGISTRY)
UPDATE_ERRORS = Counter("bot_update_errors", "Updates whose handling raised an error, by type", ["type"],
                        registry=REGISTRY)
UPDATE_SECONDS = Histogram("bot_update_seconds", "Time to handle one update (middlewares and handler), by type",
                           ["type"], registry=REGISTRY,
                           buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
REMINDERS = Counter("bot_reminders", "Reminders by outcome: due (claimed for delivery), sent, failed (blocked or "
                    "rejected, never retried), retried (network, 5xx, 429, an error), deferred (the buyer's night), "
                    "skipped (stale or superseded), cancelled (no longer wanted)", ["outcome"], registry=REGISTRY)
TELEGRAM_429 = Counter("bot_telegram_429", "429 Too Many Requests answers from the Bot API, by method", ["method"],
                       registry=REGISTRY)
DISPUTES = Gauge("bot_disputes", "Disputes by stage (state), counted when scraped", ["state"], registry=REGISTRY)
DATABASE_UP = Gauge("bot_database_up", "1 when the last scrape could read the database, else 0", registry=REGISTRY)


def reminder(outcome: str, n: int = 1) -> None:
    REMINDERS.labels(outcome).inc(n)


class UpdateMetrics(BaseMiddleware):
    """An outer update middleware: counts each update by type, times it, counts errors."""

    async def __call__(self, handler: Callable[[Any, dict], Awaitable[Any]], event: Any, data: dict) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        start = time.perf_counter()
        try:
            return await handler(event, data)
        except Exception:
            UPDATE_ERRORS.labels(kind).inc()
            raise
        finally:
            UPDATES.labels(kind).inc()
            UPDATE_SECONDS.labels(kind).observe(time.perf_counter() - start)


class Count429(BaseRequestMiddleware):
    """A Bot API request middleware; registered last, it is the innermost, next to the
    network, and sees every real 429 (not the budget's own refusals)."""

    async def __call__(self, make_request, bot, method):
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter:
            TELEGRAM_429.labels(type(method).__name__).inc()
            raise


async def render(count_disputes: Callable[[], Awaitable[dict[str, int]]]) -> tuple[bytes, str]:
    """The exposition text, with disputes by stage counted now."""
    DISPUTES.clear()
    try:
        for state, n in (await count_disputes()).items():
            DISPUTES.labels(state).set(n)
        DATABASE_UP.set(1)
    except Exception as e:  # noqa: BLE001 - the other metrics are still worth a scrape
        log.warning("metrics: can't count disputes: %s", type(e).__name__)
        DATABASE_UP.set(0)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
