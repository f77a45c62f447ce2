"""One send budget for replies and reminders (bot.budget), through the real Dispatcher.

The recording session answers at once, so every wait measured here is the budget's own:
replies are served before reminders already waiting, a 429's retry_after is honoured for
replies too (bounded), and one chat's run of messages keeps the chat's pace.
"""
from __future__ import annotations

import asyncio
import time

from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import SendMessage

from bot.sender import DeliveryOutcome, RateLimitedSender
from testkit.processes import max_in_window

REMINDER_CHATS = range(5000, 5020)


def tighten(harness, *, per_second: float, burst: int = 1, chat_per_second: float = 100_000,
            chat_burst: int = 4) -> None:
    b = harness.budget
    b.per_second, b.burst, b.chat_per_second, b.chat_burst = per_second, burst, chat_per_second, chat_burst
    b._tokens, b._filled_at = float(burst), b.clock()


def reminders(harness) -> asyncio.Task:
    """20 reminders through the reminder engine's sender, all queued at once."""
    sender = RateLimitedSender(harness.bot, global_per_second=100_000, per_chat_per_second=100_000)
    return asyncio.ensure_future(asyncio.gather(*(sender.send_message(chat, f"⏰ reminder for {chat}")
                                                  for chat in REMINDER_CHATS)))


def send_times(harness) -> list[float]:
    """When each sendMessage from now on reaches Telegram (time.monotonic()), filled in as they go."""
    times: list[float] = []
    real = harness.session.make_request

    async def timed(bot, method, timeout=None):
        if isinstance(method, SendMessage):
            times.append(time.monotonic())
        return await real(bot, method, timeout)

    harness.session.make_request = timed
    return times


def order(harness) -> list[str]:
    """Who got each sendMessage, in the order Telegram saw them: "r" a reminder, "u" the buyer."""
    return ["r" if s.chat_id in REMINDER_CHATS else "u" for s in harness.session.sent
            if isinstance(s.method, SendMessage)]


async def test_a_reply_goes_before_reminders_already_waiting(user, harness):
    tighten(harness, per_second=20)  # 20 reminders take a second
    batch = reminders(harness)
    await asyncio.sleep(0.06)  # one or two are out, the rest are waiting for the budget
    assert harness.budget.waiting()[1] >= 15
    started = time.monotonic()
    replies = await user.send("/help")
    waited = time.monotonic() - started
    results = await batch
    assert all(r.outcome is DeliveryOutcome.SENT for r in results)  # every reminder still goes out
    seen = order(harness)
    assert seen.count("r") == 20 and seen.count("u") == 1
    assert seen.index("u") <= 3, seen  # ahead of the ~17 reminders that were waiting
    assert "/new" in user.texts(replies) and waited < 0.2


async def test_a_reply_hit_by_429_waits_retry_after_and_holds_up_only_its_chat(user, harness):
    tighten(harness, per_second=50)
    harness.session.fail_next(SendMessage, TelegramRetryAfter(
        method=SendMessage(chat_id=user.id, text="x"), message="Too Many Requests: retry after 1", retry_after=1))
    started = time.monotonic()
    reply = asyncio.ensure_future(user.send("/help"))
    for _ in range(100):  # the 429 came back: this chat is paused
        if user.id in harness.budget._paused_until:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("a 429 for the chat did not pause it")
    same_chat = asyncio.ensure_future(harness.bot.send_message(user.id, "and one more line"))
    results = await reminders(harness)  # other chats, queued during the pause
    others_done = time.monotonic() - started
    await same_chat
    same_chat_waited = time.monotonic() - started
    replies = await reply
    waited = time.monotonic() - started
    assert all(r.outcome is DeliveryOutcome.SENT for r in results)
    assert others_done < 0.5, others_done  # one chat's 429 holds no one else up
    assert "/new" in user.texts(replies)  # the reply was sent again, not lost
    assert 1.0 <= waited < 1.5, waited
    mine = [s.text for s in harness.session.sent if isinstance(s.method, SendMessage) and s.chat_id == user.id]
    assert len(mine) == 2 and "and one more line" in mine
    assert same_chat_waited >= 1.0  # the chat's next message waited for the pause too


async def test_a_reply_is_given_up_when_retry_after_is_too_long(user, harness):
    harness.budget.reply_max_wait = 0.5
    harness.session.fail_next(SendMessage, TelegramRetryAfter(
        method=SendMessage(chat_id=user.id, text="x"), message="Too Many Requests: retry after 2", retry_after=2))
    started = time.monotonic()
    replies = await user.send("/help")
    assert time.monotonic() - started < 0.3  # no handler hangs for a long flood wait
    assert replies == []  # and the error message wasn't hammered into the pause either
    assert not [s for s in harness.session.sent if isinstance(s.method, SendMessage)]


async def test_one_chats_run_of_messages_keeps_the_chats_pace(user, harness):
    # Scaled 10x for the test: a burst of 4, then 10/s (shipped: 4, then 1/s).
    tighten(harness, per_second=100_000, burst=100, chat_per_second=10, chat_burst=4)
    times = send_times(harness)
    await asyncio.gather(*(harness.bot.send_message(user.id, f"line {n}") for n in range(12)))
    assert len(times) == 12
    assert times[3] - times[0] < 0.05  # one screen goes at once
    assert max_in_window(times, 1.0) <= 4 + 10  # the burst plus the chat's rate, in any second
    gaps = [b - a for a, b in zip(times[4:], times[5:])]
    assert min(gaps) >= 0.09, gaps  # then one every 1/10 s


async def test_the_shared_budget_holds_replies_and_reminders_together(user, harness):
    tighten(harness, per_second=40, burst=5)
    times = send_times(harness)
    buyers = [harness.user(7000 + n) for n in range(20)]
    batch = reminders(harness)
    await asyncio.gather(*(b.send("/help") for b in buyers))
    await batch
    assert len(times) == 40
    assert max_in_window(times, 0.5) <= 40 * 0.5 + 5 + 1  # rate × window + burst (+1 for the window's edge)


async def test_replies_already_waiting_are_given_up_when_a_long_pause_begins(user, harness):
    tighten(harness, per_second=100_000, burst=100, chat_per_second=2, chat_burst=1)  # they queue up
    harness.budget.reply_max_wait = 0.5
    lines = asyncio.ensure_future(asyncio.gather(
        *(harness.bot.send_message(user.id, f"line {n}") for n in range(6)), return_exceptions=True))
    await asyncio.sleep(0.05)  # the first is out, five are waiting for the chat's pace
    started = time.monotonic()
    harness.budget._pause(user.id, 30)  # as a 429 with retry_after=30 for this chat does
    results = await lines
    assert time.monotonic() - started < 3.0  # nobody waits out the 30 s
    assert sum(isinstance(r, TelegramRetryAfter) for r in results) == 5, results


async def test_a_reminder_is_asked_still_ours_when_its_turn_comes_not_before_its_wait(user, harness):
    """A reminder's claim can run out while it waits behind replies (bot.reminders): the check must
    come after the wait, right before the request, or a sender whose claim was taken meanwhile sends too."""
    tighten(harness, per_second=5)  # one token each 0.2 s
    ours = {chat: True for chat in REMINDER_CHATS[:4]}
    asked: list[int] = []

    def check(chat: int):
        async def still_ours() -> bool:
            asked.append(chat)
            return ours[chat]
        return still_ours

    sender = RateLimitedSender(harness.bot, global_per_second=100_000, per_chat_per_second=100_000)
    batch = asyncio.gather(*(sender.send_message(chat, f"⏰ reminder for {chat}", still_ours=check(chat))
                             for chat in ours))
    await asyncio.sleep(0.05)  # the first went out; three are waiting for a token
    assert harness.budget.waiting()[1] == 3 and asked == [REMINDER_CHATS[0]]
    ours[REMINDER_CHATS[3]] = False  # another worker took the last one while it waited
    results = await batch
    assert [r.outcome for r in results] == [DeliveryOutcome.SENT] * 3 + [DeliveryOutcome.NOT_OURS]
    assert asked == list(ours)  # each asked once, when its turn came
    sent_to = [s.chat_id for s in harness.session.sent if isinstance(s.method, SendMessage)]
    assert sent_to == list(REMINDER_CHATS[:3])
