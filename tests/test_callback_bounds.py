"""Forged callback data with integers SQLite can't hold (above 2^63) gets the normal
"outdated button" answer and changes nothing (it used to raise OverflowError at the
database and leave the button spinning)."""
from __future__ import annotations

import pytest
from aiogram.methods import AnswerCallbackQuery

from testkit.chat import BotHarness, ChatUser

HUGE = str(2**63)          # one past SQLite's largest integer
HUGER = str(2**64 + 12345)
OUTDATED = "This button is outdated."


async def started(harness: BotHarness) -> tuple[ChatUser, int]:
    user = harness.user()
    await user.send("/start")
    await user.press("Start a dispute")
    d = await harness.store.focused_dispute(user.id)
    assert d is not None and d.state == "reason"
    user.replies()
    return user, d.id


@pytest.mark.parametrize("forged", [
    "ans:{huge}:0:reason:not_received",
    "ans:{id}:{huge}:reason:not_received",
    "nav:{huge}:0:back",
    "nav:{id}:{huge}:cancel",
    "cf:{huge}:0:cancel:1",
    "cf:{id}:{huge}:cancel:1",
    "act:{huge}:calendar",
    "snz:{huge}",
    "open:{huge}",
    "open:{huger}",
    "open:-{huge}",
])
async def test_out_of_range_integers_answer_outdated_and_change_nothing(harness: BotHarness, forged: str) -> None:
    user, dispute_id = await started(harness)
    before = await harness.store.export_user(user.id)
    data = forged.format(huge=HUGE, huger=HUGER, id=dispute_id)

    replies = await user.tap(data)

    answers = [s.method for s in replies if isinstance(s.method, AnswerCallbackQuery)]
    assert [a.text for a in answers] == [OUTDATED], ChatUser.texts(replies)
    # Only the spinner is answered: no message, no error apology.
    assert [s for s in replies if not isinstance(s.method, AnswerCallbackQuery)] == []
    assert await harness.store.export_user(user.id) == before
    # The buyer carries on where they were.
    await user.choose("not_received")
    d = await harness.store.focused_dispute(user.id)
    assert d.id == dispute_id and d.reason == "not_received"


async def test_largest_sqlite_integer_still_unpacks_and_is_just_not_found(harness: BotHarness) -> None:
    user, dispute_id = await started(harness)
    before = await harness.store.export_user(user.id)
    replies = await user.tap(f"open:{2**63 - 1}")
    # The Open handler looked it up (no such dispute) and said so.
    assert ChatUser.alerts(replies) == [OUTDATED]
    assert await harness.store.export_user(user.id) == before
    d = await harness.store.focused_dispute(user.id)
    assert d.id == dispute_id and d.state == "reason"
