"""All persistence, behind one class: SQLite through aiosqlite.

Every query is scoped by the Telegram user id. A PostgreSQL backend can
implement the same methods later; nothing outside this module writes SQL.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import aiosqlite

from bot.config import FatalError
from bot.users import user_changed
from flows.dispute import Dispute
from flows.evidence import EvidenceItem, EvidenceKind
from flows.reminders import PlannedReminder
from flows.steps import FACTS

# Numbered migrations; each runs once, in its own transaction, in order.
MIGRATIONS: list[str] = [
    # 1: users, disputes, evidence
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        locale TEXT,
        focused_dispute_id INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE disputes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        state TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 0,
        reason TEXT, received INTEGER, defect TEXT, solution TEXT,
        order_number TEXT, order_total TEXT, currency TEXT,
        shipped_on TEXT, protection_ends_on TEXT,
        amount TEXT, refund_full INTEGER NOT NULL DEFAULT 0,
        evidence_done INTEGER NOT NULL DEFAULT 0,
        unknown TEXT NOT NULL DEFAULT '[]',
        editing INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX disputes_by_user ON disputes(user_id, id);
    CREATE TABLE evidence (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dispute_id INTEGER NOT NULL REFERENCES disputes(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        file_id TEXT, file_unique_id TEXT, file_name TEXT, mime_type TEXT, file_size INTEGER,
        media_group_id TEXT, text TEXT, origin_name TEXT, origin_date TEXT,
        flags TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL
    );
    CREATE INDEX evidence_by_dispute ON evidence(dispute_id, id);
    """,
    # 2: the lifecycle after opening, the user's time zone, the reminder outbox
    """
    ALTER TABLE disputes ADD COLUMN opened_at TEXT;
    ALTER TABLE disputes ADD COLUMN window_started_at TEXT;
    ALTER TABLE disputes ADD COLUMN decision TEXT;
    ALTER TABLE disputes ADD COLUMN decided_at TEXT;
    ALTER TABLE disputes ADD COLUMN return_agreed_at TEXT;
    ALTER TABLE disputes ADD COLUMN refund_started_at TEXT;
    ALTER TABLE disputes ADD COLUMN reminders_off INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN timezone TEXT;
    CREATE TABLE reminders (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dispute_id INTEGER NOT NULL REFERENCES disputes(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        due_at TEXT NOT NULL,
        deadline_at TEXT NOT NULL,
        for_state TEXT NOT NULL,
        snoozed INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'pending',
        next_attempt_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        sent_at TEXT,
        error TEXT,
        UNIQUE (dispute_id, kind, due_at)
    );
    CREATE INDEX reminders_next ON reminders(next_attempt_at) WHERE status = 'pending';
    CREATE INDEX reminders_by_dispute ON reminders(dispute_id, status);
    """,
    # 3: updates already handled (Telegram may deliver one twice)
    """
    CREATE TABLE processed_updates (update_id INTEGER PRIMARY KEY, at TEXT NOT NULL);
    """,
    # 4: the lifecycle's history (the seller's answer, escalation, a return shipped back); disputes
    # numbered per buyer
    """
    ALTER TABLE disputes ADD COLUMN returned_at TEXT;
    ALTER TABLE disputes ADD COLUMN seller_answer TEXT;
    ALTER TABLE disputes ADD COLUMN seller_answered_at TEXT;
    ALTER TABLE disputes ADD COLUMN escalated_at TEXT;
    ALTER TABLE disputes ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
    UPDATE disputes SET number = (SELECT COUNT(*) FROM disputes AS older
                                  WHERE older.user_id = disputes.user_id AND older.id <= disputes.id);
    """,
    # 5: updates still being handled (done = 0), and their chat: after a crash, those
    # chats get their current question again
    """
    ALTER TABLE processed_updates ADD COLUMN chat_id INTEGER;
    ALTER TABLE processed_updates ADD COLUMN done INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX processed_updates_in_flight ON processed_updates(update_id) WHERE done = 0;
    """,
    # 6: the intake facts of the step table (flows/steps.py FACTS) as one JSON object, the currency a buyer
    # paid in (asked once), what a piece of evidence shows (its checklist item)
    """
    ALTER TABLE disputes ADD COLUMN facts TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE disputes ADD COLUMN tracking TEXT;
    ALTER TABLE users ADD COLUMN currency TEXT;
    ALTER TABLE evidence ADD COLUMN label TEXT;
    """,
    # 7: small facts the bot remembers between starts (the hash of the profile it published)
    """
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 8: updates stored as polling receives them, before the next poll confirms them to Telegram:
    # one never handled (claimed = 0) is replayed from its payload at the next start
    """
    ALTER TABLE processed_updates ADD COLUMN claimed INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE processed_updates ADD COLUMN payload TEXT;
    """,
    # 9: the chat message that asked the dispute's current question (a typed answer older than it
    # doesn't answer it)
    """
    ALTER TABLE disputes ADD COLUMN asked_message_id INTEGER;
    """,
]

# processed_updates.claimed: what became of an update, so a restart knows what to do with it
# (bot.resume): RECEIVED (stored by polling, never started: replayed), HANDLING (started, nothing
# of the buyer's committed yet: replayed from its payload), ANSWERED (the buyer's answer or
# evidence committed; the reply may not have gone: their current question is shown again).
RECEIVED, HANDLING, ANSWERED = 0, 1, 2

# The update being handled (bot.middlewares.OncePerUpdate sets it): the transaction that commits
# the buyer's answer or evidence records that update as ANSWERED in the same commit, so a crash
# can never leave an answer both stored and replayed, nor lost and marked handled.
handling_update: ContextVar[int | None] = ContextVar("handling_update", default=None)

_ANSWER_COLUMNS = ("state", "version", "reason", "received", "defect", "solution", "order_number",
                   "order_total", "currency", "shipped_on", "protection_ends_on", "amount",
                   "refund_full", "evidence_done", "unknown", "editing", "opened_at", "window_started_at",
                   "decision", "decided_at", "return_agreed_at", "returned_at", "refund_started_at",
                   "seller_answer", "seller_answered_at", "escalated_at", "reminders_off", "tracking", "facts")
# A user's row when missing; DO NOTHING: an existing (or meanwhile created) user keeps its locale.
_NEW_USER = ("INSERT INTO users (id, locale, created_at, updated_at) VALUES (?, ?, ?, ?)"
             " ON CONFLICT (id) DO NOTHING")
_MOMENTS = ("opened_at", "window_started_at", "decided_at", "return_agreed_at", "returned_at", "refund_started_at",
            "seller_answered_at", "escalated_at")


@dataclass(frozen=True)
class UserRecord:
    id: int
    locale: str | None
    focused_dispute_id: int | None
    timezone: str | None = None


@dataclass(frozen=True)
class ReminderRecord:
    id: int
    dispute_id: int
    user_id: int
    kind: str
    due_at: datetime
    deadline_at: datetime
    for_state: str
    snoozed: bool
    status: str
    attempts: int


log = logging.getLogger(__name__)

# SQLite results that mean "the database can't take writes right now" (locked by
# another program, disk full, I/O error, read-only): the buyer is told their input
# was not saved, and reads go on.
UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY",
               "SQLITE_CANTOPEN", "SQLITE_PROTOCOL")


class StorageError(FatalError):
    """The database can't be opened at start; worded for the operator."""


class Unavailable(Exception):
    """A write refused at once: the previous one found the database locked or full moments ago."""


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database can't store anything right now."""
    if isinstance(error, Unavailable):
        return True
    name = getattr(error, "sqlite_errorname", "") or ""
    return isinstance(error, sqlite3.Error) and name.startswith(UNAVAILABLE)


def sqlite_path(database_url: str) -> Path:
    """``sqlite:///data/x.db`` is relative to the working directory, ``sqlite:////abs/x.db`` absolute."""
    parsed = urlparse(database_url)
    if parsed.scheme != "sqlite" or not parsed.path:
        raise ValueError("DATABASE_URL must look like sqlite:///data/disputes.db")
    return Path(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)


def _now() -> str:
    return _moment(datetime.now(timezone.utc))


def _moment(value: datetime) -> str:
    """UTC, fixed width: these strings sort like the moments they stand for."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _from_moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: date | Decimal | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return _moment(value)
    return value.isoformat() if isinstance(value, date) else str(value)


class Storage:
    def __init__(self, db: aiosqlite.Connection, reader: aiosqlite.Connection | None = None,
                 *, busy_timeout: float = 5.0) -> None:
        self._db = db
        # Reads go through their own read-only connection (its own thread): a write
        # waiting out another program's lock, or failing on a full disk, must not
        # hold up /disputes, /help or anyone's next question. WAL lets readers
        # run beside a writer.
        self._rdb = reader or db
        # One connection serves every user's handlers: without this lock one
        # coroutine's statements could land inside another's open transaction.
        self._lock = asyncio.Lock()
        # After a write found the database locked or full, writes fail without trying
        # for as long as one busy wait lasts, instead of queueing a busy wait each.
        self._busy_timeout = busy_timeout
        self._unavailable_until = float("-inf")

    @classmethod
    async def open(cls, database_url: str, *, busy_timeout: float = 5.0) -> "Storage":
        """Opens (creating if needed) and migrates the database; StorageError, with the
        connections closed again, when it can't be used."""
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
            raise StorageError(f"can't use the database {path}: {_describe(e)}") from None

    async def close(self) -> None:
        if self._rdb is not self._db:
            await self._rdb.close()
        await self._db.close()

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
            log.warning("database write failed: %s", _describe(error))

    @property
    def writable(self) -> bool:
        """False just after a write found the database locked or full."""
        return time.monotonic() >= self._unavailable_until

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
                for statement in filter(str.strip, script.split(";")):
                    await self._db.execute(statement)
                await self._db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (number, _now()))
                await self._db.execute("COMMIT")
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction: all or nothing."""
        await self._refuse_while_unavailable()
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                self._failed(e)
                raise
            try:
                yield self._db
                await self._db.execute("COMMIT")
            except BaseException as e:
                self._failed(e)
                # A full disk can end the transaction itself; ROLLBACK then has nothing to undo.
                with suppress(sqlite3.Error):
                    await self._db.execute("ROLLBACK")
                raise

    # Every ``await`` on aiosqlite is a round trip to its SQLite thread, so:
    # reads go through execute_fetchall (one hop, not execute + fetch + close),
    # and a single write statement runs in autocommit mode (the connection has
    # no implicit transactions), which makes it its own transaction: no
    # BEGIN/COMMIT hops. It still takes the lock, or it could land inside
    # another coroutine's open transaction.
    async def _write(self, sql: str, params: tuple = ()) -> aiosqlite.Cursor:
        """One write statement, atomic on its own."""
        await self._refuse_while_unavailable()
        async with self._lock:
            try:
                return await self._db.execute(sql, params)
            except sqlite3.Error as e:
                self._failed(e)
                raise

    async def _write_returning(self, sql: str, params: tuple = ()) -> list[aiosqlite.Row]:
        """One write statement with RETURNING: its rows, fetched in the same hop (which
        also steps it to the end, so the autocommit transaction is over on return)."""
        await self._refuse_while_unavailable()
        async with self._lock:
            try:
                return list(await self._db.execute_fetchall(sql, params))
            except sqlite3.Error as e:
                self._failed(e)
                raise

    async def _read_one(self, sql: str, params: tuple = ()) -> aiosqlite.Row | None:
        rows = await self._rdb.execute_fetchall(sql, params)
        return rows[0] if rows else None

    # --- updates -------------------------------------------------------------
    async def first_delivery(self, update_id: int, *, chat_id: int | None = None, payload: str | None = None,
                             keep: int = 100_000) -> bool:
        """Records the update; False when it was handled before. Keeps the newest ``keep`` ids.

        With ``chat_id`` it is recorded as in flight until update_done(), with ``payload`` (the
        update as JSON): if the process dies before the buyer's answer is committed, the next
        start replays it; after, it shows the chat its current question (bot.resume)."""
        # One statement: a new id is inserted; one polling stored on receipt (receive_updates) and
        # nobody handled yet is claimed; one handled or being handled changes nothing (rowcount 0).
        done = int(chat_id is None)
        cursor = await self._write(
            "INSERT INTO processed_updates (update_id, at, chat_id, done, claimed, payload) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (update_id) DO UPDATE SET claimed = excluded.claimed, done = excluded.done,"
            " payload = CASE WHEN excluded.done = 1 THEN NULL"
            " ELSE COALESCE(processed_updates.payload, excluded.payload) END,"
            " chat_id = COALESCE(processed_updates.chat_id, excluded.chat_id)"
            f" WHERE processed_updates.claimed = {RECEIVED}",
            (update_id, _now(), chat_id, done, HANDLING, None if done else payload))
        first = cursor.rowcount == 1
        if first and update_id % 1000 == 0:
            await self._write("DELETE FROM processed_updates WHERE update_id < ?", (update_id - keep,))
        return first

    async def receive_updates(self, received: list[tuple[int, int | None, str]]) -> None:
        """(update_id, chat_id, the update as JSON) as polling got them, stored before the next poll
        confirms them to Telegram: a process killed before handling one replays it at the next start."""
        if not received:
            return
        now = _now()
        async with self._transaction() as db:
            await db.executemany(
                "INSERT OR IGNORE INTO processed_updates (update_id, at, chat_id, done, claimed, payload)"
                f" VALUES (?, ?, ?, 0, {RECEIVED}, ?)", [(uid, now, chat, payload) for uid, chat, payload in received])

    async def received_unhandled(self) -> list[str]:
        """At start: the updates a previous process received (Telegram considers them delivered)
        and never committed an answer for, oldest first, as JSON. Those it had started are
        released to be claimed again (the process that started them is gone)."""
        await self._write(f"UPDATE processed_updates SET claimed = {RECEIVED} WHERE claimed = {HANDLING}"
                          " AND done = 0 AND payload IS NOT NULL")
        rows = await self._rdb.execute_fetchall(
            f"SELECT payload FROM processed_updates WHERE claimed = {RECEIVED} AND payload IS NOT NULL"
            " ORDER BY update_id")
        return [r["payload"] for r in rows]

    async def update_done(self, update_id: int) -> None:
        """The update's handling is over (answered, or failed and told)."""
        await self._write("UPDATE processed_updates SET done = 1, payload = NULL WHERE update_id = ? AND done = 0",
                          (update_id,))

    async def cut_off(self) -> list[tuple[int, int, bool]]:
        """(update_id, chat_id, answer committed) of updates a previous process started and never
        finished (after received_unhandled: those it can't replay)."""
        rows = await self._rdb.execute_fetchall(
            f"SELECT update_id, chat_id, claimed FROM processed_updates WHERE done = 0 AND claimed != {RECEIVED}"
            " ORDER BY update_id")
        return [(r["update_id"], r["chat_id"], r["claimed"] == ANSWERED) for r in rows]

    @staticmethod
    async def _answered(db: aiosqlite.Connection) -> None:
        """In the transaction committing the buyer's answer or evidence: its update is ANSWERED."""
        update_id = handling_update.get()
        if update_id is not None:
            await db.execute(f"UPDATE processed_updates SET claimed = {ANSWERED} WHERE update_id = ?", (update_id,))

    # --- settings ------------------------------------------------------------
    async def get_setting(self, key: str) -> str | None:
        row = await self._read_one("SELECT value FROM settings WHERE key = ?", (key,))
        return row["value"] if row else None

    async def set_setting(self, key: str, value: str) -> None:
        await self._write("INSERT INTO settings (key, value) VALUES (?, ?)"
                          " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    # --- users ---------------------------------------------------------------
    async def get_user(self, user_id: int) -> UserRecord | None:
        row = await self._read_one(
            "SELECT id, locale, focused_dispute_id, timezone FROM users WHERE id = ?", (user_id,))
        return UserRecord(row["id"], row["locale"], row["focused_dispute_id"], row["timezone"]) if row else None

    async def ensure_user(self, user_id: int, locale: str | None = None) -> UserRecord:
        """The user's row, created on first need; ``locale`` is remembered for reminders,
        which are sent outside any update and so can't read the client's language."""
        # Read first: the user nearly always exists already (one hop, no write).
        user = await self.get_user(user_id)
        if user is None:
            now = _now()
            await self._write(_NEW_USER, (user_id, locale, now, now))
            user_changed(user_id)
            user = UserRecord(user_id, locale, None)
        return user

    # set_locale / set_timezone: one upsert instead of ensure_user + UPDATE
    # (fewer round trips to the SQLite thread); a new user gets the value at once.
    async def set_locale(self, user_id: int, locale: str) -> None:
        now = _now()
        await self._write("INSERT INTO users (id, locale, created_at, updated_at) VALUES (?, ?, ?, ?)"
                          " ON CONFLICT (id) DO UPDATE SET locale = excluded.locale, updated_at = excluded.updated_at",
                          (user_id, locale, now, now))
        user_changed(user_id, locale=locale)

    async def set_timezone(self, user_id: int, tz_name: str) -> None:
        now = _now()
        await self._write("INSERT INTO users (id, timezone, created_at, updated_at) VALUES (?, ?, ?, ?)"
                          " ON CONFLICT (id) DO UPDATE SET timezone = excluded.timezone,"
                          " updated_at = excluded.updated_at", (user_id, tz_name, now, now))
        user_changed(user_id, timezone=tz_name)

    async def get_currency(self, user_id: int) -> str | None:
        """The currency this buyer paid in last time (asked once, then remembered)."""
        row = await self._read_one("SELECT currency FROM users WHERE id = ?", (user_id,))
        return row["currency"] if row else None

    async def set_currency(self, user_id: int, currency: str) -> None:
        await self._write("UPDATE users SET currency = ?, updated_at = ? WHERE id = ?", (currency, _now(), user_id))

    async def focus(self, user_id: int, dispute_id: int | None) -> None:
        await self._write("UPDATE users SET focused_dispute_id = ?, updated_at = ? WHERE id = ?",
                          (dispute_id, _now(), user_id))
        user_changed(user_id, focused_dispute_id=dispute_id)

    async def export_user(self, user_id: int) -> dict:
        """Everything stored about the user, for /export."""
        user = await self.get_user(user_id)
        disputes = []
        for d in await self.list_disputes(user_id):
            evidence = [{k: v for k, v in vars(i).items() if k != "id"} for i in await self.list_evidence(d)]
            reminders = [{"kind": r.kind, "due_at": r.due_at, "status": r.status}
                         for r in await self.list_reminders(d.id)]
            disputes.append({**vars(d), "evidence": evidence, "reminders": reminders})
        return {"user": vars(user) if user else None, "disputes": disputes}

    async def stats(self) -> dict[str, dict[str, int]]:
        """Counts only, no personal data: disputes by stage, reminders by status."""
        result: dict[str, dict[str, int]] = {"disputes": {}, "reminders": {}}
        # Both tables in one statement: one round trip to the SQLite thread.
        for table, key, n in await self._rdb.execute_fetchall(
                "SELECT 'disputes', state, COUNT(*) FROM disputes GROUP BY state"
                " UNION ALL SELECT 'reminders', status, COUNT(*) FROM reminders GROUP BY status"):
            result[table][key] = n
        return result

    async def disputes_by_state(self) -> dict[str, int]:
        """Disputes per stage, for /metrics: one COUNT ... GROUP BY on the read connection."""
        rows = await self._rdb.execute_fetchall("SELECT state, COUNT(*) FROM disputes GROUP BY state")
        return {state: n for state, n in rows}

    async def ping(self) -> None:
        """A trivial read (for /healthz): raises when the database can't be read."""
        await self._read_one("SELECT 1 FROM schema_migrations LIMIT 1")

    async def forget_user(self, user_id: int) -> None:
        # One statement, so no BEGIN/COMMIT round trips: the user's disputes go
        # with the user, their evidence and reminders with the disputes
        # (ON DELETE CASCADE, foreign_keys=ON), all in this one statement.
        await self._refuse_while_unavailable()
        async with self._lock:
            try:
                await self._db.execute("DELETE FROM users WHERE id = ?", (user_id,))
            except sqlite3.Error as e:
                self._failed(e)
                raise
            user_changed(user_id)
            # The WAL still holds the pages as they were before the delete; copy the
            # zeroed pages into the database and cut the WAL to zero bytes, so no
            # readable copy of the buyer's answers is left on disk.
            await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # --- disputes ------------------------------------------------------------
    async def create_dispute(self, user_id: int, initial_state: str, locale: str | None = None) -> Dispute:
        now = _now()
        async with self._transaction() as db:
            # The user's row, if missing, in the same transaction (as ensure_user:
            # an existing user's locale stays), saving ensure_user's read.
            await db.execute(_NEW_USER, (user_id, locale, now, now))
            # The buyer's own numbering (#1, #2 …): what they see, whatever the table's ids.
            cursor = await db.execute(
                "INSERT INTO disputes (user_id, state, created_at, updated_at, number) VALUES (?, ?, ?, ?,"
                " (SELECT COALESCE(MAX(number), 0) + 1 FROM disputes WHERE user_id = ?)) RETURNING id, number",
                (user_id, initial_state, now, now, user_id))
            dispute_id, number = await cursor.fetchone()
            await db.execute("UPDATE users SET focused_dispute_id = ?, updated_at = ? WHERE id = ?",
                             (dispute_id, now, user_id))
            await self._answered(db)
        user_changed(user_id, focused_dispute_id=dispute_id)  # a new user's row: read again
        return Dispute(id=dispute_id, user_id=user_id, state=initial_state, number=number)

    async def get_dispute(self, user_id: int, dispute_id: int) -> Dispute | None:
        row = await self._read_one("SELECT * FROM disputes WHERE id = ? AND user_id = ?", (dispute_id, user_id))
        return _dispute(row) if row else None

    async def focused_dispute(self, user_id: int) -> Dispute | None:
        row = await self._read_one(
            "SELECT d.* FROM disputes d JOIN users u ON u.focused_dispute_id = d.id AND u.id = d.user_id "
            "WHERE u.id = ?", (user_id,))
        return _dispute(row) if row else None

    async def list_disputes(self, user_id: int, *, exclude_states: tuple[str, ...] = (),
                            limit: int = -1) -> list[Dispute]:
        """Newest first; ``limit`` of them (-1: all)."""
        marks = ",".join("?" * len(exclude_states)) or "''"
        rows = await self._rdb.execute_fetchall(
            f"SELECT * FROM disputes WHERE user_id = ? AND state NOT IN ({marks}) ORDER BY id DESC LIMIT ?",
            (user_id, *exclude_states, limit))
        return [_dispute(r) for r in rows]

    async def save_dispute(self, dispute: Dispute, plan: list[PlannedReminder] | None = None) -> bool:
        """Saves answers and state if nobody saved since it was loaded (optimistic
        locking on ``version``); bumps the version. False when it was stale.

        With ``plan``, the dispute's reminders are brought in line in the same
        transaction: pending ones the plan no longer has are cancelled, new ones
        are added. A crash can't leave a state without its reminders."""
        values = _row_values(dispute)
        values["version"] = dispute.version + 1
        sets = ", ".join(f"{c} = ?" for c in _ANSWER_COLUMNS)
        update = (f"UPDATE disputes SET {sets}, updated_at = ? WHERE id = ? AND user_id = ? AND version = ?",
                  (*(values[c] for c in _ANSWER_COLUMNS), _now(), dispute.id, dispute.user_id, dispute.version))
        if plan is None and handling_update.get() is None:  # one statement: no BEGIN/COMMIT round trips
            cursor = await self._write(*update)
            if cursor.rowcount != 1:
                return False
        else:
            async with self._transaction() as db:
                cursor = await db.execute(*update)
                if cursor.rowcount != 1:
                    return False
                if plan is not None:
                    await self._sync_reminders(db, dispute, plan)
                await self._answered(db)
        dispute.version += 1
        return True

    async def asked(self, dispute: Dispute, message_id: int) -> None:
        """The chat message showing the dispute's current question (only ever forward: a late
        write for an older message changes nothing)."""
        await self._write("UPDATE disputes SET asked_message_id = ? WHERE id = ? AND user_id = ?"
                          " AND (asked_message_id IS NULL OR asked_message_id < ?)",
                          (message_id, dispute.id, dispute.user_id, message_id))
        dispute.asked_message_id = max(message_id, dispute.asked_message_id or 0)

    async def _sync_reminders(self, db: aiosqlite.Connection, d: Dispute, plan: list[PlannedReminder]) -> None:
        wanted = {(r.kind, _moment(r.due_at)): r for r in plan}
        rows = [(d.id, d.user_id, kind, due, _moment(r.deadline_at), d.state, due) for (kind, due), r in wanted.items()]
        # One statement instead of SELECT pending + UPDATE stale + UPDATE for_state
        # (fewer round trips to the SQLite thread). Of the pending, non-snoozed
        # reminders, those the plan no longer has are cancelled (for_state left
        # as it was); the others get the dispute's state. Snoozed ones are untouched.
        params: dict[str, object] = {"state": d.state, "dispute": d.id}
        pairs = []
        for i, (kind, due) in enumerate(wanted):
            params[f"k{i}"], params[f"t{i}"] = kind, due
            pairs.append(f"(:k{i}, :t{i})")
        in_plan = f"(kind, due_at) IN (VALUES {', '.join(pairs)})" if pairs else "0"
        await db.execute(
            f"UPDATE reminders SET status = CASE WHEN {in_plan} THEN status ELSE 'cancelled' END,"
            f" for_state = CASE WHEN {in_plan} THEN :state ELSE for_state END"
            " WHERE dispute_id = :dispute AND status = 'pending' AND snoozed = 0", params)
        if rows:
            # Every wanted reminder in one executemany hop. A reminder cancelled
            # earlier and wanted again comes back; a sent one stays sent.
            await db.executemany(
                "INSERT INTO reminders (dispute_id, user_id, kind, due_at, deadline_at, for_state, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dispute_id, kind, due_at) DO UPDATE SET"
                " status = 'pending', for_state = excluded.for_state, deadline_at = excluded.deadline_at,"
                " next_attempt_at = excluded.next_attempt_at, attempts = 0 WHERE status = 'cancelled'", rows)

    # --- reminders -------------------------------------------------------------
    async def next_reminder_at(self) -> datetime | None:
        """When the earliest pending reminder may go (the partial index answers it)."""
        (value,) = await self._read_one("SELECT MIN(next_attempt_at) FROM reminders WHERE status = 'pending'")
        return _from_moment(value)

    async def claim_reminders(self, now: datetime, *, lease: float, limit: int) -> list[ReminderRecord]:
        """Takes due reminders for ``lease`` seconds: a crashed sender's claims expire
        and are taken again, so a reminder is sent at least once (at most one extra)."""
        until = _moment(now + timedelta(seconds=lease))
        rows = await self._write_returning(  # one statement: atomic without BEGIN/COMMIT
            "UPDATE reminders SET next_attempt_at = ?, attempts = attempts + 1 WHERE id IN ("
            " SELECT id FROM reminders WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at LIMIT ?) RETURNING *", (until, _moment(now), limit))
        return sorted((_reminder(r) for r in rows), key=lambda r: (r.due_at, r.id))

    async def finish_reminder(self, reminder_id: int, status: str, *, error: str | None = None) -> None:
        """sent, failed (never again), cancelled or skipped."""
        await self._write("UPDATE reminders SET status = ?, sent_at = CASE WHEN ? = 'sent' THEN ? END, error = ?"
                          " WHERE id = ?", (status, status, _now(), error, reminder_id))

    async def retry_reminder(self, reminder_id: int, when: datetime, *, error: str | None = None) -> None:
        await self._write("UPDATE reminders SET next_attempt_at = ?, error = ? WHERE id = ? AND status = 'pending'",
                          (_moment(when), error, reminder_id))

    async def snooze_reminder(self, d: Dispute, kind: str, due: datetime, deadline: datetime) -> None:
        await self._write(
            "INSERT OR IGNORE INTO reminders (dispute_id, user_id, kind, due_at, deadline_at, for_state, snoozed,"
            " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
            (d.id, d.user_id, kind, _moment(due), _moment(deadline), d.state, _moment(due)))

    async def get_reminder(self, user_id: int, reminder_id: int) -> ReminderRecord | None:
        row = await self._read_one("SELECT * FROM reminders WHERE id = ? AND user_id = ?", (reminder_id, user_id))
        return _reminder(row) if row else None

    async def list_reminders(self, dispute_id: int, *, status: str | None = None) -> list[ReminderRecord]:
        sql, params = "SELECT * FROM reminders WHERE dispute_id = ?", (dispute_id,)
        if status:
            sql, params = sql + " AND status = ?", (*params, status)
        return [_reminder(r) for r in await self._rdb.execute_fetchall(sql + " ORDER BY due_at, id", params)]

    async def load_dispute(self, dispute_id: int) -> Dispute | None:
        """For the reminder engine, which acts for whoever owns the dispute."""
        row = await self._read_one("SELECT * FROM disputes WHERE id = ?", (dispute_id,))
        return _dispute(row) if row else None

    # --- evidence ------------------------------------------------------------
    async def replace_evidence_file(self, item: EvidenceItem) -> None:
        """Points a stored item at its AliExpress-ready copy (the original was stored first)."""
        await self._write(
            "UPDATE evidence SET file_id = ?, file_unique_id = ?, file_name = ?, mime_type = ?, file_size = ?,"
            " flags = ? WHERE id = ?",
            (item.file_id, item.file_unique_id, item.file_name, item.mime_type, item.file_size,
             json.dumps(sorted(item.flags)), item.id))

    async def add_evidence(self, dispute: Dispute, item: EvidenceItem) -> int:
        """Stores the item; returns how many items the dispute now has."""
        # The count comes back with the new id (RETURNING sees the row just
        # inserted): one round trip to the SQLite thread instead of two.
        insert = (
            "INSERT INTO evidence (dispute_id, kind, file_id, file_unique_id, file_name, mime_type, file_size,"
            " media_group_id, text, origin_name, origin_date, flags, label, created_at)"
            " SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM disputes WHERE id = ? AND user_id = ?"
            " RETURNING id, (SELECT COUNT(*) FROM evidence e WHERE e.dispute_id = ?)",
            (item.kind.value, item.file_id, item.file_unique_id, item.file_name, item.mime_type, item.file_size,
             item.media_group_id, item.text, item.origin_name,
             item.origin_date.isoformat() if item.origin_date else None,
             json.dumps(sorted(item.flags)), item.label, _now(), dispute.id, dispute.user_id, dispute.id))
        if handling_update.get() is None:
            rows = await self._write_returning(*insert)
        else:
            async with self._transaction() as db:
                rows = list(await db.execute_fetchall(*insert))
                if rows:
                    await self._answered(db)
        if not rows:  # not this user's dispute: nothing stored
            return 0
        item.id, count = rows[0]
        return count

    async def count_evidence(self, dispute: Dispute, *, media_group_id: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM evidence e JOIN disputes d ON d.id = e.dispute_id WHERE d.id = ? AND d.user_id = ?"
        params: tuple = (dispute.id, dispute.user_id)
        if media_group_id is not None:
            sql += " AND e.media_group_id = ?"
            params += (media_group_id,)
        (n,) = await self._read_one(sql, params)
        return n

    async def list_evidence(self, dispute: Dispute) -> list[EvidenceItem]:
        rows = await self._rdb.execute_fetchall(
            "SELECT e.* FROM evidence e JOIN disputes d ON d.id = e.dispute_id"
            " WHERE d.id = ? AND d.user_id = ? ORDER BY e.id", (dispute.id, dispute.user_id))
        return [EvidenceItem(
            kind=EvidenceKind(r["kind"]), file_id=r["file_id"], file_unique_id=r["file_unique_id"],
            file_name=r["file_name"], mime_type=r["mime_type"], file_size=r["file_size"],
            media_group_id=r["media_group_id"], text=r["text"], origin_name=r["origin_name"],
            origin_date=datetime.fromisoformat(r["origin_date"]) if r["origin_date"] else None,
            flags=set(json.loads(r["flags"])), label=r["label"], id=r["id"]) for r in rows]

    async def label_evidence(self, dispute: Dispute, item_id: int, label: str) -> bool:
        """Says what a piece of evidence shows (a checklist item's key, or "other")."""
        cursor = await self._write(
            "UPDATE evidence SET label = ? WHERE id = ? AND dispute_id IN"
            " (SELECT id FROM disputes WHERE id = ? AND user_id = ?)", (label, item_id, dispute.id, dispute.user_id))
        return cursor.rowcount == 1


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


def _describe(error: BaseException) -> str:
    """A database error in a few words: "database is locked", "disk I/O error"."""
    return str(error) or type(error).__name__


def _reminder(r: aiosqlite.Row) -> ReminderRecord:
    return ReminderRecord(r["id"], r["dispute_id"], r["user_id"], r["kind"], _from_moment(r["due_at"]),
                          _from_moment(r["deadline_at"]), r["for_state"], bool(r["snoozed"]), r["status"],
                          r["attempts"])


def _row_values(d: Dispute) -> dict:
    return {
        "state": d.state, "version": d.version, "reason": d.reason,
        "received": None if d.received is None else int(d.received),
        "defect": d.defect, "solution": d.solution, "order_number": d.order_number,
        "order_total": _iso(d.order_total), "currency": d.currency,
        "shipped_on": _iso(d.shipped_on), "protection_ends_on": _iso(d.protection_ends_on),
        "amount": _iso(d.amount), "refund_full": int(d.refund_full), "evidence_done": int(d.evidence_done),
        "unknown": json.dumps(sorted(d.unknown)), "editing": int(d.editing),
        **{m: _iso(getattr(d, m)) for m in _MOMENTS}, "decision": d.decision,
        "seller_answer": d.seller_answer, "reminders_off": int(d.reminders_off), "tracking": d.tracking,
        "facts": json.dumps({name: _iso(getattr(d, name)) if kind in ("date", "decimal") else getattr(d, name)
                             for name, kind in FACTS.items()}, sort_keys=True),
    }


def _dispute(r: aiosqlite.Row) -> Dispute:
    return Dispute(
        id=r["id"], user_id=r["user_id"], state=r["state"], version=r["version"], reason=r["reason"],
        received=None if r["received"] is None else bool(r["received"]),
        defect=r["defect"], solution=r["solution"], order_number=r["order_number"],
        order_total=Decimal(r["order_total"]) if r["order_total"] else None, currency=r["currency"],
        shipped_on=date.fromisoformat(r["shipped_on"]) if r["shipped_on"] else None,
        protection_ends_on=date.fromisoformat(r["protection_ends_on"]) if r["protection_ends_on"] else None,
        amount=Decimal(r["amount"]) if r["amount"] else None, refund_full=bool(r["refund_full"]),
        evidence_done=bool(r["evidence_done"]), unknown=set(json.loads(r["unknown"])),
        editing=bool(r["editing"]), decision=r["decision"], reminders_off=bool(r["reminders_off"]),
        seller_answer=r["seller_answer"], number=r["number"], asked_message_id=r["asked_message_id"],
        **{m: _from_moment(r[m]) for m in _MOMENTS}, tracking=r["tracking"],
        **_facts(r["facts"]),
    )


def _facts(text: str | None) -> dict:
    """The step table's facts (flows/steps.py FACTS) from their JSON column; unknown keys are ignored."""
    stored = json.loads(text or "{}")
    facts: dict = {}
    for name, kind in FACTS.items():
        value = stored.get(name)
        if value is None:
            continue
        facts[name] = (date.fromisoformat(value) if kind == "date" else Decimal(value) if kind == "decimal"
                       else bool(value) if kind == "bool" else str(value))
    return facts
