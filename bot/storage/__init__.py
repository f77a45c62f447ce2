"""All persistence, behind one interface (``Storage``), on SQLite (the default, embedded) or
PostgreSQL (``DATABASE_URL=postgresql://…``, several workers on one database).

One repository per entity (users.py, disputes.py, reminders.py, evidence.py, updates.py,
operator.py) writes its SQL once; each backend (sqlite.py, postgres.py) runs it and the same
numbered migrations (migrations.py). Every query is scoped by the Telegram user id; nothing
outside this package writes SQL.
"""
from __future__ import annotations

from bot.storage.base import UNAVAILABLE, StorageError, Unavailable, is_unavailable
from bot.storage.migrations import MIGRATIONS
from bot.storage.operator import Operator
from bot.storage.records import ReminderRecord, UserRecord
from bot.storage.updates import Updates, handling_update

__all__ = ["MIGRATIONS", "UNAVAILABLE", "ReminderRecord", "Storage", "StorageError", "Unavailable", "UserRecord",
           "handling_update", "is_postgres", "is_unavailable", "sqlite_path"]


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgresql://", "postgres://"))


def sqlite_path(database_url: str):  # -> Path
    from bot.storage.sqlite import sqlite_path as path
    return path(database_url)


class Storage(Operator, Updates):
    """The storage interface every caller uses; ``open`` picks the backend by the URL's scheme."""

    @classmethod
    async def open(cls, database_url: str, *, busy_timeout: float = 5.0) -> "Storage":
        """Opens (creating if needed) and migrates the database; StorageError, with the
        connections closed again, when it can't be used."""
        if cls is Storage:
            if is_postgres(database_url):
                from bot.storage.postgres import PostgresStorage
                return await PostgresStorage.open(database_url, busy_timeout=busy_timeout)
            from bot.storage.sqlite import SQLiteStorage
            return await SQLiteStorage.open(database_url, busy_timeout=busy_timeout)
        raise NotImplementedError
