"""Realistic intake traffic for the benchmarks: many buyers, each going through a dispute.

A buyer is driven like ``testkit.chat.ChatUser`` (the button data comes from the
bot's own last keyboard), but through ``LeanSession``, which keeps only each
chat's latest keyboard: a 100,000-user run must not measure the benchmark's
own transcript. ``IntakeHarness`` is ``testkit.chat.BotHarness`` (real
dispatcher, middlewares, routers, flows, SQLite file in WAL mode) on that
session; every Update it feeds can be recorded and replayed elsewhere.
"""
from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import InlineKeyboardMarkup, Message, Update

from flows.steps import DONE
from testkit.chat import BOT_USER, TODAY, BotHarness, RecordingSession, Sent, as_received
from testkit.intake import START, act, moves


class LeanSession(RecordingSession):
    """Answers like RecordingSession; remembers only the last keyboard sent to each chat."""

    def __init__(self, *, remember: bool = True) -> None:
        super().__init__()
        self.calls = 0
        self.remember = remember  # False for a replay: no buyer reads the keyboards back
        self.keyboards: dict[int, Sent] = {}

    async def make_request(self, bot: Bot, method: TelegramMethod, timeout: int | None = None) -> Any:
        result = self._answer(method)
        self.calls += 1
        markup = getattr(method, "reply_markup", None)
        if self.remember and isinstance(markup, InlineKeyboardMarkup):
            self.keyboards[method.chat_id] = Sent(method, result)
        return result


class IntakeHarness(BotHarness):
    """BotHarness on a LeanSession; ``recorded`` collects fed Updates when ``record`` is set."""

    def __init__(self, db_path: Path, *, bot: Bot | None = None, record: bool = False) -> None:
        super().__init__(db_path, TODAY)
        if bot is None:
            bot = Bot(self.bot.token, session=LeanSession(), default=self.bot.default)
        else:
            # Replaying a recording (with other dispatchers on the same bot between chunks): the bot's
            # messages are numbered 0, below every recorded buyer message, or the bot would read the
            # buyers' answers as typed before its questions (docs/rules.md).
            bot.session.number_messages_from(0, step=0)
        self.bot, self.session = bot, bot.session
        self.record = record
        self.recorded: list[Update] = []
        self.update_ids = itertools.count(1)

    def make_update(self, payload: dict) -> Update:
        payload = {"update_id": next(self.update_ids), **payload}
        return Update.model_validate(payload, context={"bot": self.bot})

    async def feed(self, update: dict) -> None:
        await self.feed_update(self.make_update(update))

    async def feed_update(self, update: Update) -> None:
        if self.record:
            self.recorded.append(update)
        await self.dp.feed_update(self.bot, update)


class Buyer:
    """One buyer in a chat with the bot (ChatUser's moves, on a LeanSession)."""

    def __init__(self, harness: IntakeHarness, user_id: int, language_code: str = "en") -> None:
        self.h, self.id, self.language_code = harness, user_id, language_code
        self.paid_in: str | None = None
        self._callback_ids = itertools.count(1)

    def _from(self) -> dict:
        return {"id": self.id, "is_bot": False, "first_name": "Buyer", "language_code": self.language_code}

    def _message(self, **fields: Any) -> dict:
        return {"message_id": self.h.session.next_message_id(self.id), "date": int(time.time()),
                "chat": {"id": self.id, "type": "private", "first_name": "Buyer"}, "from": self._from(), **fields}

    async def send(self, text: str | None = None, **fields: Any) -> None:
        if text is not None:
            fields["text"] = text
            if text.startswith("/"):
                fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        await self.h.feed({"message": self._message(**fields)})

    async def photo(self, name: str) -> None:
        await self.send(photo=[
            {"file_id": f"{name}-small", "file_unique_id": f"{name}-s", "width": 90, "height": 90, "file_size": 2_000},
            {"file_id": name, "file_unique_id": f"u-{name}", "width": 1280, "height": 960, "file_size": 300_000}])

    async def forward(self, text: str, sender: str = "Best Store") -> None:
        origin = {"type": "hidden_user", "sender_user_name": sender,
                  "date": int(datetime(2026, 11, 10, 9, 30, tzinfo=timezone.utc).timestamp())}
        await self.send(text, forward_origin=origin)

    async def choose(self, value: str) -> None:
        """Taps the button of the latest keyboard whose callback data ends with ``:value``."""
        sent = self.h.session.keyboards[self.id]
        rows = sent.method.reply_markup.inline_keyboard
        data = next(b.callback_data for row in rows for b in row
                    if b.callback_data and b.callback_data.rsplit(":", 1)[-1] == value)
        text, entities = as_received(sent.text or "…")
        msg = {"message_id": sent.result.message_id if isinstance(sent.result, Message) else 1,
               "date": int(time.time()), "chat": {"id": self.id, "type": "private"},
               "from": BOT_USER.model_dump(), "text": text, "entities": entities,
               "reply_markup": sent.method.reply_markup.model_dump()}
        await self.h.feed({"callback_query": {"id": f"cb-{self.id}-{next(self._callback_ids)}", "from": self._from(),
                                              "chat_instance": "ci", "message": msg, "data": data}})

    def leave(self) -> None:
        self.h.session.keyboards.pop(self.id, None)


# A buyer's intake, one step per update: the steps as testkit.intake walks them (the step table's
# own rules), plus the usual noise (a typo the bot refuses, /help, /disputes); every path ends with
# the summary.
def _walk(b: Buyer, r: random.Random, *, date_typo: bool = False, **answers: str) -> Iterator:
    for move in moves(to="evidence", locale=b.language_code, today=TODAY, paid_in=b.paid_in,
                      order_number=f"81234567{r.randrange(10**8):08d}", **answers):
        if move.step == "shipped_on" and date_typo:
            yield b.send("abc")                 # refused: "couldn't read that date"
        yield act(b, move)
    b.paid_in = "USD"  # every scenario pays in dollars: the bot remembers it for the buyer's next dispute


def not_received(b: Buyer, r: random.Random) -> Iterator:
    yield from (act(b, m) for m in START)
    # Tracking stalled two weeks ago, no ETA; a bare total, so the currency is asked once.
    yield from _walk(b, r, tracking="stalled", stalled_since="d14", eta="?", order_total="26", currency="USD",
                     shipped_on="2026-11-01", protection="45")
    yield b.photo(f"tracking-{b.id}")
    yield b.forward("Sorry, the parcel is lost. Please wait 30 more days.")
    yield b.choose(DONE)


def not_as_described(b: Buyer, r: random.Random) -> Iterator:
    yield b.send("/new")
    yield from _walk(b, r, reason="not_as_described", defect="size",
                     detail="Listing: XXL, chest 60 cm. Arrived: chest 52 cm.", order_total="$26",
                     date_typo=True, shipped_on="2026-11-03", protection="30", amount="12")
    yield b.photo(f"item-{b.id}-1")
    yield b.photo(f"item-{b.id}-2")
    yield b.send("The label says XL, the listing promised XXL.")
    yield b.choose(DONE)
    yield b.send("/disputes")


def damaged(b: Buyer, r: random.Random) -> Iterator:
    yield b.send("/start")
    yield b.send("/help")
    yield b.choose("new")
    yield from _walk(b, r, reason="damaged", detail="?", solution="return_and_refund", order_total="26 USD",
                     shipped_on="d7", protection="40", amount="full")
    yield b.send(video={"file_id": f"vid-{b.id}", "file_unique_id": f"v-{b.id}", "width": 640, "height": 480,
                        "duration": 12, "file_size": 5_000_000})
    yield b.choose(DONE)


SCENARIOS = (not_received, not_as_described, damaged)


async def run_buyers(harness: IntakeHarness, user_ids: range, *, concurrent: int = 50, seed: int = 1,
                     on_progress=None) -> int:
    """Takes every user through an intake. ``concurrent`` buyers at a time, their updates
    interleaved round-robin (as many chats are at once). Returns the number of updates fed."""
    r = random.Random(seed)
    pending = iter(user_ids)
    active: list[tuple[Buyer, Iterator]] = []
    fed = done = 0

    def join() -> None:
        for uid in itertools.islice(pending, concurrent - len(active)):
            b = Buyer(harness, uid, r.choice(("en", "en", "en", "ru", "es", "de")))
            active.append((b, SCENARIOS[uid % len(SCENARIOS)](b, r)))

    join()
    while active:
        still = []
        for b, steps in active:
            step = next(steps, None)
            if step is None:
                b.leave()
                done += 1
                continue
            await step
            fed += 1
            still.append((b, steps))
        active[:] = still
        join()
        if on_progress:
            on_progress(done)
    return fed
