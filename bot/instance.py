"""One bot per token: a second instance stops at once instead of doubling every reply.

Two guards. Instances sharing a database file: an exclusive lock on
``<database>.lock``, which the kernel releases when the process dies (SIGKILL
included), so a restart never finds a stale lock. Polling instances sharing a
PostgreSQL database: an advisory lock held by a connection of their own, which the
server releases when that connection ends (webhook workers share one database and take
no such lock: that is what several workers are for). Instances anywhere else with
the same token: Telegram answers 409 Conflict to a getUpdates that another
getUpdates interrupted; ``ConflictWatch`` stops polling on it.
"""
from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramConflictError
from aiogram.methods import GetUpdates

from bot.config import FatalError

log = logging.getLogger(__name__)


class AnotherInstance(FatalError):
    """Another process already runs this bot."""


class InstanceLock:
    """Held for the life of the process; ``acquire`` raises AnotherInstance when taken."""

    def __init__(self, database_path: Path) -> None:
        self.path = database_path.with_name(database_path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise AnotherInstance(f"another instance of the bot (pid {holder}) is running with the database "
                                  f"next to {self.path}: stop it first") from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


class ConflictWatch(BaseRequestMiddleware):
    """Turns getUpdates' 409 Conflict into a stop.

    Telegram sends 409 to the getUpdates that a newer one interrupted, so both
    instances see them, alternately. An instance still in its first ``young``
    seconds (the newcomer, as a rule) stops at its first conflict; one that has
    run longer waits for ``patience`` conflicts within ``window`` seconds, so it
    outlives a newcomer that stops at once. Until then, a conflict is an empty
    batch of updates (aiogram would log each one and retry forever).
    """

    def __init__(self, on_conflict: Callable[[], None], *, young: float = 60.0, patience: int = 3,
                 window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.on_conflict, self.young, self.patience, self.window, self.clock = (
            on_conflict, young, patience, window, clock)
        self.started = clock()
        self.conflicts: list[float] = []
        self.tripped = False

    async def __call__(self, make_request, bot, method):
        if not isinstance(method, GetUpdates):
            return await make_request(bot, method)
        if self.tripped:
            # Stopping: another getUpdates now would end the other instance's, and it
            # would stop too. Polling is cancelled while this waits.
            await asyncio.sleep(3600)
            return []
        try:
            return await make_request(bot, method)
        except TelegramConflictError:
            now = self.clock()
            self.conflicts = [t for t in self.conflicts if t > now - self.window] + [now]
            limit = 1 if now - self.started < self.young else self.patience
            log.warning("getUpdates conflict (409): another instance polls with this token (%d/%d)",
                        len(self.conflicts), limit)
            if len(self.conflicts) >= limit and not self.tripped:
                self.tripped = True
                self.on_conflict()
            return []


class PostgresInstanceLock:
    """One polling process per PostgreSQL database; ``acquire`` raises AnotherInstance when taken."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._conn = None

    async def acquire(self) -> None:
        from bot.storage.postgres import take_polling_lock

        self._conn = await take_polling_lock(self.database_url)
        if self._conn is None:
            raise AnotherInstance("another instance of the bot is polling with this PostgreSQL database: "
                                  "stop it first (several processes need webhook mode, BOT_WEBHOOK_URL)")

    async def release(self) -> None:
        if self._conn is not None:
            await self._conn.close()  # closing drops the lock
            self._conn = None
