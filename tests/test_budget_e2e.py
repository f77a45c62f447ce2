"""End-to-end: replies and reminders share one send budget in the real bot (``python -m bot``).

The fake Bot API records when each sendMessage arrived. 60 due reminders are being sent
when 20 buyers write at once: the replies go out first, and all sends together stay
within the configured budget. A 429 on a reply is waited out and the reply sent again.
"""
from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from testkit.fake_bot_api import FakeBotAPI
from testkit.processes import BotProcess, max_in_window
from testkit.seeding import BASE_UID, reminders_sent, seed, stop, wait_until

BUYERS = range(20_000, 20_020)
RATE, BURST = 20, 5


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "budget.toml"
    path.write_text(
        "[bot]\npolling_timeout = 1\n\n"
        f"[reminders]\nglobal_per_second = {RATE}\nper_chat_per_second = 1\nlease_seconds = 30\n\n"
        f"[sending]\nper_second = {RATE}\nburst = {BURST}\nreply_max_wait_seconds = 5\n\n"
        "[policy]\ndaytime_start = 00:00:00\ndaytime_end = 23:59:59\n",
        encoding="utf-8")
    return path


def welcomes(fake: FakeBotAPI) -> list:
    return [r for r in fake.requests if r.method == "sendMessage" and r.status == 200
            and r.params.get("chat_id") in BUYERS]


async def test_replies_go_before_reminders_and_all_sends_share_the_budget(
        fake: FakeBotAPI, env: dict[str, str], db_path: Path) -> None:
    n = 60
    await seed(db_path, n, window_started=-timedelta(days=5) + timedelta(hours=2),
               planned_at=-timedelta(days=3), expect_due=1, expect_pending=2)
    bot = await BotProcess.start(env, fake)
    try:
        await wait_until(bot, lambda: len(reminders_sent(fake)) >= 10, timeout=20, what="10 reminders")
        pushed = time.monotonic()
        for uid in BUYERS:
            fake.user_message(uid, "/start")
        await wait_until(bot, lambda: len(welcomes(fake)) == len(BUYERS), timeout=20, what="every welcome")
        await wait_until(bot, lambda: len(reminders_sent(fake)) == n, timeout=20, what="every reminder")
        await stop(bot)
    finally:
        await bot.kill()

    replies = welcomes(fake)
    last_reply = max(r.at for r in replies)
    during = [r for r in reminders_sent(fake) if pushed <= r.at <= last_reply]
    sends = [r.at for r in fake.requests if r.method == "sendMessage"]
    busiest = max_in_window(sends, 0.98)
    slowest = last_reply - pushed
    print(f"\n[budget] {len(BUYERS)} replies within {slowest:.2f}s of the burst while {n} reminders were due; "
          f"reminders sent meanwhile: {len(during)}; busiest 0.98 s: {busiest} sends (budget {RATE}/s + {BURST})")
    assert {r.params["chat_id"] for r in replies} == set(BUYERS)
    assert len({r.params["chat_id"] for r in reminders_sent(fake)}) == n  # no reminder lost to the replies
    assert len(during) <= 3, [r.params["chat_id"] for r in during]  # replies went first
    assert slowest < 2.0
    assert busiest <= RATE + BURST, busiest


async def test_a_reply_hit_by_429_is_sent_after_retry_after(fake: FakeBotAPI, env: dict[str, str]) -> None:
    bot = await BotProcess.start(env, fake)
    try:
        await bot.expect("getUpdates", since=0, what="the first getUpdates")
        fake.fail_next("sendMessage", status=429, retry_after=1)
        fake.user_message(BASE_UID, "/start")
        await bot.expect(lambda r: r.method == "sendMessage" and r.status == 200
                         and r.params.get("chat_id") == BASE_UID, what="the welcome")
        await stop(bot)
    finally:
        await bot.kill()
    attempts = [r for r in fake.requests if r.method == "sendMessage" and r.params.get("chat_id") == BASE_UID]
    assert [r.status for r in attempts] == [429, 200], [(r.status, r.params.get("text")) for r in attempts]
    assert "Start a dispute" in str(attempts[1].params.get("reply_markup"))  # the reply itself, not an apology
    waited = attempts[1].at - attempts[0].at
    print(f"\n[budget] reply 429 retry_after=1: sent again after {waited:.2f}s")
    assert 1.0 <= waited < 2.0
