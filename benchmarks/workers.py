"""7. PostgreSQL: per-update latency against SQLite in one process, and throughput with 1 and 2 webhook
workers (``python -m benchmarks --only 7``; needs the server at TEST_DATABASE_URL).

Latency: the real dispatcher in-process (testkit.chat.BotHarness, the Bot API faked in memory), buyers
one at a time through the intake up to the currency, SQLite and PostgreSQL rounds alternating in one
run; the figure is the ratio of the median update's time. Throughput: ``python -m bot`` webhook
workers on one PostgreSQL (testkit.workers: the load balancer spreads each buyer's updates over the
workers), all buyers at once, sends unthrottled (the budget is not what is measured); updates handled
per second with 2 workers over 1. On a 2-core machine the load generator, the fake Bot API and the
server share the cores with the workers: the ratio says what a second worker buys there, not on a
bigger machine.
"""
from __future__ import annotations

import asyncio
import os
import statistics
import time
from pathlib import Path

from benchmarks.common import Figure
from testkit.chat import TODAY, BotHarness, ChatUser
from testkit.fake_bot_api import FakeBotAPI
from testkit.postgres import fresh_schema
from testkit.processes import free_port
from testkit.workers import UPDATES_PER_BUYER, Buyer, LoadBalancer, start_workers

SERVER = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
UNTHROTTLED = """[bot]
flood_limit = 10000

[webhook]
host = "127.0.0.1"

[sending]
per_second = 100000
burst = 1000
chat_per_second = 100000
chat_burst = 1000
"""


async def _intake(user: ChatUser, uid: int) -> list[float]:
    """The buyer's script (as testkit.workers.Buyer's), each update timed."""
    steps = [lambda: user.send("/start"), lambda: user.press("Start a dispute"),
             lambda: user.choose("not_received"), lambda: user.choose("none"),
             lambda: user.send(f"81234567{uid:08d}"), lambda: user.send("25,90"), lambda: user.choose("EUR")]
    took = []
    for step in steps:
        started = time.perf_counter()
        await step()
        took.append(time.perf_counter() - started)
    return took


async def _latency_round(workdir: Path, url: str | None, buyers: int, round_no: int) -> list[float]:
    h = await BotHarness(workdir / f"latency-{round_no}.db", TODAY, database_url=url).start()
    try:
        samples: list[float] = []
        for i in range(buyers):
            samples += await _intake(h.user(50_000 + i), 50_000 + i)
        d = await h.store.focused_dispute(50_000)
        assert d is not None and d.currency == "EUR", vars(d) if d else None  # the intake really ran
        return samples
    finally:
        await h.stop()


async def latency(workdir: Path, buyers: int = 20, rounds: int = 3) -> list[Figure]:
    per_backend: dict[str, list[float]] = {"sqlite": [], "postgres": []}
    for r in range(rounds):
        per_backend["sqlite"] += await _latency_round(workdir, None, buyers, r)
        async with fresh_schema(SERVER) as url:
            per_backend["postgres"] += await _latency_round(workdir, url, buyers, r)
    med = {k: statistics.median(v) for k, v in per_backend.items()}
    p90 = {k: statistics.quantiles(v, n=10)[-1] for k, v in per_backend.items()}
    return [Figure("7. per-update latency PostgreSQL/SQLite (one process, median)",
                   f"{med['postgres'] / med['sqlite']:.2f}×",
                   note=f"median {med['sqlite'] * 1000:.1f} ms SQLite, {med['postgres'] * 1000:.1f} ms PostgreSQL; "
                        f"p90 {p90['sqlite'] * 1000:.1f} / {p90['postgres'] * 1000:.1f} ms; "
                        f"{len(per_backend['sqlite'])} updates each, {rounds} alternating rounds")]


async def _throughput_run(workdir: Path, workers: int, buyers: int) -> float:
    """Updates handled per second by ``workers`` webhook workers, all ``buyers`` at once."""
    fake = FakeBotAPI()
    await fake.start()
    config = workdir / "unthrottled.toml"
    config.write_text(UNTHROTTLED, encoding="utf-8")
    ports = [free_port() for _ in range(workers)]
    try:
        async with fresh_schema(SERVER) as url:
            processes = await start_workers(fake, url, config, ports)
            lb = LoadBalancer(ports)
            try:
                started = time.monotonic()
                await asyncio.gather(*(Buyer(fake, lb, 60_000 + i).run() for i in range(buyers)))
                elapsed = time.monotonic() - started
            finally:
                await lb.session.close()
                for p in processes:
                    await p.terminate(30)
            assert lb.delivered >= buyers * UPDATES_PER_BUYER and not lb.dead, (lb.delivered, lb.dead)
            return lb.delivered / elapsed
    finally:
        await fake.stop()


async def throughput(workdir: Path, buyers: int = 60) -> list[Figure]:
    one = await _throughput_run(workdir, 1, buyers)
    two = await _throughput_run(workdir, 2, buyers)
    return [Figure("7. throughput 2 workers / 1 worker on PostgreSQL", f"{two / one:.2f}×",
                   note=f"{one:.0f} updates/s with 1 worker, {two:.0f} with 2; {buyers} buyers × "
                        f"{UPDATES_PER_BUYER} updates at once, {os.cpu_count()} cores shared with the load, "
                        "the fake Bot API and PostgreSQL")]


async def run(workdir: Path, *, buyers: int = 20, rounds: int = 3, concurrent_buyers: int = 60) -> list[Figure]:
    return await latency(workdir, buyers, rounds) + await throughput(workdir, concurrent_buyers)
