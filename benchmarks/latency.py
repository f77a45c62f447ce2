"""Answer latency in round trips, as a buyer feels it (``python -m benchmarks.latency [rounds]``).

The bot polls the fake Bot API (tests/fake_bot_api.py) over real HTTP on 127.0.0.1, through
``bot.app.create_bot`` (SpinnerIsCosmetic, the send budget at its default settings: a burst
of 4 then 1/s per chat) and the real dispatcher. The fake answers every request ``latency``
seconds late, getUpdates included: an update reaches the bot one latency after the buyer
sent it, and each call the bot waits for costs one latency more.

For every step of a full intake (an English and a Russian buyer at once, each reading for
``think`` seconds before answering, as a person does) it measures from the moment the
update is pushed to the moment the last message of the bot's answer (sendMessage,
sendPhoto, sendDocument) has been answered by the fake, in units of ``latency``: a round
trip. The least possible is 2 (the update's delivery plus one send). Cosmetic calls
(answerCallbackQuery, marking the answered question with editMessageText) are not part of
the answer: "after" runs them beside the next question (bot.cosmetic), "before" awaits
them first (``bot.cosmetic.CONCURRENT = False``). Rounds alternate before/after in one run (benchmarks.common.alternate).
"""
from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiogram.types import Update

import bot.cosmetic
from bot.app import create_bot
from bot.config import Config
from benchmarks.common import Figure, alternate, spread
from flows.steps import DONE
from testkit.chat import TODAY, BotHarness
from testkit.intake import START, moves
from testkit.fake_bot_api import FakeBotAPI

ANSWERS = {"sendMessage", "sendPhoto", "sendDocument"}
FLOOR = 2.0
VERBOSE = bool(os.environ.get("BENCH_VERBOSE"))  # update delivery + one send

# (kind, what): "type" sends text, "tap" presses the button whose callback data ends with ``:what``; the
# intake's steps as testkit.intake walks them, then a note for the file and "Done".
EN = [(m.kind, m.value) for m in START + moves(to="evidence", order_total="$25.90", shipped_on="11/1/2026",
                                                 protection="45")] + [("type", "The parcel never arrived."),
                                                                      ("tap", DONE)]
RU = [(m.kind, m.value) for m in START + moves(to="evidence", locale="ru", reason="damaged", detail="Не включается.",
                                                 solution="return_and_refund", order_total="26 ₽", shipped_on="d7",
                                                 protection="40")] + [("type", "Коробка пришла раздавленной."),
                                                                      ("tap", DONE)]


class LatencyRig:
    def __init__(self, workdir: Path, latency: float) -> None:
        self.workdir, self.latency = workdir, latency
        self.fake = FakeBotAPI()
        self.handled: dict[int, asyncio.Event] = {}
        self.samples: dict[bool, dict[str, list[float]]] = {c: {"type": [], "tap": []} for c in (False, True)}
        # Round trips beyond the step's own floor: delivery + one per message of the answer
        # (the summary is two messages, sent in order, so its floor is 3).
        self.excess: dict[bool, list[float]] = {False: [], True: []}

    async def __aenter__(self) -> "LatencyRig":
        await self.fake.start()
        self.fake.latency = self.latency
        db = self.workdir / "latency.db"
        config = Config.model_validate({"bot": {"token": self.fake.token, "api_url": self.fake.url,
                                                "polling_timeout": 10},
                                        "database": {"url": f"sqlite:///{db}"}})
        self.h = await BotHarness(db, TODAY, config).start()
        self.bot = create_bot(config)
        dp = self.h.dp
        feed = dp.feed_update

        async def feed_update(bot, update: Update, **kwargs):  # tells the buyer its update is fully handled
            try:
                return await feed(bot, update, **kwargs)
            finally:
                self.handled.setdefault(update.update_id, asyncio.Event()).set()

        dp.feed_update = feed_update
        self.polling = asyncio.create_task(dp.start_polling(self.bot, handle_signals=False, close_bot_session=False,
                                                            polling_timeout=10))
        return self

    async def __aexit__(self, *exc) -> None:
        await self.h.dp.stop_polling()
        await asyncio.wait_for(self.polling, 15)
        await self.bot.session.close()
        await self.h.stop()
        await self.fake.stop()

    async def buyer(self, user_id: int, lang: str, steps, concurrent: bool, think: float) -> None:
        for kind, what in steps:
            await asyncio.sleep(think)
            since = len(self.fake.requests)
            if kind == "type":
                update_id = self.fake.user_message(user_id, what, language_code=lang)
            else:
                message_id, data = self._button(user_id, what)
                update_id = self.fake.user_callback(user_id, data, message_id, language_code=lang)
            pushed = time.monotonic()
            event = self.handled.setdefault(update_id, asyncio.Event())
            await asyncio.wait_for(event.wait(), 30)
            answers = [r for r in self.fake.requests[since:]
                       if r.method in ANSWERS and r.params.get("chat_id") == user_id]
            assert answers, f"no answer to {kind} {what!r} ({lang})"
            assert all(r.answered_at for r in answers)
            last = max(r.answered_at for r in answers)
            self.samples[concurrent][kind].append((last - pushed) / self.latency)
            self.excess[concurrent].append((last - pushed) / self.latency - 1 - len(answers))
            if VERBOSE:
                print(f"{lang} {'after ' if concurrent else 'before'} {kind} {what[:20]:20} "
                      f"{(last - pushed) / self.latency:.2f} {[r.method for r in self.fake.requests[since:]]}")

    def _button(self, user_id: int, value: str) -> tuple[int, str]:
        """The newest message in the chat still showing a button for ``value`` (as the buyer sees it)."""
        for message_id in sorted((m for c, m in self.fake.messages if c == user_id), reverse=True):
            rows = (self.fake.messages[(user_id, message_id)].get("reply_markup") or {}).get("inline_keyboard") or []
            for row in rows:
                for b in row:
                    if (b.get("callback_data") or "").rsplit(":", 1)[-1] == value:
                        return message_id, b["callback_data"]
        raise AssertionError(f"no button {value!r} for {user_id}")

    async def intake(self, round_no: int, concurrent: bool, think: float) -> None:
        bot.cosmetic.CONCURRENT = concurrent
        base = 10_000 * (round_no + 1)
        # The Russian buyer half a reading time behind: two updates arriving within one
        # getUpdates answer's flight would measure long polling, not the bot.
        await asyncio.gather(self.buyer(base + 1, "en", EN, concurrent, think),
                             self._later(think / 2, self.buyer(base + 2, "ru", RU, concurrent, think)))

    @staticmethod
    async def _later(delay: float, coro) -> None:
        await asyncio.sleep(delay)
        await coro


def summary(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, max(0, -(-9 * len(ordered) // 10) - 1))]
    return statistics.median(ordered), p90, ordered[-1]


async def run(workdir: Path, *, rounds: int = 5, latency: float = 0.1, think: float = 1.0) -> list[Figure]:
    async with LatencyRig(workdir, latency) as rig:
        def side(concurrent: bool):
            async def one_intake(i: int) -> float:
                samples = rig.samples[concurrent]
                since = len(samples["type"]), len(samples["tap"])
                await rig.intake(2 * i + concurrent, concurrent=concurrent, think=think)
                return summary(samples["type"][since[0]:] + samples["tap"][since[1]:])[1]  # this round's p90
            return one_intake

        p90s = await alternate({"before": side(False), "after": side(True)}, rounds)
    bot.cosmetic.CONCURRENT = True
    figures = []
    for concurrent, label in ((False, "before (cosmetic calls awaited)"), (True, "after (cosmetic calls beside)")):
        for kind, name in (("type", "typed answers"), ("tap", "taps")):
            med, p90, top = summary(rig.samples[concurrent][kind])
            figures.append(Figure(f"6. answer latency, {name}, {label}",
                                  f"median {med:.2f} / p90 {p90:.2f} / max {top:.2f} round trips "
                                  f"({len(rig.samples[concurrent][kind])} steps)"))
        med, p90, top = summary(rig.samples[concurrent]["type"] + rig.samples[concurrent]["tap"])
        ok = p90 - FLOOR <= 0.25 if concurrent else None
        per_round = p90s["after" if concurrent else "before"]
        figures.append(Figure(f"6. answer latency, whole intake (en + ru), {label}",
                              f"median {med:.2f} / p90 {p90:.2f} / max {top:.2f} round trips; "
                              f"p90 − floor = {p90 - FLOOR:+.2f}",
                              "p90 ≤ floor (2) + 0.25" if concurrent else "", ok,
                              f"each round's p90, min / median / max: {spread(per_round, '{:.2f}')}; "
                              f"round trip = the fake's fixed latency, {latency * 1000:.0f} ms; {rounds} rounds "
                              f"of each, alternating, buyers reading {think:.1f} s between answers"))
        med, p90, top = summary(rig.excess[concurrent])
        figures.append(Figure(f"6. … beyond each step's own floor (delivery + its messages in order), {label}",
                              f"median {med:+.2f} / p90 {p90:+.2f} / max {top:+.2f} round trips",
                              "p90 ≤ +0.25" if concurrent else "", p90 <= 0.25 if concurrent else None,
                              "the summary is the one answer of two messages (floor 3)"))
    return figures


if __name__ == "__main__":
    from benchmarks.common import table
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        print(table(asyncio.run(run(Path(tmp), rounds=n))))
