"""'Your answers are saved' must be true: faults injected into the calls around a commit.

Each test drives the real Dispatcher (tests/chat.py), makes one Bot API call fail the way
Telegram or the network does (502, 429, a reset connection), then counts what was stored
and reads what the buyer was told.
"""
from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import AnswerCallbackQuery, EditMessageText

from tests.test_intake import begin, focused
from tests.test_lifecycle import to_summary

SAVED = "Your answers are saved"


def edit_fault(kind: str) -> Exception:
    method = EditMessageText(text="x")
    if kind == "502":
        return TelegramServerError(method=method, message="Bad Gateway")
    if kind == "429":
        return TelegramRetryAfter(method=method, message="Too Many Requests: retry after 30", retry_after=30)
    return TelegramNetworkError(method=method, message="connection reset by peer")


FAULTS = ["502", "429", "network"]


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_failed_mark_answered_edit_loses_no_tap(user, harness, fault):
    await begin(user)
    harness.session.fail_next(EditMessageText, edit_fault(fault))
    replies = await user.choose("not_received")
    d = await focused(user)
    assert d.reason == "not_received" and d.state == "order_number"  # the tap is stored
    text = user.texts(replies)
    assert "order number" in text  # the next question went out
    assert "Something went wrong" not in text
    # The next steps work on top of it: nothing to redo.
    await user.send("8123456789012345")
    assert (await focused(user)).state == "order_total"


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_failed_edit_loses_no_day_the_dispute_was_opened(user, harness, fault):
    await to_summary(user)
    await user.choose("open_on_aliexpress")
    harness.session.fail_next(EditMessageText, edit_fault(fault))
    await user.choose("d0")
    d = await focused(user)
    assert d.opened_at is not None and d.state not in ("summary", "opening")


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_failed_edit_loses_no_confirmed_cancel(user, harness, fault):
    await begin(user)
    await user.choose("not_received")
    d = await focused(user)
    await user.send("/cancel")
    harness.session.fail_next(EditMessageText, edit_fault(fault))
    replies = await user.press("Yes, cancel it")
    assert (await harness.store.get_dispute(user.id, d.id)).state == "cancelled"
    assert await focused(user) is None
    assert "cancelled" in user.texts(replies) and "Something went wrong" not in user.texts(replies)


async def test_the_edit_marks_the_question_only_after_the_save(user, harness):
    await begin(user)
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
    await begin(user)

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
    await begin(user)
    harness.session.fail_next(SendMessage, TelegramServerError(method=SendMessage(chat_id=1, text="x"),
                                                               message="Bad Gateway"))
    replies = await user.choose("not_received")
    assert SAVED in user.texts(replies)
    assert (await focused(user)).state == "order_number"


async def test_spinner_and_edit_both_failing_lose_nothing(user, harness):
    await begin(user)
    harness.session.fail_next(AnswerCallbackQuery, TelegramRetryAfter(
        method=AnswerCallbackQuery(callback_query_id="x"), message="Too Many Requests", retry_after=5))
    harness.session.fail_next(EditMessageText, edit_fault("502"))
    replies = await user.choose("not_received")
    assert (await focused(user)).state == "order_number"
    assert "order number" in user.texts(replies)


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
