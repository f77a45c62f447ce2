"""Abuse and faults: duplicates, floods, other people's disputes, tokens in logs, admin, export."""
from __future__ import annotations

import io
import json
import logging

from aiogram.methods import SendDocument

from bot.keyboards import Confirm, OpenDispute, ReminderSnooze, StageAction, StepAnswer, StepNav
from bot.logs import RedactToken
from testkit.chat import TOKEN, BotHarness
from testkit.chat import TODAY
from testkit.intake import walk
from tests.test_lifecycle import open_dispute
from tests.conftest import both_backends


async def test_the_same_update_twice_is_handled_once(user, harness):
    update = {"update_id": 777, "message": user._message(text="/start")}
    await harness.feed(dict(update))
    await harness.feed(dict(update))
    assert len([s for s in user.replies() if s.text]) == 1


async def test_flood_gets_one_warning_then_silence_others_unaffected(tmp_path):
    h = BotHarness(tmp_path / "f.db", TODAY)
    h.config.bot.flood_limit, h.config.bot.flood_window_seconds, h.config.bot.flood_cooldown_seconds = 5, 5, 30
    now = [0.0]
    await h.start()
    h.svc.monotonic = lambda: now[0]
    h.dp = __import__("bot.app", fromlist=["create_dispatcher"]).create_dispatcher(h.svc)
    spammer, calm = h.user(1), h.user(2)
    texts = []
    for _ in range(12):
        texts += [s.text for s in await spammer.send("hello?") if s.text]
    assert sum("Slow down" in t for t in texts) == 1
    assert len(texts) == 6  # five answered, one warning, the rest ignored
    assert [s.text for s in await calm.send("/help") if s.text]  # someone else is served
    now[0] += 31  # the cool-down is over
    assert [s.text for s in await spammer.send("/help") if s.text]
    await h.stop()


async def test_user_b_cannot_touch_user_as_dispute(harness):
    alice, bob = harness.user(1), harness.user(2)
    await walk(alice)
    await open_dispute(alice)
    d = await harness.store.focused_dispute(1)
    (reminder, *_) = await harness.store.list_reminders(d.id)
    before = vars(d).copy()
    await bob.send("/start")
    forged = [
        StepAnswer(dispute_id=d.id, version=d.version, step=d.state, value="d0").pack(),
        StepNav(dispute_id=d.id, version=d.version, action="seller_accepted").pack(),
        StepNav(dispute_id=d.id, version=d.version, action="withdraw").pack(),
        Confirm(dispute_id=d.id, version=d.version, event="withdraw", confirm=True).pack(),
        StageAction(dispute_id=d.id, action="ics").pack(),
        StageAction(dispute_id=d.id, action="mute").pack(),
        OpenDispute(dispute_id=d.id).pack(),
        ReminderSnooze(reminder_id=reminder.id).pack(),
    ]
    for data in forged:
        replies = await bob.tap(data)
        assert bob.alerts(replies) == ["This button is outdated."], data
        assert not any(isinstance(s.method, SendDocument) for s in replies)
    for command in ("/disputes", "/cancel", "/export"):
        replies = await bob.send(command)
        assert "8123456789012345" not in bob.texts(replies)
    assert vars(await harness.store.get_dispute(1, d.id)) == before
    assert await harness.store.get_dispute(2, d.id) is None


def test_the_token_never_reaches_the_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactToken(TOKEN))
    log = logging.getLogger("test.redact")
    log.addHandler(handler)
    try:
        log.error("request to https://api.telegram.org/bot%s/getMe failed", TOKEN)
        try:
            raise ConnectionError(f"cannot reach /bot{TOKEN}/sendMessage")
        except ConnectionError:
            log.exception("send failed")
        log.warning("secret half %s", TOKEN.partition(":")[2])
    finally:
        log.removeHandler(handler)
    output = stream.getvalue()
    assert "<token>" in output and "ConnectionError" in output
    assert TOKEN not in output and TOKEN.partition(":")[2] not in output


async def test_stats_only_for_admins(tmp_path):
    h = BotHarness(tmp_path / "a.db", TODAY)
    h.config.bot.admin_ids = [99]
    await h.start()
    admin, other = h.user(99), h.user(5)
    await walk(other)
    text = admin.texts(await admin.send("/stats"))
    assert "summary: 1" in text and "pending:" in text and "8123456789012345" not in text
    assert "don't know that command" in other.texts(await other.send("/stats"))
    await h.stop()


async def test_export_sends_the_users_own_data(user, harness):
    await walk(user)
    await user.send_photo("p1")
    replies = await user.send("/export")
    (doc,) = [s for s in replies if isinstance(s.method, SendDocument)]
    data = json.loads(doc.method.document.data)
    assert data["user"]["id"] == user.id
    (dispute,) = data["disputes"]
    assert dispute["order_number"] == "8123456789012345" and dispute["state"] == "summary"
    assert [e["file_id"] for e in dispute["evidence"]] == ["p1"]


async def test_forget_deletes_reminders_too(user, harness):
    await walk(user)
    d = await harness.store.focused_dispute(user.id)
    assert await harness.store.list_reminders(d.id)
    await user.send("/forget")
    await user.press("Yes, delete everything")
    assert await harness.store.list_reminders(d.id) == []
    assert await harness.store.list_evidence(d) == []


async def test_a_failed_reply_loses_no_answer(user, harness):
    from aiogram.exceptions import TelegramNetworkError, TelegramServerError
    from aiogram.methods import SendMessage

    from tests.test_intake import focused
    await walk(user, to="reason")
    await user.choose("not_received")
    await user.choose("none")  # tracking: no tracking / invalid number
    harness.session.fail_next(SendMessage, TelegramNetworkError(method=SendMessage(chat_id=1, text="x"),
                                                                message="connection reset"))
    await user.send("8123456789012345")  # saved, but the next question never reached the user
    d = await focused(user)
    assert d.order_number == "8123456789012345" and d.state == "order_total"
    harness.session.fail_next(SendMessage, TelegramServerError(method=SendMessage(chat_id=1, text="x"),
                                                               message="Bad Gateway"))
    await user.send("hello?")  # the re-ask fails too: still nothing lost
    replies = await user.send("hello?")
    assert "How much did you pay" in user.texts(replies)
    assert (await focused(user)).order_number == "8123456789012345"


async def test_sqlite_busy_waits_instead_of_failing(tmp_path):
    import asyncio

    import aiosqlite

    from bot.storage import Storage
    url = f"sqlite:///{tmp_path}/busy.db"
    store = await Storage.open(url)
    d = await store.create_dispute(1, "reason")
    other = await aiosqlite.connect(tmp_path / "busy.db")
    await other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    d.reason = "damaged"
    save = asyncio.create_task(store.save_dispute(d))
    await asyncio.sleep(0.5)
    assert not save.done()  # waiting (busy_timeout), not failed
    await other.execute("COMMIT")
    assert await save
    assert (await store.get_dispute(1, d.id)).reason == "damaged"
    await other.close()
    await store.close()


@both_backends
async def test_a_failed_transaction_rolls_back_whole(database_url):
    from datetime import datetime, timezone

    from bot.storage import Storage
    from flows.reminders import PlannedReminder
    store = await Storage.open(database_url)
    d = await store.create_dispute(1, "reason")
    d.reason = "damaged"
    broken = [PlannedReminder("protection", datetime(2027, 1, 1, tzinfo=timezone.utc), None)]  # deadline missing
    try:
        await store.save_dispute(d, plan=broken)
    except Exception:
        pass
    else:
        raise AssertionError("the broken plan should have failed")
    saved = await store.get_dispute(1, d.id)
    assert saved.reason is None and saved.version == 0  # the dispute row rolled back with the plan
    assert await store.list_reminders(d.id) == []
    await store.close()


async def test_a_failed_spinner_answer_does_not_drop_the_tap(user, harness):
    from aiogram.exceptions import TelegramServerError
    from aiogram.methods import AnswerCallbackQuery

    from tests.test_intake import focused
    await walk(user, to="reason")
    harness.session.fail_next(AnswerCallbackQuery, TelegramServerError(
        method=AnswerCallbackQuery(callback_query_id="x"), message="Internal Server Error"))
    replies = await user.choose("not_received")
    assert "What does the tracking" in user.texts(replies)
    assert (await focused(user)).state == "tracking"


async def test_the_token_stays_out_of_logs_when_real_requests_fail(caplog):
    import socket

    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")))
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(RedactToken(TOKEN))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        try:
            await bot.get_me()
        except Exception:
            logging.getLogger("bot").exception("request failed for %s", bot.session.api.api_url(TOKEN, "getMe"))
        try:
            await bot.download_file("documents/file.jpg")
        except Exception:
            logging.getLogger("bot").exception("download failed")
    finally:
        root.removeHandler(handler)
        await bot.session.close()
    output = handler.stream.getvalue()
    assert "request failed for" in output and "<token>" in output
    assert TOKEN not in output and TOKEN.partition(":")[2] not in output
