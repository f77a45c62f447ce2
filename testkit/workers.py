"""Several webhook workers driven as Telegram and a load balancer would (tests/test_workers_e2e.py,
benchmarks/workers.py): ``python -m bot`` processes on one database, updates posted to them with the
secret, each buyer's updates spread over different workers, an update whose worker fails posted to
the next one (Telegram redelivers an update it got no answer for)."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from testkit.fake_bot_api import FakeBotAPI
from testkit.processes import BotProcess, bot_env

SECRET = "several-workers-secret-0123456789"
# The buyer's script: the intake up to the currency (seven updates when nothing goes wrong).
UPDATES_PER_BUYER = 7


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
