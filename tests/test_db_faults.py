"""Database faults while the bot runs, through the real Dispatcher: a write lock held
by another program, a full disk. The buyer is told honestly that nothing was saved
(never "saved"), read-only commands keep answering at once, nothing half-done is
stored, and the bot recovers by itself when the database does."""
from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from aiogram.methods import AnswerCallbackQuery

from bot.config import Config
from testkit.chat import TOKEN, BotHarness, ChatUser
from testkit.chat import TODAY

BUSY = 0.3  # the configured busy timeout: the lock below outlasts it
NOT_SAVED = {
    "en": "I couldn't save that just now, so nothing changed. Please try again in a minute.",
    "ru": "Сейчас не получилось это сохранить, поэтому ничего не изменилось.",
    "es": "Ahora mismo no he podido guardarlo, así que no ha cambiado nada.",
    "de": "Das konnte ich gerade nicht speichern, es hat sich also nichts geändert.",
}
HELP = {"en": "How it works", "ru": "Как это работает", "es": "Cómo funciona", "de": "So funktioniert"}
ORDER = "8123456789012345"


def config(db_path: Path) -> Config:
    return Config.model_validate({
        "bot": {"token": TOKEN, "album_settle_seconds": 0.2, "flood_limit": 10_000},
        "database": {"url": f"sqlite:///{db_path}", "busy_timeout_seconds": BUSY},
        "reminders": {"global_per_second": 100_000, "per_chat_per_second": 100_000},
        # Telegram-like pacing is tested against the fake Bot API; here it would only add waits.
        "sending": {"per_second": 100_000, "chat_per_second": 100_000}})


@pytest.fixture
async def h(tmp_path):
    h = await BotHarness(tmp_path / "d.db", TODAY, config(tmp_path / "d.db")).start()
    yield h
    await h.stop()


async def at_order_number(user: ChatUser) -> None:
    await user.send("/start")
    await user.press("Start a dispute") if user.language_code == "en" else await user.choose("new")
    await user.choose("not_received")
    await user.choose("none")  # tracking: no tracking / invalid number
    user.replies()


def stored(db_path: Path, user_id: int) -> list[tuple]:
    """What another program reading the file sees (committed data only)."""
    db = sqlite3.connect(db_path)
    try:
        return db.execute("SELECT state, order_number FROM disputes WHERE user_id = ?", (user_id,)).fetchall()
    finally:
        db.close()


def holding_write_lock(db_path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # what a long backup, migration or sqlite3 shell session does
    return other


async def timed(coro) -> tuple[list, float]:
    start = time.monotonic()
    replies = await coro
    return replies, time.monotonic() - start


@pytest.mark.parametrize("lang", ["en", "ru", "es", "de"])
async def test_write_lock_says_not_saved_in_the_buyers_language(h: BotHarness, lang: str) -> None:
    user = h.user(language_code=lang)
    await at_order_number(user)
    other = holding_write_lock(h.db_path)
    try:
        text = ChatUser.texts(await user.send(ORDER))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert NOT_SAVED[lang] in text, text
    assert text.count("\n---\n") == 0, text  # that one message, no next question
    assert stored(h.db_path, user.id) == [("order_number", None)]


async def test_write_lock_reads_go_on_and_recovery_needs_no_restart(h: BotHarness) -> None:
    user = h.user()
    await at_order_number(user)
    other = holding_write_lock(h.db_path)
    try:
        replies, took = await timed(user.send(ORDER))
        text = ChatUser.texts(replies)
        assert NOT_SAVED["en"] in text and "How much did you pay" not in text, text
        assert "saved:" not in text.lower() and "your answers are saved" not in text.lower()
        assert took < BUSY + 1.0

        # A button pressed meanwhile: the spinner is answered with the same words, nothing changes.
        replies = await user.choose("back")
        alerts = [s.method for s in replies if isinstance(s.method, AnswerCallbackQuery) and s.method.text]
        assert alerts and NOT_SAVED["en"] in alerts[-1].text and alerts[-1].show_alert
        assert stored(h.db_path, user.id) == [("order_number", None)]

        # Read-only commands answer at once while the lock is still held.
        replies, took = await timed(user.send("/help"))
        assert HELP["en"] in ChatUser.texts(replies) and took < 1.0, (took, ChatUser.texts(replies))
        replies, took = await timed(user.send("/disputes"))
        text = ChatUser.texts(replies)
        assert "Your disputes" in text and NOT_SAVED["en"] not in text and took < 1.0, (took, text)
    finally:
        other.execute("ROLLBACK")
        other.close()

    await asyncio.sleep(BUSY + 0.1)  # "try again in a minute" (here: after one busy timeout)
    text = ChatUser.texts(await user.send(ORDER))
    assert "How much did you pay" in text and NOT_SAVED["en"] not in text, text
    assert stored(h.db_path, user.id) == [("order_total", ORDER)]


async def test_full_disk_evidence_not_stored_buyer_told_then_stored_after(h: BotHarness) -> None:
    user = h.user()
    await at_order_number(user)
    d = await h.store.focused_dispute(user.id)
    db = h.store._db
    # The database may not grow by one more page: SQLite answers SQLITE_FULL, as on a full disk.
    (pages,) = (await db.execute_fetchall("PRAGMA page_count"))[0]
    await db.execute(f"PRAGMA max_page_count={pages}")
    note = "Seller wrote: no refund. " + "x" * 20_000  # needs new pages
    text = ChatUser.texts(await user.forward(note))
    assert NOT_SAVED["en"] in text, text
    assert "saved." not in text.replace(NOT_SAVED["en"], "")  # no "💬 Message ... saved."
    assert await h.store.list_evidence(d) == []
    replies, took = await timed(user.send("/help"))
    assert HELP["en"] in ChatUser.texts(replies) and took < 1.0

    await db.execute("PRAGMA max_page_count=1073741823")  # space freed
    await asyncio.sleep(BUSY + 0.1)
    text = ChatUser.texts(await user.forward(note))
    assert "Message from Best Store" in text and "saved" in text and NOT_SAVED["en"] not in text, text
    assert [i.text for i in await h.store.list_evidence(d)] == [note]


async def test_a_bug_still_gets_the_generic_apology(h: BotHarness, monkeypatch) -> None:
    """Only database refusals say "not saved": a bug after the save says the answers are saved."""
    user = h.user()
    await at_order_number(user)
    import bot.conversation as conversation

    async def broken_show(*args, **kwargs):
        raise RuntimeError("simulated bug while rendering")

    monkeypatch.setattr(conversation, "show", broken_show)
    text = ChatUser.texts(await user.send(ORDER))
    assert "Your answers are saved" in text and NOT_SAVED["en"] not in text
    assert stored(h.db_path, user.id) == [("order_total", ORDER)]


async def test_reminder_engine_neither_spins_nor_dies_while_locked(h: BotHarness, monkeypatch) -> None:
    """The engine retries at once after a failed tick when a reminder is overdue: while
    writes are refused it must wait, not spin, and it must deliver again afterwards."""
    from datetime import datetime, timezone
    store = h.store
    overdue = datetime(2000, 1, 1, tzinfo=timezone.utc)
    monkeypatch.setattr(store, "next_reminder_at", lambda: _value(overdue))
    attempts, failures = [], []
    real_claim = store.claim_reminders

    async def claim(*args, **kwargs):
        attempts.append(time.monotonic())
        try:
            return await real_claim(*args, **kwargs)
        except Exception as e:
            failures.append(type(e).__name__)
            raise

    monkeypatch.setattr(store, "claim_reminders", claim)
    other = holding_write_lock(h.db_path)
    task = asyncio.create_task(h.engine.run())
    try:
        await asyncio.sleep(1.5)
        locked_attempts, locked_failures = len(attempts), list(failures)
        # One real busy wait, then refusals that wait out the same time: a handful, not thousands.
        assert 2 <= locked_attempts <= 1.5 / BUSY + 2, locked_attempts
        assert set(locked_failures) == {"OperationalError", "Unavailable"}
        assert len(locked_failures) >= locked_attempts - 1  # the last one may still be waiting
    finally:
        other.execute("ROLLBACK")
        other.close()
    await asyncio.sleep(2 * BUSY + 0.2)
    h.engine.stop()
    h.svc.reminders_changed.set()
    await asyncio.wait_for(task, 5)
    assert len(attempts) > len(failures)  # claims succeed again without a restart


async def _value(v):
    return v
