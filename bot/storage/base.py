"""What every backend provides to the repositories (users.py, disputes.py, …): a handful of ways
to run a statement, written once per backend (sqlite.py, postgres.py). The repositories write
their SQL once, with ``?`` placeholders, in the dialect both databases share."""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from bot.config import FatalError
from bot.storage.records import Row

log = logging.getLogger("bot.storage")

# SQLite results that mean "the database can't take writes right now" (locked by
# another program, disk full, I/O error, read-only): the buyer is told their input
# was not saved, and reads go on.
UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY",
               "SQLITE_CANTOPEN", "SQLITE_PROTOCOL")
# asyncpg's counterparts: the server gone or refusing (connection, shutdown, read-only, disk full).
PG_UNAVAILABLE = ("PostgresConnectionError", "ConnectionDoesNotExistError", "OperatorInterventionError",
                  "InsufficientResourcesError", "ReadOnlySQLTransactionError", "LockNotAvailableError")


class StorageError(FatalError):
    """The database can't be opened at start; worded for the operator."""


class Unavailable(Exception):
    """A write refused at once: the previous one found the database locked or full moments ago."""


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database can't store anything right now."""
    if isinstance(error, (Unavailable, ConnectionError)):
        return True
    if type(error).__module__.startswith("asyncpg"):
        return any(c.__name__ in PG_UNAVAILABLE for c in type(error).__mro__)
    name = getattr(error, "sqlite_errorname", "") or ""
    return isinstance(error, sqlite3.Error) and name.startswith(UNAVAILABLE)


def describe(error: BaseException) -> str:
    """A database error in a few words: "database is locked", "disk I/O error"."""
    return str(error) or type(error).__name__


@dataclass(frozen=True)
class SendRate:
    """Telegram's flood limits as configured ([sending]): the whole bot's and one chat's."""
    per_second: float
    burst: int
    chat_per_second: float
    chat_burst: int


class Transaction(Protocol):
    """Statements inside one write transaction (``Database._transaction``)."""

    async def execute(self, sql: str, params: Sequence = ()) -> int:
        """Runs one statement; how many rows it changed."""

    async def fetch(self, sql: str, params: Sequence = ()) -> list[Row]: ...

    async def executemany(self, sql: str, rows: list[tuple]) -> None: ...


class Database:
    """The statement runners a backend implements, and the "unavailable" window both share."""

    # Dialect facts the shared SQL needs. A reminder claim's subquery suffix: PostgreSQL workers skip
    # the rows another worker is claiming right now; SQLite has one writer at a time anyway.
    CLAIM_SUFFIX = ""
    # Whether a subquery in RETURNING sees the row just inserted (SQLite yes; PostgreSQL reads the
    # snapshot from before the statement).
    RETURNING_SEES_INSERT = True

    def __init__(self, *, busy_timeout: float = 5.0) -> None:
        # After a write found the database locked or full, writes fail without trying
        # for as long as one busy wait lasts, instead of queueing a busy wait each.
        self._busy_timeout = busy_timeout
        self._unavailable_until = float("-inf")

    async def _write(self, sql: str, params: Sequence = ()) -> int:
        """One write statement, atomic on its own; how many rows it changed."""
        raise NotImplementedError

    async def _write_returning(self, sql: str, params: Sequence = ()) -> list[Row]:
        """One write statement with RETURNING, atomic on its own: its rows."""
        raise NotImplementedError

    async def _read(self, sql: str, params: Sequence = ()) -> list[Row]:
        raise NotImplementedError

    def _transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """One write transaction: all or nothing."""
        raise NotImplementedError

    async def _after_forget(self) -> None:
        """After a buyer's rows were deleted: leave no readable copy behind (backend's own means)."""

    async def close(self) -> None:
        raise NotImplementedError

    # --- several workers on one database (PostgreSQL overrides; SQLite runs one process) ---------
    SHARED = False  # several processes may serve this database at once

    @asynccontextmanager
    async def hold_user(self, user_id: int) -> AsyncIterator[None]:
        """Held while one of the buyer's updates is handled, across every process on the database
        (within one process the dispatcher's own per-user lock already orders them)."""
        yield

    async def reserve_send(self, chat_id: int | None, rate: "SendRate", *, background: bool = False) -> float:
        """Takes the chat's send slot (the whole bot's when None), shared by every process, if it is
        free now: 0. Otherwise the seconds until it frees (then ask again). ``background`` (a
        reminder, or a cosmetic edit) takes the bot's slot only while no burst is being spent, and
        leaves the chat's last slot: replies, whichever worker sends them, go first. One process:
        its own budget (bot.budget) is the whole story."""
        return 0.0

    async def _read_one(self, sql: str, params: Sequence = ()) -> Row | None:
        rows = await self._read(sql, params)
        return rows[0] if rows else None

    async def _refuse_while_unavailable(self) -> None:
        """Within a busy timeout of a write that found the database locked or full, a
        write fails without trying, once that time is up: as late as a busy wait of
        its own would, but all of them together, not one busy wait after another
        (and a retry loop such as the reminder engine's can't spin)."""
        wait = self._unavailable_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
            raise Unavailable("the database could not take writes moments ago")

    def _failed(self, error: BaseException) -> None:
        if is_unavailable(error):
            self._unavailable_until = time.monotonic() + self._busy_timeout
            log.warning("database write failed: %s", describe(error))

    @property
    def writable(self) -> bool:
        """False just after a write found the database locked or full."""
        return time.monotonic() >= self._unavailable_until


