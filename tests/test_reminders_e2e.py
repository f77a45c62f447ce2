"""End-to-end: the reminder engine of the real bot (``python -m bot``) against testkit/fake_bot_api.py.

Reminders are seeded in the test process with the real Storage and the real planner
(flows.reminders.plan), then the bot process delivers them. Every buyer is in UTC and the
configured daytime covers the whole day, so quiet hours never postpone anything here.

Seeding note: a dispute in "negotiating" whose seller window ends 2 h from now plans TWO
seller_window reminders: "1 day before" (due in the past) and "when it ends" (due in 2 h).
Only the first is due during a test; the second must stay pending and untouched.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from testkit.fake_bot_api import FakeBotAPI
from testkit.processes import BotProcess, max_in_window
from testkit.seeding import (BASE_UID, attempts_to, moment, reminder_rows, reminders_sent, seed,
                             stop, wait_until)

# ------------------------------------------------------------------ helpers
def write_config(path: Path, *, global_per_second: float = 20, per_chat_per_second: float = 1,
                 lease_seconds: float = 3) -> None:
    path.write_text(
        "[bot]\npolling_timeout = 1\n\n"
        f"[reminders]\nglobal_per_second = {global_per_second}\n"
        f"per_chat_per_second = {per_chat_per_second}\nlease_seconds = {lease_seconds}\n\n"
        "[policy]\ndaytime_start = 00:00:00\ndaytime_end = 23:59:59\n",
        encoding="utf-8")


# ------------------------------------------------------------------ fixtures
@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "reminders.toml"
    write_config(path)
    return path


# ------------------------------------------------------------------ tests
async def test_sigkill_mid_batch_delivers_everything_with_at_most_one_duplicate(
        fake: FakeBotAPI, env: dict[str, str], db_path: Path) -> None:
    n, rate = 60, 20
    chats = range(BASE_UID, BASE_UID + n)
    # Seller window ends in 2 h: "1 day before" is overdue, "when it ends" is 2 h away.
    now = await seed(db_path, n, window_started=-timedelta(days=5) + timedelta(hours=2),
                     planned_at=-timedelta(days=3), expect_due=1, expect_pending=2)

    first = await BotProcess.start(env, fake)
    try:
        # Polled on every loop pass: the kill lands right after the fake answered the 20th
        # send, usually before the bot has marked it sent, i.e. with one send in flight.
        await wait_until(first, lambda: len(reminders_sent(fake)) >= 20, timeout=20,
                         what="20 reminders before the kill", poll=0)
        first.proc.kill()  # SIGKILL mid-batch: no shutdown handlers, no commits
        await first.kill()
    finally:
        await first.kill()
    at_kill = len(reminders_sent(fake))
    assert 15 <= at_kill < n, f"{at_kill} reminders before the kill: the batch was not interrupted mid-way"

    second = await BotProcess.start(env, fake)
    try:
        await wait_until(second, lambda: all(reminders_sent(fake, c) for c in chats), timeout=40,
                         what="a reminder in every chat")
        # SIGTERM cancels the engine; wait for the last "sent" to be committed first.
        due = moment(now)
        await wait_until(second, lambda: all(r["status"] == "sent" for r in reminder_rows(db_path)
                                             if r["due_at"] <= due),
                         timeout=10, what="every due reminder row to be 'sent'")
        await stop(second)
    finally:
        await second.kill()

    per_chat = Counter(r.params["chat_id"] for r in reminders_sent(fake))
    sends = [r for r in fake.requests if r.method == "sendMessage"]
    assert set(per_chat) == set(chats), sorted(set(chats) - set(per_chat))
    duplicates = sum(c - 1 for c in per_chat.values())
    # One reminder in flight at a time ([reminders] concurrency = 1, the default): one at most was sent
    # and not yet marked when the process died.
    assert duplicates <= 1, per_chat
    assert max(per_chat.values()) <= 2, {c: k for c, k in per_chat.items() if k > 2}
    assert all(r.status == 200 for r in sends), [(r.params.get("chat_id"), r.status) for r in sends
                                                 if r.status != 200]

    rows = reminder_rows(db_path)
    assert len(rows) == 2 * n
    due_rows = [r for r in rows if r["due_at"] <= moment(now)]
    later_rows = [r for r in rows if r["due_at"] > moment(now)]
    assert len(due_rows) == n and {r["status"] for r in due_rows} == {"sent"}, \
        Counter(r["status"] for r in due_rows)
    # The "when it ends" reminders (2 h away) were neither claimed nor touched.
    assert {(r["status"], r["attempts"]) for r in later_rows} == {("pending", 0)}

    starts = [r.at for r in sends]
    busiest = max_in_window(starts, 0.98)
    tightest = min(b - a for a, b in zip(starts, starts[rate:]))  # span of rate+1 consecutive starts
    elapsed = sends[-1].at - sends[0].at
    print(f"\n[sigkill] sent={len(sends)} chats={len(per_chat)} before_kill={at_kill} "
          f"duplicates={duplicates} (chats {sorted(c for c, k in per_chat.items() if k > 1)}) "
          f"elapsed={elapsed:.2f}s busiest_0.98s_window={busiest} tightest_{rate + 1}_starts={tightest:.3f}s")
    assert busiest <= rate, f"{busiest} sendMessage starts within 0.98 s (limit {rate}/s)"


async def test_blocked_user_fails_once_and_429_is_honoured(
        fake: FakeBotAPI, env: dict[str, str], db_path: Path) -> None:
    now = await seed(db_path, 3, window_started=-timedelta(days=5) + timedelta(hours=2),
                     planned_at=-timedelta(days=3), expect_due=1, expect_pending=2)
    blocked = BASE_UID + 1
    fake.block_user(blocked)
    fake.fail_next("sendMessage", status=429, retry_after=1)
    due = moment(now)

    def due_status(chat_id: int) -> str:
        (row,) = [r for r in reminder_rows(db_path) if r["user_id"] == chat_id and r["due_at"] <= due]
        return row["status"]

    bot = await BotProcess.start(env, fake)
    try:
        await wait_until(bot, lambda: reminders_sent(fake, BASE_UID) and reminders_sent(fake, BASE_UID + 2),
                         timeout=20, what="reminders to chats 10000 and 10002")
        await wait_until(bot, lambda: due_status(blocked) == "failed", timeout=10,
                         what="the blocked chat's reminder to be 'failed'")
        await wait_until(bot, lambda: due_status(BASE_UID) == due_status(BASE_UID + 2) == "sent", timeout=10,
                         what="the other two reminders to be 'sent'")

        attempts = attempts_to(fake, blocked)
        assert [r.status for r in attempts] == [403], [(r.status, r.params) for r in attempts]

        (limited,) = [r for r in fake.requests if r.method == "sendMessage" and r.status == 429]
        chat = limited.params["chat_id"]
        after = [r for r in attempts_to(fake, chat) if r.at > limited.at]
        assert after and after[0].status == 200, [(r.status, r.at) for r in after]
        waited = after[0].at - limited.at
        assert waited >= 1.0, f"retried {waited:.3f}s after a 429 with retry_after=1"
        assert due_status(chat) == "sent"
        assert len(reminders_sent(fake, chat)) == 1

        await asyncio.sleep(3)
        assert bot.proc.returncode is None, bot.describe()
        assert len(attempts_to(fake, blocked)) == 1, [(r.status, r.at) for r in attempts_to(fake, blocked)]
        assert due_status(blocked) == "failed"
        print(f"\n[429/403] 429 on chat {chat}, retried after {waited:.2f}s; "
              f"blocked chat {blocked}: 1 attempt, row failed")
        await stop(bot)
    finally:
        await bot.kill()

    rows = reminder_rows(db_path)
    (failed,) = [r for r in rows if r["status"] == "failed"]
    assert failed["user_id"] == blocked and failed["attempts"] == 1 and "Forbidden" in (failed["error"] or "")


async def test_overdue_after_downtime_is_sent_once_with_fitting_wording(
        fake: FakeBotAPI, env: dict[str, str], db_path: Path) -> None:
    # The seller window ended a day ago: "1 day before" and "when it ends" are both overdue.
    await seed(db_path, 1, window_started=-timedelta(days=6), planned_at=-timedelta(days=7),
               expect_due=2, expect_pending=2)

    bot = await BotProcess.start(env, fake)
    try:
        await wait_until(bot, lambda: bool(attempts_to(fake, BASE_UID)), timeout=20,
                         what="a message to the chat")
        await wait_until(bot, lambda: sorted(r["status"] for r in reminder_rows(db_path)) == ["sent", "skipped"],
                         timeout=10, what="one 'sent' and one 'skipped' row")
        await asyncio.sleep(3)
        sends = attempts_to(fake, BASE_UID)
        assert len(sends) == 1 and sends[0].status == 200, [(r.status, r.params.get("text")) for r in sends]
        text = sends[0].params["text"]
        assert "yesterday" in text or "ended" in text, text
        print(f"\n[overdue] one message: {text!r}")
        await stop(bot)
    finally:
        await bot.kill()

    rows = reminder_rows(db_path)
    by_status = {r["status"]: r for r in rows}
    assert sorted(by_status) == ["sent", "skipped"], [dict(r) for r in rows]
    # The one sent is the latest ("when it ends"); the older "1 day before" is skipped.
    assert by_status["sent"]["due_at"] > by_status["skipped"]["due_at"]
    assert by_status["sent"]["due_at"] == by_status["sent"]["deadline_at"]
