"""The SQLite backend (aiosqlite): the default, one file, no server.

Every ``await`` on aiosqlite is a round trip to its SQLite thread, so reads go through
execute_fetchall (one hop, not execute + fetch + close), and a single write statement runs
in autocommit mode (the connection has no implicit transactions), which makes it its own
transaction: no BEGIN/COMMIT hops. It still takes the lock, or it could land inside another
coroutine's open transaction.
"""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import urlparse

import aiosqlite

from bot.storage import Storage
from bot.storage.base import StorageError, describe
from bot.storage.migrations import MIGRATIONS, statements
from bot.storage.records import Row, now


def sqlite_path(database_url: str) -> Path:
    """``sqlite:///data/x.db`` is relative to the working directory, ``sqlite:////abs/x.db`` absolute."""
    parsed = urlparse(database_url)
    if parsed.scheme != "sqlite" or not parsed.path:
        raise ValueError("DATABASE_URL must look like sqlite:///data/disputes.db or postgresql://…")
    return Path(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)


class _Tx:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, params: Sequence = ()) -> int:
        return (await self._db.execute(sql, params)).rowcount

    async def fetch(self, sql: str, params: Sequence = ()) -> list[Row]:
        return list(await self._db.execute_fetchall(sql, params))

    async def executemany(self, sql: str, rows: list[tuple]) -> None:
        await self._db.executemany(sql, rows)


class SQLiteStorage(Storage):
    def __init__(self, db: aiosqlite.Connection, reader: aiosqlite.Connection | None = None,
                 *, busy_timeout: float = 5.0) -> None:
        super().__init__(busy_timeout=busy_timeout)
        self._db = db
        # Reads go through their own read-only connection (its own thread): a write
        # waiting out another program's lock, or failing on a full disk, must not
        # hold up /disputes, /help or anyone's next question. WAL lets readers
        # run beside a writer.
        self._rdb = reader or db
        # One connection serves every user's handlers: without this lock one
        # coroutine's statements could land inside another's open transaction.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, database_url: str, *, busy_timeout: float = 5.0) -> "SQLiteStorage":
        path = sqlite_path(database_url)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(f"can't create the database directory {path.parent}: {e.strerror}") from None
        db = reader = None
        try:
            db = await _connect(path, isolation_level=None)  # explicit BEGIN/COMMIT below
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows are overwritten with zeros, not just unlinked: /forget must
            # leave no readable copy in the database file's free pages.
            await db.execute("PRAGMA secure_delete=ON")
            storage = cls(db, busy_timeout=busy_timeout)
            await storage._migrate()
            # A read-only file opens without complaint and migrates nothing when it is
            # up to date: one real write proves the bot can save answers.
            await db.execute("BEGIN IMMEDIATE")
            await db.execute("DELETE FROM processed_updates WHERE update_id < 0")
            await db.execute("COMMIT")
            reader = await _connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, isolation_level=None)
            reader.row_factory = aiosqlite.Row
            await reader.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            storage._rdb = reader
            return storage
        except (sqlite3.Error, OSError) as e:
            # Without closing, aiosqlite's thread keeps the process alive forever.
            for conn in (reader, db):
                if conn is not None:
                    try:
                        await conn.close()
                    except Exception:  # already broken: the thread is stopped anyway
                        pass
            raise StorageError(f"can't use the database {path}: {describe(e)}") from None

    async def close(self) -> None:
        if self._rdb is not self._db:
            await self._rdb.close()
        await self._db.close()

    async def _migrate(self) -> None:
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        async with self._db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") as cur:
            (current,) = await cur.fetchone()
        for number, script in enumerate(MIGRATIONS, start=1):
            if number <= current:
                continue
            # executescript would COMMIT on its own; run statement by statement
            # inside one transaction so a crash leaves the schema as it was.
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements(script):
                    await self._db.execute(statement)
                await self._db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (number, now()))
                await self._db.execute("COMMIT")
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_Tx]:
        await self._refuse_while_unavailable()
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                self._failed(e)
                raise
            try:
                yield _Tx(self._db)
                await self._db.execute("COMMIT")
            except BaseException as e:
                self._failed(e)
                # A full disk can end the transaction itself; ROLLBACK then has nothing to undo.
                with suppress(sqlite3.Error):
                    await self._db.execute("ROLLBACK")
                raise

    async def _write(self, sql: str, params: Sequence = ()) -> int:
        await self._refuse_while_unavailable()
        async with self._lock:
            try:
                return (await self._db.execute(sql, params)).rowcount
            except sqlite3.Error as e:
                self._failed(e)
                raise

    async def _write_returning(self, sql: str, params: Sequence = ()) -> list[Row]:
        # Fetched in the same hop, which also steps the statement to its end: the autocommit
        # transaction is over on return.
        await self._refuse_while_unavailable()
        async with self._lock:
            try:
                return list(await self._db.execute_fetchall(sql, params))
            except sqlite3.Error as e:
                self._failed(e)
                raise

    async def _read(self, sql: str, params: Sequence = ()) -> list[Row]:
        return list(await self._rdb.execute_fetchall(sql, params))

    async def _after_forget(self) -> None:
        # The WAL still holds the pages as they were before the delete; copy the
        # zeroed pages into the database and cut the WAL to zero bytes, so no
        # readable copy of the buyer's answers is left on disk.
        async with self._lock:
            await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def _connect(database: Path | str, **kwargs) -> aiosqlite.Connection:
    """aiosqlite.connect, but a failed open also waits for aiosqlite's thread to stop:
    otherwise it outlives the event loop and dies with a traceback on the way out."""
    conn = aiosqlite.connect(database, **kwargs)
    try:
        return await conn
    except BaseException:
        thread = getattr(conn, "_thread", None)
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, 5)
        raise
