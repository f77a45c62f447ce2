"""End-to-end: a batch of forwarded messages through the real bot (``python -m bot``) and long polling.

The fake Bot API hands the 30 updates to one getUpdates, as Telegram does when a buyer
forwards a batch: with the shipped flood limits (20 updates in 5 s) every one is stored,
and the buyer gets one line with the count.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from testkit.fake_bot_api import FakeBotAPI
from testkit.processes import BotProcess
from tests.test_e2e import USER, press, sent_to
from testkit.seeding import stop, wait_until


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "evidence.toml"
    path.write_text("[bot]\npolling_timeout = 1\n", encoding="utf-8")  # flood limits as shipped
    return path


def stored(db_path: Path) -> int:
    with sqlite3.connect(db_path) as db:
        (n,) = db.execute("SELECT COUNT(*) FROM evidence").fetchone()
    db.close()
    return n


async def test_30_forwards_in_one_batch_are_all_stored_with_one_acknowledgement(
        fake: FakeBotAPI, env: dict[str, str], db_path: Path) -> None:
    bot = await BotProcess.start(env, fake)
    try:
        await bot.expect("getUpdates", since=0, what="the first getUpdates")
        fake.user_message(USER, "/start")
        welcome = await bot.expect(sent_to(USER, button="Start a dispute"), what="the welcome")
        await press(bot, fake, welcome, "Start a dispute", sent_to(USER, text="What went wrong"), "the first question")
        mark = fake.mark()
        for n in range(30):
            fake.user_message(USER, f"Seller message {n}", forward_origin={
                "type": "hidden_user", "sender_user_name": "Best Store", "date": 1_762_767_000 + n})
        ack = await bot.expect(sent_to(USER, text="Saved:"), since=mark, what="the batch acknowledgement")
        await wait_until(bot, lambda: stored(db_path) == 30, timeout=10, what="30 stored forwards")
        await stop(bot)
    finally:
        await bot.kill()
    replies = [r.params["text"] for r in fake.requests[mark:]
               if r.method == "sendMessage" and r.status == 200 and r.params.get("chat_id") == USER]
    print(f"\n[evidence] 30 forwards in one batch: {stored(db_path)} stored; replies: {replies}")
    assert ack.params["text"] == "📥 Saved: 30 seller messages.\n30 pieces of evidence so far."
    assert replies == [ack.params["text"]]  # no "slow down", no line per message
