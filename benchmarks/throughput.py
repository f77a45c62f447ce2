"""1. Update throughput: the full stack against a bare aiogram Dispatcher, same updates, same run.

First a recording pass takes ``users`` buyers through the intake on a scratch
database (it also warms every code path up) and keeps the Update objects it fed.
Then the same Update objects go, chunk by chunk and alternating, to
  * the full stack: a fresh SQLite file (WAL), the real create_dispatcher()
    (middlewares, routers, flows, i18n), and
  * a bare ``Dispatcher()`` with one echo handler (message and callback query)
    calling ``bot.send_message``,
both on the same Bot and the same in-process recording session, one update at a
time. Alternating chunks spread machine noise over both sides equally.
"""
from __future__ import annotations

import asyncio
import gc
import itertools
import os
import shutil
import sqlite3
import statistics
import time
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.types import CallbackQuery, Message, Update

from benchmarks.common import Figure, percentile
from benchmarks.intake import IntakeHarness, run_buyers

CHUNK = 500


def echo_dispatcher() -> Dispatcher:
    dp = Dispatcher()

    async def echo(event: Message | CallbackQuery, bot: Bot) -> None:
        if isinstance(event, CallbackQuery):
            await bot.send_message(event.from_user.id, event.data or "…")
        else:
            await bot.send_message(event.chat.id, event.text or event.caption or "…")

    dp.message.register(echo)
    dp.callback_query.register(echo)
    return dp


FIRST_UID = 100_000


def spread(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}" if values else "—"


async def record(db_path: Path, users: int, *, first_update_id: int = 1) -> tuple[Bot, list[Update]]:
    h = await IntakeHarness(db_path, record=True).start()
    h.update_ids = itertools.count(first_update_id)
    try:
        await run_buyers(h, range(FIRST_UID, FIRST_UID + users))
    finally:
        await h.stop()
    return h.bot, h.recorded


def check_replay(db_path: Path, users: int) -> None:
    """The replay must have done the real work: every buyer's dispute reached the summary."""
    db = sqlite3.connect(db_path)
    try:
        summaries = db.execute("SELECT COUNT(*) FROM disputes WHERE state = 'summary' AND user_id BETWEEN ? AND ?",
                               (FIRST_UID, FIRST_UID + users - 1)).fetchone()[0]
    finally:
        db.close()
    if summaries != users:
        raise RuntimeError(f"replay went astray: {summaries} of {users} disputes reached the summary")


def check_peer(db_path: Path, users: int) -> None:
    """The peer did the conversation too: every buyer has a dispute with answers, evidence was stored."""
    db = sqlite3.connect(db_path)
    try:
        buyers, evidence = db.execute("SELECT (SELECT COUNT(DISTINCT user_id) FROM disputes WHERE answers != ''),"
                                      " (SELECT COUNT(*) FROM evidence)").fetchone()
    finally:
        db.close()
    if buyers < users or evidence == 0:
        raise RuntimeError(f"the peer went astray: {buyers} of {users} buyers answered, {evidence} evidence")


async def timed(dp: Dispatcher, bot: Bot, updates: list[Update], durations: list[float]) -> float:
    clock = time.perf_counter
    start = clock()
    for u in updates:
        t = clock()
        await dp.feed_update(bot, u)
        durations.append(clock() - t)
    return clock() - start


async def run(workdir: Path, users: int, *, profile: str | None = None) -> list[Figure]:
    bot, updates = await record(workdir / "throughput-record.db", users)
    full = await IntakeHarness(workdir / "throughput.db", bot=bot).start()
    echo = echo_dispatcher()
    full_times: list[float] = []
    echo_times: list[float] = []
    peer_times: list[float] = []
    full_total = echo_total = peer_total = 0.0
    chunk_ratios: dict[str, list[float]] = {"bare": [], "peer": []}  # full/other throughput, chunk by chunk
    try:  # the realistic peer needs the bench extra (SQLAlchemy)
        from benchmarks.peer import open_engine, peer_dispatcher
        engine = await open_engine(workdir / "peer.db")
        peer = peer_dispatcher(engine)
    except ImportError:
        engine = peer = None
    full_calls = 0
    profiler = None
    if profile:
        from pyinstrument import Profiler
        # "enabled" charges time spent awaiting a thread hand-off to the awaiting frame;
        # BENCH_PROFILE_ASYNC=disabled gives plain CPU samples of the event loop thread.
        profiler = Profiler(async_mode=os.environ.get("BENCH_PROFILE_ASYNC", "enabled"), interval=0.0005)
    gc.collect()
    gc.freeze()  # as python -m bot does once its imports are done (bot/__main__.py)
    try:
        for i in range(0, len(updates), CHUNK):
            chunk = updates[i:i + CHUNK]
            e = await timed(echo, bot, chunk, echo_times)
            echo_total += e
            if peer is not None:
                p = await timed(peer, bot, chunk, peer_times)
                peer_total += p
            if profiler:
                profiler.start()
            before = bot.session.calls
            f = await timed(full.dp, bot, chunk, full_times)
            full_total += f
            chunk_ratios["bare"].append(e / f)
            if peer is not None:
                chunk_ratios["peer"].append(p / f)
            full_calls += bot.session.calls - before
            if profiler:
                profiler.stop()
        await full.settle()
    finally:
        await full.stop()
        if engine is not None:
            await engine.dispose()
    if profiler:
        Path(profile).write_text(profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")

    check_replay(workdir / "throughput.db", users)
    if peer is not None:
        check_peer(workdir / "peer.db", users)

    n = len(updates)
    full_rate, echo_rate = n / full_total, n / echo_total
    ratio = full_rate / echo_rate
    p50, p99 = percentile(full_times, 0.5) * 1000, percentile(full_times, 0.99) * 1000
    e50 = percentile(echo_times, 0.5) * 1000
    return [
        Figure("1. updates fed (users × intake)", f"{n:,} ({users:,} users)", ok=None),
        Figure("1. full stack throughput", f"{full_rate:,.0f} updates/s", ok=None,
               note=f"{full_calls / n:.2f} Bot API calls per update (the echo makes 1)"),
        Figure("1. bare Dispatcher + echo throughput", f"{echo_rate:,.0f} updates/s", ok=None,
               note=f"p50 {e50:.2f} ms"),
        Figure("1. throughput ratio full/bare", f"{ratio:.3f}", "≥ 0.5", ratio >= 0.5,
               note="per alternating chunk, min/median/max: " + spread(chunk_ratios["bare"])),
        Figure("1. full stack p50 per update", f"{p50:.2f} ms", ok=None),
        Figure("1. full stack p99 per update", f"{p99:.2f} ms", "< 20 ms", p99 < 20),
    ] + ([
        Figure("1. realistic peer (aiogram FSMContext + SQLAlchemy/aiosqlite intake) throughput",
               f"{n / peer_total:,.0f} updates/s", ok=None,
               note=f"p50 {percentile(peer_times, 0.5) * 1000:.2f} ms, p99 {percentile(peer_times, 0.99) * 1000:.2f} ms; "
                    "benchmarks/peer.py, same updates, alternating chunks"),
        Figure("1. throughput ratio full/peer", f"{full_rate / (n / peer_total):.3f}", ok=None,
               note="per alternating chunk, min/median/max: " + spread(chunk_ratios["peer"])),
    ] if peer is not None else [])


async def grown(workdir: Path, seeded: Path, users: int, rounds: int = 2) -> list[Figure]:
    """The same intake on a database that already holds ``seeded``'s disputes and reminders,
    against a fresh one. Each side records and replays on its own copy (the recorded
    buttons carry the dispute ids that database hands out); alternating, best of ``rounds``."""
    rates: dict[str, list[float]] = {"fresh": [], "grown": []}
    for _ in range(rounds):
        for kind in rates:
            record_db, replay_db = workdir / f"{kind}-record.db", workdir / f"{kind}-replay.db"
            for path in (record_db, replay_db):
                for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                    leftover.unlink(missing_ok=True)
                if kind == "grown":
                    shutil.copyfile(seeded, path)
            bot, updates = await record(record_db, users)
            h = await IntakeHarness(replay_db, bot=bot).start()
            try:
                elapsed = await timed(h.dp, bot, updates, [])
                await h.settle()
            finally:
                await h.stop()
            check_replay(replay_db, users)
            rates[kind].append(len(updates) / elapsed)
    db = sqlite3.connect(seeded)
    try:
        disputes, reminders = db.execute(
            "SELECT (SELECT COUNT(*) FROM disputes), (SELECT COUNT(*) FROM reminders)").fetchone()
    finally:
        db.close()
    fresh, full = max(rates["fresh"]), max(rates["grown"])
    return [Figure(f"1. full stack with {disputes:,} disputes and {reminders:,} reminders stored ÷ on a fresh database",
                   f"{full:,.0f} ÷ {fresh:,.0f} updates/s = {full / fresh:.2f}", ok=None,
                   note=f"{users:,} buyers' intakes each, best of {rounds}; every query is on an index")]


FIRST_REPLAYED_ID = 1_000_001  # both sides: the grown side's log holds the 100,000 ids before it


def seed_update_log(path: Path, keep: int = 100_000) -> None:
    """A grown bot's de-duplication log is full: the newest ``keep`` update ids (storage prunes
    older ones as new ones come), all done, just below the ids the replay uses."""
    db = sqlite3.connect(path)
    try:
        db.executemany("INSERT OR IGNORE INTO processed_updates (update_id, at, chat_id, done) VALUES (?, ?, ?, 1)",
                       ((FIRST_REPLAYED_ID - i, "2026-11-01T00:00:00+00:00", 1_000 + i % 5_000)
                        for i in range(1, keep + 1)))
        db.commit()
    finally:
        db.close()


async def grown_chunks(workdir: Path, seeded: Path, users: int, *, chunk: int = 100) -> list[Figure]:
    """The grown database against a fresh one, in alternating chunks of ``chunk`` updates in
    one process: both replay harnesses are open at once and take turns, so machine noise
    falls on both alike. Each side's updates were recorded on its own copy of its database
    (the buttons carry the dispute ids that database hands out)."""
    sides: dict[str, dict] = {}
    for kind in ("fresh", "grown"):
        record_db, replay_db = workdir / f"{kind}-crecord.db", workdir / f"{kind}-creplay.db"
        for path in (record_db, replay_db):
            for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
            if kind == "grown":
                shutil.copyfile(seeded, path)
                seed_update_log(path)
        bot, updates = await record(record_db, users, first_update_id=FIRST_REPLAYED_ID)
        h = await IntakeHarness(replay_db, bot=bot).start()
        sides[kind] = {"h": h, "bot": bot, "updates": updates, "db": replay_db, "elapsed": 0.0, "durations": []}
    try:
        n = min(len(s["updates"]) for s in sides.values())
        for start in range(0, n, chunk):
            order = ("fresh", "grown") if (start // chunk) % 2 == 0 else ("grown", "fresh")
            for kind in order:
                s = sides[kind]
                s["elapsed"] += await timed(s["h"].dp, s["bot"], s["updates"][start:start + chunk], s["durations"])
        for s in sides.values():
            await s["h"].settle()
    finally:
        for s in sides.values():
            await s["h"].stop()
    for s in sides.values():
        check_replay(s["db"], users)
    db = sqlite3.connect(seeded)
    try:
        disputes, reminders = db.execute(
            "SELECT (SELECT COUNT(*) FROM disputes), (SELECT COUNT(*) FROM reminders)").fetchone()
    finally:
        db.close()
    fresh, full = (n / sides[k]["elapsed"] for k in ("fresh", "grown"))
    p99 = {k: percentile(sides[k]["durations"], 0.99) * 1000 for k in sides}
    return [Figure(f"1. grown ({disputes:,} disputes, {reminders:,} reminders, 100,000 update ids) ÷ fresh database, "
                   f"alternating chunks of {chunk}", f"{full:,.0f} ÷ {fresh:,.0f} updates/s = {full / fresh:.2f}",
                   "≥ 0.9", full / fresh >= 0.9,
                   note=f"{users:,} buyers each, {n:,} updates per side; p99 per update {p99['grown']:.2f} ms grown, "
                        f"{p99['fresh']:.2f} ms fresh")]


async def grown_rounds(workdir: Path, seeded: Path, users: int, rounds: int = 3) -> list[Figure]:
    """``grown_chunks`` ``rounds`` times (fresh copies each time): its ratio as min/median/max."""
    ratios, last = [], None
    for _ in range(rounds):
        (last,) = await grown_chunks(workdir, seeded, users)
        ratios.append(float(last.value.rsplit("= ", 1)[1]))
    return [Figure(last.name + f", {rounds} runs", f"min / median / max {spread(ratios)}", "≥ 0.9", min(ratios) >= 0.9,
                   note=f"last run: {last.value}; {last.note}")]


if __name__ == "__main__":  # python -m benchmarks.throughput [users] [profile.txt]
    import sys
    import tempfile

    from benchmarks.common import table

    async def main() -> None:
        with tempfile.TemporaryDirectory() as d:
            users = int(sys.argv[1]) if len(sys.argv) > 1 else 300
            print(table(await run(Path(d), users, profile=sys.argv[2] if len(sys.argv) > 2 else None)))

    asyncio.run(main())
