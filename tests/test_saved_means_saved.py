"""'Your answers are saved' must be true: faults injected into the calls around a commit.

Each test drives the real Dispatcher (testkit/chat.py), makes one Bot API call fail the way
Telegram or the network does (502, 429, a reset connection), then counts what was stored
and reads what the buyer was told.
"""
from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import AnswerCallbackQuery, EditMessageText

from testkit.intake import walk
from tests.test_intake import focused

SAVED = "Your answers are saved"


def edit_fault(kind: str) -> Exception:
    method = EditMessageText(text="x")
    if kind == "502":
        return TelegramServerError(method=method, message="Bad Gateway")
    if kind == "429":  # short: the budget (bot.budget) waits it out and sends the edit again
        return TelegramRetryAfter(method=method, message="Too Many Requests: retry after 1", retry_after=1)
    return TelegramNetworkError(method=method, message="connection reset by peer")


FAULTS = ["502", "429", "network"]


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_failed_mark_answered_edit_loses_no_tap(user, harness, fault):
    await walk(user, to="reason")
    harness.session.fail_next(EditMessageText, edit_fault(fault))
    replies = await user.choose("not_received")
    d = await focused(user)
    assert d.reason == "not_received" and d.state == "tracking"  # the tap is stored
    text = user.texts(replies)
    assert "tracking on the order page" in text  # the next question went out
    assert "Something went wrong" not in text
    # The next steps work on top of it: nothing to redo.
    await user.choose("none")
    await user.send("8123456789012345")
    assert (await focused(user)).state == "order_total"


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_failed_edit_loses_no_day_the_dispute_was_opened(user, harness, fault):
    await walk(user)
    await user.choose("open_on_aliexpress")
    harness.session.fail_next(EditMessageText, edit_fault(fault))
    await user.choose("d0")
    d = await focused(user)
    assert d.opened_at is not None and d.state not in ("summary", "opening")


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_failed_edit_loses_no_confirmed_cancel(user, harness, fault):
    await walk(user, to="reason")
    await user.choose("not_received")
    d = await focused(user)
    await user.send("/cancel")
    harness.session.fail_next(EditMessageText, edit_fault(fault))
    replies = await user.press("Yes, cancel it")
    assert (await harness.store.get_dispute(user.id, d.id)).state == "cancelled"
    assert await focused(user) is None
    assert "cancelled" in user.texts(replies) and "Something went wrong" not in user.texts(replies)


async def test_a_long_429_on_the_edit_loses_nothing_and_claims_nothing(user, harness):
    import asyncio
    await walk(user, to="reason")
    harness.budget.reply_max_wait = 0.5  # retry_after=1 is "long": every send is given up until it passes
    harness.session.fail_next(EditMessageText, TelegramRetryAfter(
        method=EditMessageText(text="x"), message="Too Many Requests: retry after 1", retry_after=1))
    replies = await user.choose("not_received")
    assert (await focused(user)).state == "tracking"  # the tap is stored
    assert [s for s in replies if s.text] == []  # and nothing was said while Telegram asked to wait
    await asyncio.sleep(1.1)
    replies = await user.send("hello?")  # the buyer's next message gets the question again
    assert "tracking on the order page" in user.texts(replies)


async def test_the_edit_marks_the_question_only_after_the_save(user, harness):
    await walk(user, to="reason")
    calls = []
    store = harness.store
    real_save = store.save_dispute

    async def save(d, **kw):
        calls.append("save")
        return await real_save(d, **kw)

    store.save_dispute = save
    real_edit = harness.session.make_request

    async def request(bot, method, timeout=None):
        if isinstance(method, EditMessageText):
            calls.append("edit")
        return await real_edit(bot, method, timeout)

    harness.session.make_request = request
    await user.choose("not_received")
    assert calls == ["save", "edit"]


async def test_a_tap_that_could_not_be_saved_is_never_called_saved(user, harness):
    import sqlite3
    await walk(user, to="reason")

    async def broken_save(d, **kw):
        raise sqlite3.OperationalError("disk I/O error")

    harness.store.save_dispute = broken_save
    replies = await user.choose("not_received")
    text = user.texts(replies)
    assert SAVED not in text and "may not have been saved" in text
    # and nothing claimed the question answered
    assert not any(isinstance(s.method, EditMessageText) for s in replies)


async def test_a_reply_that_fails_after_the_save_says_saved(user, harness):
    from aiogram.methods import SendMessage
    await walk(user, to="reason")
    for _ in range(2):  # the reply and its one retry (bot.budget)
        harness.session.fail_next(SendMessage, TelegramServerError(method=SendMessage(chat_id=1, text="x"),
                                                                   message="Bad Gateway"))
    replies = await user.choose("not_received")
    assert SAVED in user.texts(replies)
    assert (await focused(user)).state == "tracking"


async def test_a_reply_that_fails_once_is_sent_again(user, harness):
    from aiogram.methods import SendMessage
    await walk(user, to="reason")
    harness.session.fail_next(SendMessage, TelegramServerError(method=SendMessage(chat_id=1, text="x"),
                                                               message="Bad Gateway"))
    replies = await user.choose("not_received")
    text = user.texts(replies)
    assert "tracking on the order page" in text and "Something went wrong" not in text
    assert (await focused(user)).state == "tracking"


async def test_spinner_and_edit_both_failing_lose_nothing(user, harness):
    await walk(user, to="reason")
    harness.session.fail_next(AnswerCallbackQuery, TelegramRetryAfter(
        method=AnswerCallbackQuery(callback_query_id="x"), message="Too Many Requests", retry_after=5))
    harness.session.fail_next(EditMessageText, edit_fault("502"))
    replies = await user.choose("not_received")
    assert (await focused(user)).state == "tracking"
    assert "tracking on the order page" in user.texts(replies)


# --- item 2: the AliExpress-ready fix runs after the photo is stored --------------------

def server_error(method) -> Exception:
    return TelegramServerError(method=method, message="Bad Gateway")


async def send_oversized(user, harness, file_id="big-1"):
    from tests.test_evidence import document, noise_png
    data = noise_png()
    harness.session.files[file_id] = data
    return await user.send(**document(file_id, "receipt.png", "image/png", len(data)))


@pytest.mark.parametrize("failing", ["getFile", "download", "sendDocument"])
async def test_a_failed_fix_keeps_the_photo_and_says_so(user, harness, failing):
    import aiohttp
    from aiogram.methods import GetFile, SendDocument
    from tests.test_evidence import to_evidence_step
    await to_evidence_step(user)
    if failing == "getFile":
        harness.session.fail_next(GetFile, server_error(GetFile(file_id="big-1")))
    elif failing == "sendDocument":
        for _ in range(2):  # the upload and its one retry (bot.budget)
            harness.session.fail_next(SendDocument, server_error(SendDocument(chat_id=1, document="x")))
    else:
        async def broken_stream(*args, **kwargs):
            raise aiohttp.ClientConnectionError("connection reset")
            yield b""

        harness.session.stream_content = broken_stream
    replies = await send_oversized(user, harness)
    (item,) = await harness.store.list_evidence(await focused(user))
    assert item.file_id == "big-1" and "too_big" in item.flags  # the original, kept and flagged
    text = user.texts(replies)
    assert "kept as evidence" in text and "couldn't make the AliExpress-ready copy" in text
    assert "📷 Photo saved. 1 piece of evidence so far." in text
    assert "Something went wrong" not in text and "Made AliExpress-ready" not in text


async def test_the_photo_is_stored_before_the_download_starts(user, harness):
    from aiogram.methods import GetFile
    from tests.test_evidence import to_evidence_step
    await to_evidence_step(user)
    stored_at_download = []
    real = harness.session.make_request

    async def request(bot, method, timeout=None):
        if isinstance(method, GetFile):
            stored_at_download.append(len(await harness.store.list_evidence(await focused(user))))
        return await real(bot, method, timeout)

    harness.session.make_request = request
    await send_oversized(user, harness)
    assert stored_at_download == [1]
    (item,) = await harness.store.list_evidence(await focused(user))
    assert item.flags == {"fixed"} and item.file_id.startswith("sent-")  # then improved in place


# --- item 3: flood control never drops evidence ---------------------------------------

def default_flood(tmp_path):
    """A harness with the shipped flood limits (20 updates in 5 s, a 20 s cool-down)."""
    from bot.config import BotSection
    from testkit.chat import BotHarness
    from testkit.chat import TODAY
    h = BotHarness(tmp_path / "flood.db", TODAY)
    shipped = BotSection()
    h.config.bot.flood_limit = shipped.flood_limit
    h.config.bot.flood_window_seconds = shipped.flood_window_seconds
    h.config.bot.flood_cooldown_seconds = shipped.flood_cooldown_seconds
    assert (h.config.bot.flood_limit, h.config.bot.flood_window_seconds) == (20, 5)
    return h


def forwarded(user, n: int) -> dict:
    return {"message": user._message(text=f"Seller message {n}: the parcel is on its way", forward_origin={
        "type": "hidden_user", "sender_user_name": "Best Store", "date": 1_762_767_000 + n})}


def album_photo(user, n: int, group: str = "grp-9") -> dict:
    return {"message": user._message(media_group_id=group, photo=[{
        "file_id": f"{group}-{n}", "file_unique_id": f"u-{group}-{n}", "width": 1280, "height": 960,
        "file_size": 300_000}])}


async def burst(h, updates: list[dict]) -> None:
    """As long polling delivers a batch: every update at once, each in its own task."""
    import asyncio
    await asyncio.gather(*(h.feed(u) for u in updates))
    await h.settle()


async def test_a_burst_of_30_forwards_is_all_stored_and_counted(tmp_path):
    from tests.test_evidence import to_evidence_step
    h = await default_flood(tmp_path).start()
    try:
        user = h.user()
        await to_evidence_step(user)
        user.replies()
        await burst(h, [forwarded(user, n) for n in range(30)])
        items = await h.store.list_evidence(await focused(user))
        assert len(items) == 30 and sorted(int(i.text.split()[2][:-1]) for i in items) == list(range(30))
        texts = [s.text for s in user.replies() if s.text]
        assert not any("Slow down" in t for t in texts)
        assert texts == ["📥 Saved: 30 seller messages.\n30 pieces of evidence so far."]
    finally:
        await h.stop()


async def test_an_album_and_12_forwards_are_all_stored_and_counted(tmp_path):
    from tests.test_evidence import to_evidence_step
    h = await default_flood(tmp_path).start()
    try:
        user = h.user()
        await to_evidence_step(user)
        user.replies()
        await burst(h, [album_photo(user, n) for n in range(10)] + [forwarded(user, n) for n in range(12)])
        items = await h.store.list_evidence(await focused(user))
        assert [i.kind.value for i in items].count("image") == 10
        assert [i.kind.value for i in items].count("forward") == 12
        text = user.texts(user.replies())
        assert "Slow down" not in text
        assert "🖼 Album saved: 10 files." in text and "📥 Saved: 12 seller messages." in text
        assert "22 pieces of evidence so far." in text
    finally:
        await h.stop()


async def test_what_a_burst_could_not_keep_is_named(tmp_path):
    from tests.test_evidence import document, to_evidence_step
    h = await default_flood(tmp_path).start()
    try:
        user = h.user()
        await to_evidence_step(user)
        user.replies()
        files = [{"message": user._message(**document("d1", "claim.docx", "application/msword", 10_000))},
                 {"message": user._message(**document("d2", "setup.exe", "application/x-msdownload", 10_000))}]
        await burst(h, [forwarded(user, n) for n in range(5)] + files + [forwarded(user, n) for n in range(5, 8)])
        assert len(await h.store.list_evidence(await focused(user))) == 8
        (text,) = [s.text for s in user.replies() if s.text]
        assert text.splitlines() == [
            "📥 Saved: 8 seller messages.",
            "⚠️ Not kept (2): claim.docx, setup.exe. AliExpress takes only photos (jpg, png, bmp, gif) and videos.",
            "8 pieces of evidence so far."]
    finally:
        await h.stop()


async def test_evidence_gets_through_a_text_spammers_cool_down(tmp_path):
    h = await default_flood(tmp_path).start()
    try:
        from tests.test_evidence import to_evidence_step
        user = h.user()
        await to_evidence_step(user)
        user.replies()
        replies = []
        for _ in range(25):  # text spam still earns the cool-down
            replies += await user.send("/help")
        assert sum("Slow down" in s.text for s in replies) == 1
        assert [s for s in await user.send("/help") if s.text] == []  # ignored while cooling down
        replies = await user.forward("We can give you $2 if you close the dispute")
        assert "saved" in user.texts(replies)
        assert len(await h.store.list_evidence(await focused(user))) == 1
    finally:
        await h.stop()


async def test_a_burst_with_no_dispute_is_told_once_what_was_not_kept(tmp_path):
    h = await default_flood(tmp_path).start()
    try:
        user = h.user()
        await burst(h, [forwarded(user, n) for n in range(30)])
        assert await h.store.list_disputes(user.id) == []
        (text,) = [s.text for s in user.replies() if s.text]
        assert text == "⚠️ Not kept: 30 items, because no dispute is in progress. Send /new to start one."
    finally:
        await h.stop()


async def test_a_burst_leaves_nothing_behind_in_memory(tmp_path):
    from tests.test_evidence import to_evidence_step
    h = await default_flood(tmp_path).start()
    try:
        user = h.user()
        await to_evidence_step(user)
        await burst(h, [forwarded(user, n) for n in range(30)] + [album_photo(user, n) for n in range(3)])
        locks = h.dp.fsm.events_isolation
        assert locks.held() == 0 and locks.queued(user.id) == 0 and locks._by_user == {}
        assert h.svc.albums._tasks == {} and h.svc.albums._parts == {}
    finally:
        await h.stop()


async def test_a_burst_of_pressuring_forwards_is_warned_once_and_all_flagged(tmp_path):
    from tests.test_evidence import to_evidence_step
    h = await default_flood(tmp_path).start()
    try:
        user = h.user()
        await to_evidence_step(user)
        user.replies()
        pressure = [{"message": user._message(text=f"Please close the dispute and I send you a coupon ({n})",
                                              forward_origin={"type": "hidden_user", "sender_user_name": "Shop",
                                                              "date": 1_762_767_000 + n})} for n in range(30)]
        await burst(h, pressure)
        items = await h.store.list_evidence(await focused(user))
        assert len(items) == 30 and all("pressure:cancel_dispute" in i.flags for i in items)
        texts = [s.text for s in user.replies() if s.text]
        assert len(texts) == 2, texts
        assert "asks you to cancel or close the dispute. Don't." in texts[0]
        assert texts[1] == "📥 Saved: 30 seller messages.\n30 pieces of evidence so far."
    finally:
        await h.stop()
