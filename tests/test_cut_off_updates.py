"""An update cut off by SIGKILL is not swallowed: after the restart its chat gets the
current question again, with a word on why (Telegram's offset was confirmed already,
so the update itself never comes back)."""
from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from bot.resume import resume_cut_off
from testkit.chat import BotHarness, ChatUser
from testkit.fake_bot_api import FakeBotAPI
from testkit.processes import BotProcess, quiet_restart
from tests.test_e2e import USER, press, sent_to, wait_confirmed

NOTE = {"en": "I restarted while I was handling your last message.",
        "ru": "Я перезапустился, пока обрабатывал ваше последнее сообщение.",
        "es": "Me reinicié mientras procesaba tu último mensaje.",
        "de": "Ich wurde neu gestartet, während ich deine letzte Nachricht bearbeitet habe."}
ORDER = "8123456789012345"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "e2e.toml"
    path.write_text("[bot]\npolling_timeout = 1\n", encoding="utf-8")
    return path


def in_flight(db_path: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        return db.execute("SELECT update_id, chat_id FROM processed_updates WHERE done = 0").fetchall()


async def test_sigkill_mid_update_the_buyer_gets_the_question_again(fake: FakeBotAPI, env, db_path):
    first = await BotProcess.start(env, fake)
    try:
        await first.expect("getUpdates", since=0, what="polling")
        fake.user_message(USER, "/start")
        welcome = await first.expect(sent_to(USER, button="Start a dispute"), what="the welcome")
        reason = await press(first, fake, welcome, "Start a dispute", sent_to(USER, text="What went wrong"),
                             "the reason question")
        tracking = await press(first, fake, reason, "Item not received", sent_to(USER, text="tracking"),
                               "the tracking question")
        await press(first, fake, tracking, "No tracking", sent_to(USER, text="order number"),
                    "the order number question")
        # The answer is saved, then the reply hangs on a slow network: the process dies there.
        fake.delay_next("sendMessage", 60)
        since = fake.mark()
        update_id = fake.user_message(USER, ORDER)
        deadline = time.monotonic() + 10
        while not [r for r in fake.requests[since:] if r.method == "sendMessage" and r.status is None]:
            assert time.monotonic() < deadline, first.describe()
            await asyncio.sleep(0.02)
        await wait_confirmed(first, update_id)  # Telegram will not deliver it again
        assert in_flight(db_path) == [(update_id, USER)]
        first.proc.kill()
        await first.proc.wait()
    finally:
        await first.kill()

    assert not fake.updates  # nothing left to redeliver: without the fix, silence
    since = fake.mark()
    second = await BotProcess.start(env, fake)
    try:
        again = await second.expect(sent_to(USER, text=NOTE["en"]), since=since, what="the resumed question")
        assert "How much did you pay" in again.params["text"], again.params["text"]  # the order number was saved
        await asyncio.sleep(0.5)
        resumed = [p for p in fake.sent_messages(USER)[-3:] if NOTE["en"] in p.get("text", "")]
        assert len(resumed) == 1
        assert in_flight(db_path) == []
        # The buyer carries on from there.
        fake.user_message(USER, "$25.90")
        await second.expect(sent_to(USER, text="ship"), what="the next question")
        assert await second.terminate() == 0, second.describe()
    finally:
        await second.kill()
    # A clean stop leaves nothing in flight: the next start says nothing.
    assert not [r for r in await quiet_restart(env, fake) if r.method == "sendMessage"]


@pytest.mark.parametrize("lang", ["en", "ru", "es", "de"])
async def test_resume_speaks_the_buyers_language_and_marks_done(harness: BotHarness, lang: str):
    user = harness.user(language_code=lang)
    await user.send("/start")
    await user.choose("new")
    await harness.store.set_locale(user.id, lang)
    user.replies()
    assert await harness.store.first_delivery(10_000, chat_id=user.id)  # started, never finished
    assert await harness.store.cut_off() == [(10_000, user.id, False)]  # no answer committed, no payload

    assert await resume_cut_off(harness.bot, harness.svc) == 1
    (sent,) = user.replies()
    assert NOTE[lang] in sent.text and sent.buttons(), sent.text  # the note, then the question with its buttons
    assert await harness.store.cut_off() == []
    assert not await harness.store.first_delivery(10_000, chat_id=user.id)  # still handled once
    assert await resume_cut_off(harness.bot, harness.svc) == 0


async def test_every_handled_update_is_marked_done(harness: BotHarness, user: ChatUser):
    await user.send("/start")
    await user.press("Start a dispute")
    await user.send("/help")
    for _ in range(100):  # marked in the background, right after each reply
        if await harness.store.cut_off() == []:
            break
        await asyncio.sleep(0.01)
    assert await harness.store.cut_off() == []


async def test_updates_received_but_never_started_are_replayed_once_after_a_restart(harness: BotHarness):
    """Polling confirms a batch to Telegram with the next getUpdates; the bot stores each update as it
    arrives (bot.app.RecordReceived), so a process killed before handling them replays them at the next
    start instead of losing them (bot.resume.replay_received)."""
    from aiogram.types import Update

    from bot.middlewares import private_chat
    from bot.resume import replay_received

    user = harness.user(6001)
    await user.send("/start")
    await user.choose("new")  # a dispute to keep evidence for
    d = await harness.store.focused_dispute(user.id)
    base = {"chat": {"id": user.id, "type": "private"}, "from": {"id": user.id, "is_bot": False, "first_name": "A"},
            "date": 1_790_000_000,
            "forward_origin": {"type": "hidden_user", "sender_user_name": "Shop", "date": 1_790_000_000}}
    received = [Update.model_validate({"update_id": 900 + n, "message": {**base, "message_id": 50 + n,
                                                                         "text": f"seller message {n}"}})
                for n in range(3)]
    await harness.store.receive_updates([(u.update_id, private_chat(u), u.model_dump_json(exclude_none=True))
                                         for u in received])
    await harness.restart()  # killed before any of them was handled
    user.replies()
    assert await replay_received(harness.bot, harness.dp, harness.svc) == 3
    await harness.settle()  # a batch: one line when it's over
    texts = [i.text for i in await harness.store.list_evidence(d)]
    assert texts == ["seller message 0", "seller message 1", "seller message 2"]
    assert user.replies()  # the buyer heard back
    assert await harness.store.cut_off() == []  # handled, nothing left to re-ask
    # Polling delivering them again (or a second start) changes nothing.
    assert await replay_received(harness.bot, harness.dp, harness.svc) == 0
    for u in received:
        await harness.dp.feed_update(harness.bot, u)
    assert len(await harness.store.list_evidence(d)) == 3
