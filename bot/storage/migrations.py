"""The numbered migrations, the same for every backend: written in SQLite's dialect, turned into
PostgreSQL's by ``postgres()`` where the two differ (64-bit integers, identity columns)."""
from __future__ import annotations

import re

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
    # 9: the send rate shared by several workers on one PostgreSQL (bot/storage/postgres.py reserve_send):
    # per key ('*' the whole bot, else a chat id) the moment its next send is due (GCRA's "theoretical
    # arrival time", seconds since the epoch on the server's clock). Unused on SQLite (one process).
    """
    CREATE TABLE send_rate (key TEXT PRIMARY KEY, tat DOUBLE PRECISION NOT NULL);
    """,
    # 10: the chat message that asked the dispute's current question (a typed answer older than it
    # doesn't answer it; docs/rules.md)
    """
    ALTER TABLE disputes ADD COLUMN asked_message_id INTEGER;
    """,
]


def postgres(script: str) -> str:
    """A migration in PostgreSQL's dialect. SQLite's INTEGER is 64-bit (Telegram user ids exceed
    2**31), PostgreSQL's is not: BIGINT; AUTOINCREMENT keys become identity columns."""
    script = script.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
    return re.sub(r"\bINTEGER\b", "BIGINT", script)


def statements(script: str) -> list[str]:
    return [s for s in script.split(";") if s.strip()]
