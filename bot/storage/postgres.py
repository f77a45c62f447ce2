"""The PostgreSQL backend (asyncpg), chosen by ``DATABASE_URL=postgresql://…``: one database
shared by several worker processes.

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
from bot.storage.base import StorageError, describe
from bot.storage.migrations import MIGRATIONS, postgres, statements
from bot.storage.records import Row, now

# pg_advisory_lock keys of this bot (any two fixed 64-bit numbers no other user of the database takes).
MIGRATION_LOCK = 0x6469_7370_7574_6501


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


class PostgresStorage(Storage):
    CLAIM_SUFFIX = " FOR UPDATE SKIP LOCKED"
    RETURNING_SEES_INSERT = False

    def __init__(self, pool: asyncpg.Pool, *, busy_timeout: float = 5.0) -> None:
        super().__init__(busy_timeout=busy_timeout)
        self.pool = pool

    @classmethod
    async def open(cls, database_url: str, *, busy_timeout: float = 5.0,
                   pool_size: int = 10) -> "PostgresStorage":
        where = database_url.rpartition("@")[2]  # no password in the operator's message
        try:
            pool = await asyncpg.create_pool(database_url, min_size=1, max_size=pool_size,
                                             command_timeout=max(busy_timeout * 6, 30))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            raise StorageError(f"can't use the database at {where}: {describe(e)}") from None
        storage = cls(pool, busy_timeout=busy_timeout)
        try:
            await storage._migrate()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            await pool.close()
            raise StorageError(f"can't use the database at {where}: {describe(e)}") from None
        return storage

    async def close(self) -> None:
        await self.pool.close()

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


