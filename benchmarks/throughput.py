"""1. Update throughput: the full stack against a bare aiogram Dispatcher, same updates, same run.

First a recording pass takes ``users`` buyers through the intake on a scratch
database (it also warms every code path up) and keeps the Update objects it fed.
Then the same Update objects go, chunk by chunk and alternating, to
  * the full stack: a fresh SQLite file (WAL), the real create_dispatcher()
    (middlewares, routers, flows, i18n), and
  * a bare ``Dispatcher()`` with one echo handler (message and callback query)
    calling ``bot.send_message`` (the floor), and
  * the realistic peer (benchmarks/peer.py, when the bench extra is installed),
all on the same Bot and the same in-process recording session, one update at a
time. The chunks are the rounds of benchmarks.common.alternate (at least
``rounds``, the order flipping each round): ratios are taken chunk by chunk and
given as min / median / max.
"""
from __future__ import annotations

import asyncio
import gc
import itertools
import os
import shutil
import sqlite3
import time
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.types import CallbackQuery, Message, Update

from benchmarks.common import Figure, alternate, percentile, ratios, spread
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


def chunks_of(updates: list[Update], rounds: int, most: int = CHUNK) -> list[list[Update]]:
    """At least ``rounds`` chunks of at most ``most`` updates: the rounds of an alternating replay."""
    size = max(1, min(most, -(-len(updates) // rounds)))
    return [updates[i:i + size] for i in range(0, len(updates), size)]


async def run(workdir: Path, users: int, *, rounds: int = 7, profile: str | None = None) -> list[Figure]:
    bot, updates = await record(workdir / "throughput-record.db", users)
    full = await IntakeHarness(workdir / "throughput.db", bot=bot).start()
    echo = echo_dispatcher()
    durations: dict[str, list[float]] = {"bare": [], "peer": [], "full": []}
    try:  # the realistic peer needs the bench extra (SQLAlchemy)
        from benchmarks.peer import open_engine, peer_dispatcher
        engine = await open_engine(workdir / "peer.db")
        peer = peer_dispatcher(engine)
    except ImportError:
        engine = peer = None
    calls = 0
    profiler = None
    if profile:
        from pyinstrument import Profiler
        # "enabled" charges time spent awaiting a thread hand-off to the awaiting frame;
        # BENCH_PROFILE_ASYNC=disabled gives plain CPU samples of the event loop thread.
        profiler = Profiler(async_mode=os.environ.get("BENCH_PROFILE_ASYNC", "enabled"), interval=0.0005)
    chunks = chunks_of(updates, rounds)

    async def full_chunk(i: int) -> float:
        nonlocal calls
        before = bot.session.calls
        if profiler:
            profiler.start()
        elapsed = await timed(full.dp, bot, chunks[i], durations["full"])
        if profiler:
            profiler.stop()
        calls += bot.session.calls - before
        return elapsed

    sides = {"bare": lambda i: timed(echo, bot, chunks[i], durations["bare"]), "full": full_chunk}
    if peer is not None:
        sides["peer"] = lambda i: timed(peer, bot, chunks[i], durations["peer"])
    gc.collect()
    gc.freeze()  # as python -m bot does once its imports are done (bot/__main__.py)
    try:
        elapsed = await alternate(sides, len(chunks))
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
    rate = {side: n / sum(seconds) for side, seconds in elapsed.items()}
    bare = ratios(elapsed["bare"], elapsed["full"])  # full ÷ bare throughput, chunk by chunk
    p50, p99 = percentile(durations["full"], 0.5) * 1000, percentile(durations["full"], 0.99) * 1000
    how = f"min / median / max over {len(chunks)} alternating chunks of ≤ {len(chunks[0]):,} updates"
    figures = [
        Figure("1. updates fed (users × intake)", f"{n:,} ({users:,} users)", ok=None),
        Figure("1. full stack throughput", f"{rate['full']:,.0f} updates/s", ok=None,
               note=f"{calls / n:.2f} Bot API calls per update (the echo makes 1)"),
        Figure("1. bare Dispatcher + echo throughput", f"{rate['bare']:,.0f} updates/s", ok=None,
               note=f"p50 {percentile(durations['bare'], 0.5) * 1000:.2f} ms"),
        Figure("1. throughput ratio full/bare", spread(bare), "≥ 0.5", min(bare) >= 0.5, note=how),
        Figure("1. full stack p50 per update", f"{p50:.2f} ms", ok=None),
        Figure("1. full stack p99 per update", f"{p99:.2f} ms", "< 20 ms", p99 < 20),
    ]
    if peer is not None:
        vs_peer = ratios(elapsed["peer"], elapsed["full"])
        figures += [
            Figure("1. realistic peer (aiogram FSMContext + SQLAlchemy/aiosqlite intake) throughput",
                   f"{rate['peer']:,.0f} updates/s", ok=None,
                   note=f"p50 {percentile(durations['peer'], 0.5) * 1000:.2f} ms, "
                        f"p99 {percentile(durations['peer'], 0.99) * 1000:.2f} ms; benchmarks/peer.py, same updates"),
            Figure("1. throughput ratio full/peer", spread(vs_peer), ok=None, note=how)]
    return figures


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


async def grown_chunks(workdir: Path, seeded: Path, users: int, *, chunk: int = 100) -> tuple[float, list[float], dict]:
    """The grown database against a fresh one, in alternating chunks of ``chunk`` updates in
    one process: both replay harnesses are open at once and take turns (``alternate``), so
    machine noise falls on both alike. Each side's updates were recorded on its own copy of
    its database (the buttons carry the dispute ids that database hands out). Returns the
    grown ÷ fresh throughput of the whole replay, the same per chunk, and the p99s."""
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
        sides[kind] = {"h": h, "bot": bot, "updates": updates, "db": replay_db, "durations": []}
    try:
        n = min(len(s["updates"]) for s in sides.values())

        def side(s: dict):
            return lambda i: timed(s["h"].dp, s["bot"], s["updates"][i * chunk:(i + 1) * chunk], s["durations"])

        elapsed = await alternate({kind: side(s) for kind, s in sides.items()}, -(-n // chunk))
        for s in sides.values():
            await s["h"].settle()
    finally:
        for s in sides.values():
            await s["h"].stop()
    for s in sides.values():
        check_replay(s["db"], users)
    p99 = {k: percentile(sides[k]["durations"], 0.99) * 1000 for k in sides}
    return sum(elapsed["fresh"]) / sum(elapsed["grown"]), ratios(elapsed["fresh"], elapsed["grown"]), p99


async def grown_rounds(workdir: Path, seeded: Path, users: int, rounds: int = 3, chunk: int = 100) -> list[Figure]:
    """``grown_chunks`` ``rounds`` times (fresh copies each time): its ratio as min/median/max."""
    runs = await alternate({"run": lambda i: grown_chunks(workdir, seeded, users, chunk=chunk)}, rounds)
    whole = [r[0] for r in runs["run"]]
    per_chunk = [x for r in runs["run"] for x in r[1]]
    p99 = runs["run"][-1][2]
    db = sqlite3.connect(seeded)
    try:
        disputes, reminders = db.execute(
            "SELECT (SELECT COUNT(*) FROM disputes), (SELECT COUNT(*) FROM reminders)").fetchone()
    finally:
        db.close()
    return [Figure(f"1. grown ({disputes:,} disputes, {reminders:,} reminders, 100,000 update ids) ÷ fresh database, "
                   f"throughput, alternating chunks of {chunk} in one process, {rounds} runs",
                   f"min / median / max {spread(whole, '{:.2f}')}", "≥ 0.9", min(whole) >= 0.9,
                   note=f"{users:,} buyers each; per chunk of all runs: {spread(per_chunk, '{:.2f}')}; "
                        f"p99 per update (last run) {p99['grown']:.2f} ms grown, {p99['fresh']:.2f} ms fresh"
                        + ("" if rounds >= 5 else f"; {rounds} runs, not 5: each copies and seeds the grown "
                                                  "database twice"))]


if __name__ == "__main__":  # python -m benchmarks.throughput [users] [profile.txt]
    import sys
    import tempfile

    from benchmarks.common import table

    async def main() -> None:
        with tempfile.TemporaryDirectory() as d:
            users = int(sys.argv[1]) if len(sys.argv) > 1 else 300
            print(table(await run(Path(d), users, profile=sys.argv[2] if len(sys.argv) > 2 else None)))

    asyncio.run(main())
