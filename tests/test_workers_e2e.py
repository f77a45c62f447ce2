"""The proof of several workers (issue 14): three ``python -m bot`` webhook workers on one PostgreSQL
and testkit's fake Bot API, a few hundred buyers' updates posted to them concurrently the way a load
balancer would (each buyer's updates spread over different workers; an update whose worker fails is
posted to the next one, as Telegram redelivers one it got no answer for), one worker SIGKILLed
mid-run. Then: every dispute consistent, no answer lost, no update handled twice, every due
reminder sent once (at most one duplicate for the killed worker), and the merged send log of all
workers never above the configured rates."""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from bot.storage import Storage
from testkit.fake_bot_api import FakeBotAPI, RateLimits
from testkit.processes import BotProcess, bot_env, max_in_window
from testkit.seeding import BASE_UID, seed
from tests.conftest import fresh_schema
from tests.test_reminders_e2e import reminders_sent
from tests.test_webhook import free_port

pytestmark = pytest.mark.postgres
WORKERS, BUYERS, SEEDED = 3, 80, 30
FIRST_BUYER = 30_000
SECRET = "several-workers-secret-0123456789"
# The configured limits the merged send log is checked against (Telegram's: about 30/s, 1/s per chat).
PER_SECOND, BURST, CHAT_PER_SECOND, CHAT_BURST = 25, 5, 1, 4
ARRIVAL_JITTER = 2  # sends a stalled process may bunch on arrival (check_rates)
CONFIG = f"""[bot]
polling_timeout = 1

[webhook]
host = "127.0.0.1"

[sending]
per_second = {PER_SECOND}
burst = {BURST}
chat_per_second = {CHAT_PER_SECOND}
chat_burst = {CHAT_BURST}

# One reminder claimed and in flight per worker: a worker killed mid-send leaves at most one reminder
# sent but not marked sent, which another worker sends again once its lease ran out. The lease is
# longer than a reminder waits behind the buyers' replies (or a live worker's claim would expire too).
[reminders]
lease_seconds = 15
batch = 1
concurrency = 1

[policy]
daytime_start = 00:00:00
daytime_end = 23:59:59
"""


class LoadBalancer:
    """Posts an update to a worker; a worker that fails (killed: connection refused or reset) gets
    it no more, and the update goes to the next one."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.dead: set[int] = set()
        self.delivered = 0
        self.retried: list[int] = []  # update ids posted again after their worker failed
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))

    async def post(self, update: dict, prefer: int) -> None:
        for k in range(len(self.ports)):
            worker = (prefer + k) % len(self.ports)
            if worker in self.dead:
                continue
            try:
                async with self.session.post(f"http://127.0.0.1:{self.ports[worker]}/hook", json=update,
                                             headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as r:
                    assert r.status == 200, (r.status, await r.text())
                self.delivered += 1
                return
            except aiohttp.ClientConnectionError:
                self.dead.add(worker)
                self.retried.append(update["update_id"])
        raise AssertionError(f"no worker took update {update['update_id']}")


class Buyer:
    """Answers whatever the bot asks last, as a person would (a re-asked question is answered again)."""

    def __init__(self, fake: FakeBotAPI, lb: LoadBalancer, uid: int) -> None:
        self.fake, self.lb, self.uid = fake, lb, uid
        self.order = f"81234567{uid:08d}"
        self.updates = 0

    def last_message(self) -> dict:
        mine = [(mid, m) for (chat, mid), m in list(self.fake.messages.items()) if chat == self.uid]
        return max(mine, key=lambda pair: pair[0])[1]

    async def _post(self, update_id: int) -> None:
        update = self.fake.updates.pop()  # built by the fake, posted here instead of polled
        assert update["update_id"] == update_id
        await self.lb.post(update, prefer=self.uid + self.updates)  # the next update: the next worker
        self.updates += 1

    async def send(self, text: str) -> None:
        await self._post(self.fake.user_message(self.uid, text))

    async def tap(self, suffix: str) -> None:
        message = self.last_message()
        buttons = [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row
                   if b.get("callback_data", "").rsplit(":", 1)[-1] == suffix]
        assert buttons, (suffix, message)
        await self._post(self.fake.user_callback(self.uid, buttons[0], message["message_id"]))

    async def run(self) -> None:
        await self.send("/start")
        for _ in range(15):
            text = self.last_message().get("text", "")
            if "Start a dispute" in str(self.last_message().get("reply_markup")):
                await self.tap("new")
            elif "What went wrong" in text:
                await self.tap("not_received")
            elif "tracking on the order page" in text:
                await self.tap("none")
            elif "What is the order number" in text:
                await self.send(self.order)
            elif "How much did you pay" in text:
                await self.send("25,90")
            elif "Which currency" in text:
                await self.tap("EUR")
            elif "Send /new to start one" in text:  # re-asked before the dispute existed
                await self.send("/new")
            else:
                return  # past the currency: this buyer's part is over
        raise AssertionError(f"buyer {self.uid} went round in circles: {self.last_message()}")


async def start_workers(fake: FakeBotAPI, url: str, config: Path, ports: list[int]) -> list[BotProcess]:
    workers = [await BotProcess.start(bot_env(BOT_TOKEN=fake.token, BOT_API_URL=fake.url, DATABASE_URL=url,
                                              CONFIG_FILE=str(config), BOT_WEBHOOK_SECRET=SECRET, PORT=str(port),
                                              BOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook"), fake)
               for port in ports]
    async with aiohttp.ClientSession() as http:
        for worker, port in zip(workers, ports):
            deadline = time.monotonic() + 90  # three interpreters importing aiogram on two cores
            while True:
                assert worker.proc.returncode is None, worker.describe()
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert time.monotonic() < deadline, worker.describe()
                await asyncio.sleep(0.2)
    return workers


async def test_three_workers_one_killed_lose_nothing_and_double_nothing(tmp_path: Path, postgres_url: str) -> None:
    fake = FakeBotAPI(rate_limits=RateLimits())  # Telegram-like: 30/s, 1/s per chat (bursts 30 and 5)
    await fake.start()
    config = tmp_path / "workers.toml"
    config.write_text(CONFIG, encoding="utf-8")
    ports = [free_port() for _ in range(WORKERS)]
    async with fresh_schema(postgres_url) as url:
        await seed(url, SEEDED, window_started=-timedelta(days=5) + timedelta(hours=2),
                   planned_at=-timedelta(days=3), expect_due=1, expect_pending=2)
        workers = await start_workers(fake, url, config, ports)
        lb = LoadBalancer(ports)
        buyers = [Buyer(fake, lb, FIRST_BUYER + i) for i in range(BUYERS)]
        killed = WORKERS // 2

        async def kill_mid_run() -> None:
            while lb.delivered < BUYERS * 7 // 3:
                await asyncio.sleep(0.05)
            await workers[killed].kill()  # SIGKILL, with updates in flight

        try:
            await asyncio.wait_for(asyncio.gather(kill_mid_run(), *(b.run() for b in buyers)), 600)
            await every_due_reminder_finished(url, timeout=90)
        finally:
            for i, worker in enumerate(workers):
                if i != killed:
                    assert await worker.terminate(30) == 0, worker.describe()
                    assert "Traceback" not in worker.stderr, worker.describe()
            await lb.session.close()
            await fake.stop()
        await check_disputes(url, buyers)
        await check_updates(url, buyers, lb)
    sent_reminders = reminders_sent(fake)
    per_chat = {chat: sum(r.params["chat_id"] == chat for r in sent_reminders)
                for chat in range(BASE_UID, BASE_UID + SEEDED)}
    assert min(per_chat.values()) == 1, per_chat  # every due reminder went out
    assert sum(per_chat.values()) - SEEDED <= 1, per_chat  # at most one again, for the one killed worker
    check_rates(fake)
    assert lb.dead == {killed} and lb.retried, (lb.dead, lb.retried)  # the kill really hit updates in flight


async def every_due_reminder_finished(url: str, *, timeout: float) -> None:
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + timeout
        while await conn.fetchval("SELECT COUNT(*) FROM reminders WHERE user_id < $1 AND status = 'pending'"
                                  " AND due_at <= to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')",
                                  FIRST_BUYER):
            assert time.monotonic() < deadline, "due reminders left unsent"
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def check_disputes(url: str, buyers: list[Buyer]) -> None:
    """Each buyer: one dispute (the tap that created it was not handled twice), every answer in it."""
    store = await Storage.open(url)
    try:
        versions = set()
        for b in buyers:
            disputes = await store.list_disputes(b.uid)
            assert len(disputes) == 1, (b.uid, disputes)
            d = disputes[0]
            assert (d.reason, d.order_number, str(d.order_total), d.currency) == (
                "not_received", b.order, "25.90", "EUR"), vars(d)
            versions.add(d.version)
        # Every buyer took the same path: one save per answer. An answer handled twice saves twice.
        assert len(versions) == 1, versions
    finally:
        await store.close()


async def check_updates(url: str, buyers: list[Buyer], lb: LoadBalancer) -> None:
    """Every update the buyers sent was taken once and is over: none left in flight."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT update_id, done FROM processed_updates WHERE update_id > 0")
    finally:
        await conn.close()
    assert len(rows) == sum(b.updates for b in buyers) == lb.delivered, (len(rows), lb.delivered)
    assert all(r["done"] == 1 for r in rows), [r["update_id"] for r in rows if r["done"] != 1]


def check_rates(fake: FakeBotAPI) -> None:
    """The merged log of every worker's sends against the configured limits (all of them, not per worker)."""
    counted = [r for r in fake.requests if RateLimits.counted(r.method) and r.status == 200]
    # The workers take slots at most PER_SECOND + BURST per second; the fake stamps arrivals, which a
    # stalled process (five busy processes on two cores) can bunch by a send or two. Per worker, it
    # would be three times as many.
    assert max_in_window([r.at for r in counted], 0.98) <= PER_SECOND + BURST + ARRIVAL_JITTER
    by_chat: dict[int, list[float]] = {}
    for r in counted:
        if r.method.startswith("send"):  # messages arriving in the chat (edits are the bot's budget only)
            by_chat.setdefault(r.params.get("chat_id"), []).append(r.at)
    worst = max(max_in_window(times, 0.98) for times in by_chat.values())
    assert worst <= CHAT_PER_SECOND + CHAT_BURST, worst  # a chat's sends are a second apart: no bunching
    assert not any(r.limited for r in fake.requests)  # and Telegram never had to say 429

