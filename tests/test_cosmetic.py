"""bot.cosmetic: spinner and "answered" edits run beside the next question, never lose or raise."""
from __future__ import annotations

import asyncio
import logging

import bot.cosmetic
from bot.cosmetic import Cosmetics, cosmetic


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


async def test_an_edit_does_not_take_the_next_questions_per_chat_slot():
    from aiogram.methods import EditMessageText, SendMessage

    from bot.budget import SendBudget

    now = [0.0]
    budget = SendBudget(per_second=1000, burst=10, chat_per_second=1, chat_burst=1, clock=lambda: now[0])

    async def make_request(bot, method):
        return True

    edit = EditMessageText(chat_id=7, message_id=1, text="q\n→ a")
    started = asyncio.get_running_loop().time()
    await budget(make_request, None, edit)
    await budget(make_request, None, SendMessage(chat_id=7, text="next question"))
    assert asyncio.get_running_loop().time() - started < 0.5  # the chat's one slot went to the message
