"""Seeded reminders for the real process: disputes in "negotiating" written with the real Storage
and planner, and what the fake Bot API saw of them (tests, scripts/chaos.py and benchmarks share it)."""
from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.storage import Storage
from flows.policy import Policy
from flows.reminders import plan
from testkit.fake_bot_api import FakeBotAPI, Request
from testkit.processes import BotProcess

BASE_UID = 10_000
POLICY = Policy(daytime_start=dtime(0, 0, 0), daytime_end=dtime(23, 59, 59))
UTC = ZoneInfo("UTC")


def moment(value: datetime) -> str:
    """The storage's fixed-width UTC text form (sorts like the moments)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


async def seed(db: Path | str, n: int, *, window_started: timedelta, planned_at: timedelta,
               expect_due: int, expect_pending: int) -> datetime:
    """One dispute in "negotiating" per chat BASE_UID..BASE_UID+n-1; returns the seeding "now".

    ``db``: a SQLite file, or a database URL. ``window_started`` and ``planned_at`` are offsets
    from now (negative = in the past)."""
    now = datetime.now(timezone.utc).replace(microsecond=0)  # storage keeps whole seconds
    store = await Storage.open(db if isinstance(db, str) else f"sqlite:///{db}")
    try:
        for i in range(n):
            uid = BASE_UID + i
            d = await store.create_dispute(uid, "reason", "en")
            await store.set_timezone(uid, "UTC")
            d.state = "negotiating"
            d.window_started_at = now + window_started
            assert await store.save_dispute(d, plan=plan(d, POLICY, UTC, None, now + planned_at))
            pending = await store.list_reminders(d.id, status="pending")
            due = [r for r in pending if r.due_at <= now]
            assert len(pending) == expect_pending, pending
            assert len(due) == expect_due and all(r.kind == "seller_window" for r in due), pending
    finally:
        await store.close()
    return now


def reminder_rows(db_path: Path) -> list[sqlite3.Row]:
    db = sqlite3.connect(db_path)
    try:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM reminders ORDER BY user_id, due_at").fetchall()
    finally:
        db.close()


def reminders_sent(fake: FakeBotAPI, chat_id: int | None = None) -> list[Request]:
    """Successful sendMessage calls carrying a seller-window reminder."""
    return [r for r in fake.requests
            if r.method == "sendMessage" and r.status == 200 and "seller" in r.params.get("text", "")
            and (chat_id is None or r.params.get("chat_id") == chat_id)]


def attempts_to(fake: FakeBotAPI, chat_id: int) -> list[Request]:
    return [r for r in fake.requests if r.method == "sendMessage" and r.params.get("chat_id") == chat_id]


async def wait_until(bot: BotProcess, condition: Callable[[], bool], *, timeout: float, what: str,
                     poll: float = 0.01) -> None:
    """Polls ``condition``; fails at once, with the bot's log, if the process dies."""
    deadline = time.monotonic() + timeout
    while not condition():
        if bot.proc.returncode is not None:
            await bot.finish(5)
            _fail(f"bot exited while waiting for {what}\n{bot.describe()}")
        if time.monotonic() >= deadline:
            _fail(f"timed out after {timeout}s waiting for {what}\n{bot.describe()}")
        await asyncio.sleep(poll)


async def stop(bot: BotProcess) -> None:
    assert await bot.terminate() == 0, bot.describe()
    assert "Traceback" not in bot.stderr, bot.describe()




def _fail(message: str) -> None:
    """pytest's failure in a test, an AssertionError in a script."""
    try:
        import pytest
    except ImportError:  # pragma: no cover - scripts without pytest installed
        raise AssertionError(message) from None
    pytest.fail(message)
