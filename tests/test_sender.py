"""RateLimitedSender against the fake Bot API (real HTTP, real time) plus a few fake-clock checks."""
from __future__ import annotations

import asyncio
import socket
import time

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import BufferedInputFile
from aiohttp import ClientError

from bot.sender import DeliveryOutcome, DeliveryResult, RateLimitedSender
from testkit.fake_bot_api import FakeBotAPI

EPS = 0.02  # tolerance for timer/HTTP jitter


def make_bot(token: str, base_url: str) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))


@pytest.fixture
async def bot(fake):
    b = make_bot(fake.token, fake.url)
    yield b
    await b.session.close()


def no_token(result: DeliveryResult, token: str) -> DeliveryResult:
    assert token not in (result.error or "")
    assert token.partition(":")[2] not in (result.error or "")
    return result


def send_times(fake: FakeBotAPI, chat_id: int | None = None) -> list[float]:
    return sorted(r.at for r in fake.calls("sendMessage")
                  if chat_id is None or r.params.get("chat_id") == chat_id)


async def test_global_rate_is_never_exceeded(fake, bot):
    sender = RateLimitedSender(bot, global_per_second=20)
    started = time.monotonic()
    results = await asyncio.gather(*(sender.send_message(1000 + i, f"hi {i}") for i in range(60)))
    elapsed = time.monotonic() - started

    assert [r.outcome for r in results] == [DeliveryOutcome.SENT] * 60
    assert all(r.message_id for r in results)
    times = send_times(fake)
    assert len(times) == 60
    busiest = max(sum(1 for t in times if a <= t < a + 1.0 - EPS) for a in times)
    assert busiest <= 20
    assert elapsed >= 2.5 and times[-1] - times[0] >= 2.9 - EPS


async def test_busy_chat_is_spaced_without_delaying_other_chats(fake, bot):
    sender = RateLimitedSender(bot, per_chat_per_second=2)
    # The busy chat queues first, so a naive "single next-free time" limiter would make
    # the other chats wait behind its 1.5 s of spacing.
    busy = [sender.send_message(1, f"busy {i}") for i in range(4)]
    others = [sender.send_message(100 + i, "other") for i in range(5)]
    results = await asyncio.gather(*busy, *others)

    assert {r.outcome for r in results} == {DeliveryOutcome.SENT}
    busy_times = send_times(fake, 1)
    assert [p["text"] for p in fake.sent_messages(1)] == [f"busy {i}" for i in range(4)]
    assert all(b - a >= 0.5 - EPS for a, b in zip(busy_times, busy_times[1:]))
    other_times = [t for t in send_times(fake) if t not in busy_times]
    assert len(other_times) == 5
    assert max(other_times) < busy_times[3]
    assert max(other_times) - busy_times[0] < 0.5  # not stuck behind the busy chat at all


async def test_429_backs_off_and_pauses_every_chat(fake, bot):
    fake.fail_next("sendMessage", status=429, retry_after=1)
    sender = RateLimitedSender(bot, global_per_second=2)
    first = asyncio.create_task(sender.send_message(1, "first"))
    # Reserved its slot (0.5 s later) before the 429 arrives: must be held back on waking.
    queued = asyncio.create_task(sender.send_message(2, "queued"))
    while not fake.calls("sendMessage") or fake.calls("sendMessage")[0].status is None:
        await asyncio.sleep(0.01)
    flood_at = fake.calls("sendMessage")[0].at
    await asyncio.sleep(0.1)
    # Starts while the bot is backing off: also held back.
    late = asyncio.create_task(sender.send_message(3, "late"))
    results = await asyncio.gather(first, queued, late)

    assert [no_token(r, fake.token).outcome for r in results] == [DeliveryOutcome.SENT] * 3
    assert [r.status for r in fake.calls("sendMessage") if r.params["chat_id"] == 1] == [429, 200]
    assert len(fake.calls("sendMessage")) == 4
    for chat_id in (1, 2, 3):
        assert send_times(fake, chat_id)[-1] >= flood_at + 1.0
    later = sorted(r.at for r in fake.calls("sendMessage")[1:])
    assert all(b - a >= 0.5 - EPS for a, b in zip(later, later[1:]))  # still rate-limited after


async def test_blocked_user_is_not_retried(fake, bot):
    fake.block_user(42)
    result = no_token(await RateLimitedSender(bot).send_message(42, "hello"), fake.token)
    assert result.outcome == DeliveryOutcome.BLOCKED
    assert result.message_id is None and "Forbidden" in result.error
    assert len(fake.calls("sendMessage")) == 1


@pytest.mark.parametrize("status, description, outcome", [
    (500, "", DeliveryOutcome.RETRY),
    (502, "", DeliveryOutcome.RETRY),
    (400, "Bad Request: message text is empty", DeliveryOutcome.REJECTED),
    (400, "Bad Request: chat not found", DeliveryOutcome.BLOCKED),
    (403, "Forbidden: user is deactivated", DeliveryOutcome.BLOCKED),
])
async def test_errors_are_classified_without_retrying(fake, bot, status, description, outcome):
    fake.fail_next("sendMessage", status=status, description=description)
    started = time.monotonic()
    result = no_token(await RateLimitedSender(bot).send_message(7, "x"), fake.token)
    assert result.outcome == outcome
    assert result.error and result.retry_after is None
    assert len(fake.calls("sendMessage")) == 1
    assert time.monotonic() - started < 0.5  # no sleeping: the caller reschedules


async def test_network_error_is_retry_later(fake):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = make_bot(fake.token, f"http://127.0.0.1:{port}")
    try:
        result = no_token(await RateLimitedSender(dead).send_message(7, "x"), fake.token)
    finally:
        await dead.session.close()
    assert result.outcome == DeliveryOutcome.RETRY
    assert result.error.startswith("TelegramNetworkError")


async def test_429_past_max_retries_is_retry_later(fake, bot):
    fake.fail_next("sendMessage", status=429, retry_after=1, times=2)
    started = time.monotonic()
    result = no_token(await RateLimitedSender(bot, max_429_retries=1).send_message(7, "x"),
                      fake.token)
    assert result.outcome == DeliveryOutcome.RETRY
    assert result.retry_after == 1
    assert "TelegramRetryAfter" in result.error
    assert len(fake.calls("sendMessage")) == 2
    assert time.monotonic() - started >= 1.0


async def test_send_document(fake, bot):
    doc = BufferedInputFile(b"%PDF-1.4 evidence", filename="evidence.pdf")
    result = await RateLimitedSender(bot).send_document(5, doc, caption="your evidence")
    assert result.outcome == DeliveryOutcome.SENT and result.message_id
    (call,) = fake.calls("sendDocument")
    assert call.params["document"]["bytes"] == b"%PDF-1.4 evidence"
    assert call.params["caption"] == "your evidence"


# ---------------------------------------------------------------- fake clock, stub bot
class StubBot:
    token = "999:SECRET-token"

    def __init__(self, errors=()):
        self.errors = list(errors)
        self.sent: list[int] = []

    async def send_message(self, chat_id, text, **kwargs):
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(chat_id)
        return type("Msg", (), {"message_id": len(self.sent)})()


class FakeClock:
    """Records the sleeps the limiter asks for; time advances only if ``advance`` is set."""

    def __init__(self, advance: bool):
        self.now, self.sleeps, self.advance = 0.0, [], advance

    def __call__(self):
        return self.now

    async def sleep(self, seconds):
        self.sleeps.append(round(seconds, 6))
        if self.advance:
            self.now += seconds


async def test_slots_fill_global_gaps_left_by_a_busy_chat():
    sender = RateLimitedSender(StubBot(), global_per_second=10, per_chat_per_second=1)
    # Five sends planned at the same instant: chat 1 at 0, 1, 2; chats 2 and 3 take the
    # free global slots 0.1 and 0.2 instead of queueing behind chat 1.
    assert [sender._reserve(chat_id, 0.0) for chat_id in (1, 1, 1, 2, 3)] == [0.0, 1.0, 2.0, 0.1, 0.2]


async def test_sends_stay_a_gap_apart_after_a_stall():
    clock = FakeClock(advance=True)
    sender = RateLimitedSender(StubBot(), global_per_second=10, clock=clock, sleep=clock.sleep)
    assert (await sender.send_message(1, "x")).outcome == DeliveryOutcome.SENT
    # The next send's slot (0.1) is already in the past when it runs: it still waits for the gap.
    sender._reserve(2, 0.0)
    clock.now = 0.05
    assert (await sender.send_message(3, "x")).outcome == DeliveryOutcome.SENT
    assert clock.now >= 0.1 + 0.1 - 1e-9


async def test_injected_clock_429_pauses_then_retries():
    from aiogram.exceptions import TelegramRetryAfter
    from aiogram.methods import SendMessage

    clock = FakeClock(advance=True)
    stub = StubBot([TelegramRetryAfter(SendMessage(chat_id=1, text="x"), "Too Many Requests", 3)])
    sender = RateLimitedSender(stub, clock=clock, sleep=clock.sleep)
    assert (await sender.send_message(1, "x")).outcome == DeliveryOutcome.SENT
    assert clock.sleeps == [3.0] and stub.sent == [1]


async def test_token_is_scrubbed_from_errors_that_quote_the_url():
    stub = StubBot([ClientError(f"500 for http://api/bot{StubBot.token}/sendMessage")])
    result = await RateLimitedSender(stub).send_message(1, "x")
    assert result.outcome == DeliveryOutcome.RETRY
    assert result.error == "ClientError: 500 for http://api/bot<token>/sendMessage"
    no_token(result, StubBot.token)
