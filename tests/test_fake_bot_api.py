"""Self-tests for testkit/fake_bot_api.py, driven by a real in-process aiogram client."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter,
                                TelegramServerError)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def bot(fake):
    b = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
    yield b
    await b.session.close()


async def test_get_me(bot, fake):
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "dispute_test_bot")
    assert [r.method for r in fake.requests] == ["getMe"]


async def test_wrong_token_is_unauthorized(fake):
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{fake.url}/bot1:wrong/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {"ok": False, "error_code": 401,
                                         "description": "Unauthorized"}
    assert fake.requests == []


async def test_send_message_records_markup(bot, fake):
    kb = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="y")]])
    first = await bot.send_message(42, "hello", reply_markup=kb)
    second = await bot.send_message(42, "again")
    assert (first.message_id, second.message_id) == (1, 2)
    assert first.text == "hello" and first.chat.id == 42
    assert first.reply_markup.inline_keyboard[0][0].callback_data == "y"
    params = fake.sent_messages(42)[0]
    assert params["chat_id"] == 42 and params["text"] == "hello"
    assert params["reply_markup"] == {"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]}
    assert fake.sent_messages(7) == []

    edited = await bot.edit_message_text("changed", chat_id=42, message_id=1)
    assert edited.text == "changed" and edited.reply_markup is None
    assert [p["text"] for p in fake.sent_messages()] == ["hello", "again", "changed"]


async def test_long_poll_wakes_on_push(bot, fake):
    async def push_later():
        await asyncio.sleep(0.2)
        return fake.user_message(42, "/start")

    started = time.monotonic()
    updates, update_id = await asyncio.gather(bot.get_updates(offset=0, timeout=5), push_later())
    assert time.monotonic() - started < 2
    assert [u.update_id for u in updates] == [update_id]
    msg = updates[0].message
    assert msg.text == "/start" and msg.from_user.id == 42 and msg.chat.type == "private"
    assert msg.entities[0].type == "bot_command"


async def test_long_poll_times_out_empty(bot, fake):
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 < time.monotonic() - started < 2.5


async def test_offset_confirms_updates(bot, fake):
    first = fake.user_message(1, "a")
    second = fake.user_callback(1, "pick:2", message_id=5)
    assert [u.update_id for u in await bot.get_updates()] == [first, second]
    assert [u.update_id for u in await bot.get_updates(offset=second)] == [second]
    cq = (await bot.get_updates(offset=second, limit=1))[0].callback_query
    assert cq.data == "pick:2" and cq.message.message_id == 5 and cq.from_user.id == 1
    assert await bot.get_updates(offset=second + 1) == []
    assert not fake.updates  # confirmed updates are gone


async def test_fail_next_429_and_5xx(bot, fake):
    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(42, "x")
    assert exc.value.retry_after == 7
    fake.fail_next("sendMessage", status=502, times=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(42, "x")
    await bot.send_message(42, "x")  # faults used up
    assert [r.status for r in fake.calls("sendMessage")] == [429, 502, 502, 200]
    assert len(fake.sent_messages(42)) == 1


async def test_blocked_user(bot, fake):
    fake.block_user(99)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(99, "hi")
    await bot.send_message(100, "hi")
    assert fake.sent_messages(99) == [] and len(fake.sent_messages(100)) == 1


async def test_get_file_and_download(bot, fake):
    fake.files["doc1"] = b"%PDF-1.4 receipt"
    f = await bot.get_file("doc1")
    assert f.file_path == "documents/doc1" and f.file_size == 16
    assert (await bot.download("doc1")).read() == b"%PDF-1.4 receipt"
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")


async def test_send_document_multipart(bot, fake):
    msg = await bot.send_document(42, BufferedInputFile(b"a,b\n1,2\n", filename="report.csv"),
                                  caption="your report")
    assert msg.document.file_name == "report.csv" and msg.caption == "your report"
    params = fake.sent_messages(42)[0]
    assert params["document"] == {"filename": "report.csv", "size": 8, "bytes": b"a,b\n1,2\n"}
    assert fake.files[msg.document.file_id] == b"a,b\n1,2\n"


async def test_unknown_method_and_ok_true_methods(bot, fake):
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{fake.url}/bot{fake.token}/frobnicate", json={"x": 1}) as resp:
            assert resp.status == 404
            assert (await resp.json())["description"] == "Not Found: method not found"
    assert fake.calls("frobnicate")[0].params == {"x": 1}
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert await bot.get_my_commands() == []


async def test_wait_for_sees_requests_after_push(bot, fake):
    await bot.send_message(42, "before")
    fake.user_message(42, "hi")

    async def respond():
        await asyncio.sleep(0.1)
        await bot.send_message(42, "after")

    task = asyncio.create_task(respond())
    req = await fake.wait_for(lambda r: r.method == "sendMessage", timeout=2)
    assert req.params["text"] == "after"
    await task
    with pytest.raises(TimeoutError, match="sendMessage"):
        await fake.wait_for("editMessageText", timeout=0.2)


async def test_overlapping_polls_end_the_older_with_409(bot, fake):
    from aiogram.exceptions import TelegramConflictError
    other = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
    try:
        older = asyncio.ensure_future(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        newer = asyncio.ensure_future(other.get_updates(timeout=1))
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
            await older
        assert time.monotonic() - started < 0.5  # at once, not at the older poll's timeout
        assert await newer == []
        assert [r.status for r in fake.calls("getUpdates")] == [409, 200]
        # One poller alone never conflicts with itself.
        assert await bot.get_updates(timeout=0) == []
    finally:
        await other.session.close()
