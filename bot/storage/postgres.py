"""The PostgreSQL backend (asyncpg), chosen by ``DATABASE_URL=postgresql://…``: one database
shared by several worker processes.

What makes several workers safe, all in the database (no other server needed):
- an update is handled once: ``first_delivery``'s INSERT … ON CONFLICT is atomic;
- one buyer at a time: ``hold_user`` takes ``pg_advisory_lock(user id)`` on a connection of a
  pool of its own (the server drops it when a killed worker's connection ends);
- a reminder is claimed by one worker: ``FOR UPDATE SKIP LOCKED``;
- the send rate is the bot's, not each worker's: ``reserve_send`` (GCRA over the ``send_rate`` table).

The repositories' SQL is shared with SQLite; here its ``?`` placeholders become ``$1, $2 …``.
Statements run on a connection pool: a single statement is its own transaction, and
``_transaction`` holds one connection for BEGIN … COMMIT. Migrations run under an advisory
lock, so workers starting together apply each one once.
"""
from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache

import asyncpg

from bot.storage import Storage
from bot.storage.base import SendRate, StorageError, describe
from bot.storage.migrations import MIGRATIONS, postgres, statements
from bot.storage.records import Row, now

# pg_advisory_lock keys of this bot: fixed 64-bit numbers far above any Telegram user id (a buyer's
# id is the key of their own lock, hold_user).
MIGRATION_LOCK = 0x6469_7370_7574_6501
POLLING_LOCK = 0x6469_7370_7574_6502


async def take_polling_lock(database_url: str) -> asyncpg.Connection | None:
    """A connection holding "the polling instance" lock (dropped when it closes); None when another has it."""
    conn = await asyncpg.connect(database_url)
    if await conn.fetchval("SELECT pg_try_advisory_lock($1)", POLLING_LOCK):
        return conn
    await conn.close()
    return None


@lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """``?`` placeholders as asyncpg's ``$n`` (the shared SQL has no ``?`` inside literals)."""
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


def _rowcount(status: str) -> int:
    """asyncpg answers "UPDATE 3", "INSERT 0 1", "DELETE 0": the last number is the row count."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _Tx:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence = ()) -> int:
        return _rowcount(await self._conn.execute(numbered(sql), *params))

    async def fetch(self, sql: str, params: Sequence = ()) -> list[Row]:
        return list(await self._conn.fetch(numbered(sql), *params))

    async def executemany(self, sql: str, rows: list[tuple]) -> None:
        await self._conn.executemany(numbered(sql), rows)


# GCRA over send_rate, one statement: a key's ``tat`` is when its next send would be due at the
# steady rate ($2 seconds apart); a send may go up to $3 (the burst) before that. The slot is taken
# only when it is free now (0 comes back); otherwise nothing changes and the seconds until it frees
# come back (at least 1 ms: the row as this statement's snapshot saw it may be older than the one a
# concurrent worker just wrote), to try again then. Never reserving ahead keeps a worker that wakes late from sending
# a backlog of overdue slots at once.
RESERVE = ("WITH clock AS (SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 AS now), taken AS ("
           " INSERT INTO send_rate AS r (key, tat) SELECT $1::text, now + $2::float8 FROM clock"
           " ON CONFLICT (key) DO UPDATE SET tat = GREATEST(r.tat, EXCLUDED.tat - $2::float8) + $2::float8"
           " WHERE r.tat <= EXCLUDED.tat - $2::float8 + $3::float8 RETURNING 0::float8 AS wait)"
           " SELECT COALESCE((SELECT wait FROM taken), GREATEST(0.001,"
           " (SELECT tat - $3::float8 FROM send_rate WHERE key = $1::text) - (SELECT now FROM clock)))")


class PostgresStorage(Storage):
    CLAIM_SUFFIX = " FOR UPDATE SKIP LOCKED"
    RETURNING_SEES_INSERT = False
    SHARED = True

    def __init__(self, pool: asyncpg.Pool, locks: asyncpg.Pool, *, busy_timeout: float = 5.0) -> None:
        super().__init__(busy_timeout=busy_timeout)
        self.pool = pool
        # Buyers being handled hold a connection each (their advisory lock): a pool apart, so
        # they can never take every connection the handlers' statements need.
        self.locks = locks
        self._reserved = 0

    @classmethod
    async def open(cls, database_url: str, *, busy_timeout: float = 5.0,
                   pool_size: int = 10) -> "PostgresStorage":
        where = database_url.rpartition("@")[2]  # no password in the operator's message
        # A commit returns before its WAL record is flushed to disk (unless the URL says otherwise,
        # ?synchronous_commit=on): the durability SQLite's synchronous=NORMAL gives the embedded
        # default (a server crash may lose the last moments' commits, never corrupts), at a tenth of
        # the cost per write (one fsync per commit on this machine: 7.5 ms against 0.7).
        settings = {} if "synchronous_commit=" in database_url else {"synchronous_commit": "off"}
        pools: list[asyncpg.Pool] = []
        try:
            for size in (pool_size, pool_size * 2):
                pools.append(await asyncpg.create_pool(database_url, min_size=1, max_size=size,
                                                       command_timeout=max(busy_timeout * 6, 30),
                                                       server_settings=settings))
            storage = cls(*pools, busy_timeout=busy_timeout)
            await storage._migrate()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            for pool in pools:
                await pool.close()
            raise StorageError(f"can't use the database at {where}: {describe(e)}") from None
        return storage

    async def close(self) -> None:
        await self.locks.close()
        await self.pool.close()

    @asynccontextmanager
    async def hold_user(self, user_id: int) -> AsyncIterator[None]:
        async with self.locks.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", user_id)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", user_id)

    async def reserve_send(self, chat_id: int | None, rate: SendRate, *, background: bool = False) -> float:
        if chat_id is None:
            # A reminder gets the bot's slot only with no burst in use (no tolerance): while any worker's
            # replies are spending the burst, they go first.
            gap, burst, key = 1.0 / rate.per_second, 1 if background else rate.burst, "*"
        else:
            # A reminder, or a cosmetic edit, leaves the chat's last token to the replies.
            gap, key = 1.0 / rate.chat_per_second, str(chat_id)
            burst = max(1, rate.chat_burst - 1) if background else rate.chat_burst
        wait = await self.pool.fetchval(RESERVE, key, gap, (burst - 1) * gap)
        self._reserved += 1
        if self._reserved % 1000 == 0:  # chats idle for a minute have a full burst again: forget them
            await self.pool.execute("DELETE FROM send_rate WHERE key <> '*'"
                                    " AND tat < EXTRACT(EPOCH FROM clock_timestamp()) - 60")
        return max(0.0, wait)

    async def _migrate(self) -> None:
        async with self.pool.acquire() as conn:
            # Workers starting together: one applies, the others wait and then find nothing to do.
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations"
                                   " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
                current = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                for number, script in enumerate(MIGRATIONS, start=1):
                    if number <= current:
                        continue
                    async with conn.transaction():  # a crash leaves the schema as it was
                        for statement in statements(postgres(script)):
                            await conn.execute(statement)
                        await conn.execute("INSERT INTO schema_migrations VALUES ($1, $2)", number, now())
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_Tx]:
        await self._refuse_while_unavailable()
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                yield _Tx(conn)
        except BaseException as e:
            self._failed(e)
            raise

    async def _write(self, sql: str, params: Sequence = ()) -> int:
        await self._refuse_while_unavailable()
        try:
            return _rowcount(await self.pool.execute(numbered(sql), *params))
        except Exception as e:
            self._failed(e)
            raise

    async def _write_returning(self, sql: str, params: Sequence = ()) -> list[Row]:
        await self._refuse_while_unavailable()
        try:
            return list(await self.pool.fetch(numbered(sql), *params))
        except Exception as e:
            self._failed(e)
            raise

    async def _read(self, sql: str, params: Sequence = ()) -> list[Row]:
        return list(await self.pool.fetch(numbered(sql), *params))


