"""bot.cosmetic: spinner and "answered" edits run beside the next question, never lose or raise."""
from __future__ import annotations

import asyncio
import logging

import pytest

import bot.cosmetic
from bot.cosmetic import Cosmetics, cosmetic
from testkit.intake import walk


async def test_cosmetic_calls_run_beside_and_the_update_waits_for_them(caplog):
    order: list[str] = []
    release = asyncio.Event()

    async def slow_spinner():
        order.append("spinner sent")
        await release.wait()
        order.append("spinner answered")

    async def failing_edit():
        order.append("edit sent")
        raise ConnectionError("network")

    async def handler(event, data):
        await cosmetic(slow_spinner(), "answerCallbackQuery")
        await cosmetic(failing_edit(), "marking the answered question")
        order.append("next question")  # not held up by the spinner's round trip
        asyncio.get_running_loop().call_later(0.01, release.set)
        return "handled"

    with caplog.at_level(logging.WARNING, logger="bot.cosmetic"):
        assert await Cosmetics()(handler, object(), {}) == "handled"
    # Started in order, the next question before the spinner's answer; all over when the update is.
    assert order == ["spinner sent", "edit sent", "next question", "spinner answered"]
    assert "marking the answered question failed: ConnectionError" in caplog.text


async def test_switched_off_or_outside_an_update_they_are_awaited_in_place(monkeypatch):
    order: list[str] = []

    async def call():
        await asyncio.sleep(0.01)
        order.append("cosmetic")

    await cosmetic(call())  # no update tracks it: in place
    order.append("after")
    monkeypatch.setattr(bot.cosmetic, "CONCURRENT", False)

    async def handler(event, data):
        await cosmetic(call())
        order.append("after")

    await Cosmetics()(handler, object(), {})
    assert order == ["cosmetic", "after", "cosmetic", "after"]


async def test_a_tap_answers_the_spinner_marks_the_question_and_asks_next_in_order(user):
    await user.send("/start")
    await user.press("Start a dispute")
    replies = await user.press("Item not received")
    methods = [type(s.method).__name__ for s in replies]
    assert methods == ["AnswerCallbackQuery", "EditMessageText", "SendMessage"]


async def test_a_cosmetic_edit_takes_its_chats_token_only_when_one_is_left_for_the_question():
    """Edits count against a chat's limit like messages (Telegram: the limits are shared); the edit that
    marks a question answered must still never make the next question wait."""
    from aiogram.methods import EditMessageText, SendMessage

    from bot.budget import NoSpareSlot, SendBudget, cosmetic_call

    now = [0.0]
    budget = SendBudget(per_second=1000, burst=10, chat_per_second=1, chat_burst=4, clock=lambda: now[0])
    made: list[str] = []

    async def make_request(bot, method):
        made.append(type(method).__name__)
        return True

    def edit() -> EditMessageText:
        return EditMessageText(chat_id=7, message_id=1, text="q\n→ a")

    token = cosmetic_call.set(True)
    try:
        await budget(make_request, None, edit())  # four tokens: it takes one
        await budget(make_request, None, edit())  # three: it takes one, two are left
        with pytest.raises(NoSpareSlot) as put_off:
            await budget(make_request, None, edit())  # the last two are the answer's (the summary is two)
    finally:
        cosmetic_call.reset(token)
    assert put_off.value.wait == pytest.approx(1.0)  # until there would be three again
    started = asyncio.get_running_loop().time()
    for part in ("summary", "explanation to paste"):
        await budget(make_request, None, SendMessage(chat_id=7, text=part))
    assert asyncio.get_running_loop().time() - started < 0.5  # both took the tokens left, at once
    assert made == ["EditMessageText", "EditMessageText", "SendMessage", "SendMessage"]
    # An edit that is the reply itself is paced in line, as a message: the chat has no token left.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(budget(make_request, None, edit()), 0.3)


async def test_a_put_off_edit_is_made_later_and_the_update_does_not_wait_for_it(user, harness):
    harness.budget.chat_per_second, harness.budget.chat_burst = 5, 3  # a token each 0.2 s
    await walk(user, to="reason")
    harness.budget._chats[user.id] = (0.0, harness.budget.clock())  # the chat spent its burst
    started = asyncio.get_running_loop().time()
    replies = await user.press("Item not received")
    took = asyncio.get_running_loop().time() - started
    methods = [type(s.method).__name__ for s in replies]
    assert methods == ["AnswerCallbackQuery", "SendMessage"], methods  # the question, not held up
    assert took < 0.35, took  # the question's token (0.2 s), not the edit's as well
    await asyncio.sleep(1.2)  # the bucket back to three tokens (0.6 s from empty) and a retry or two
    later = [type(s.method).__name__ for s in user.replies()]
    assert later == ["EditMessageText"], later  # then the question was marked answered
