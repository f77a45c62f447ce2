"""2. Memory per idle buyer: the bot against the realistic peer, the same updates, repeated.

A recording pass takes ``first`` buyers through the intake on the full stack
(benchmarks.intake.run_buyers, 50 at a time), marks a checkpoint, then takes
more until ``last`` (or the time budget) and writes every Update, one JSON line
each, to a file. Then, alternating (benchmarks.common.alternate), a fresh process
per run replays that file into
  * the bot: testkit.chat.BotHarness's full stack on a session that keeps nothing
    per chat, over a database seeded like the recording's (5,000 other disputes,
    read once: SQLite's page cache is full before the first checkpoint), or
  * the peer: benchmarks/peer.py (aiogram FSMContext on MemoryStorage + SQLAlchemy),
streaming the file, so the replay itself holds nothing per buyer. At each
checkpoint (every buyer idle: intake done, flood control's window waited out)
after gc.collect() it reads RSS (VmRSS), the interpreter's allocated blocks
(sys.getallocatedblocks) and live tracked objects (gc.get_objects), and the
in-memory structures keyed by user. Between the checkpoints, ÷ buyers added:
bytes, blocks and objects per idle buyer. ``--trace`` (bot only, diagnosis)
adds a tracemalloc comparison between the checkpoints; it sees only what was
allocated after the first, so a bounded cache's turnover (aiogram keeps the last
128 Updates in ``Update.event_type``'s lru_cache) shows there as growth that the
allocated blocks don't. Nothing is extrapolated.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.types import Update

from benchmarks.common import Figure, alternate, mib, rss_bytes, spread
from benchmarks.intake import IntakeHarness, LeanSession, run_buyers
from benchmarks.reminders import seed_pending
from bot.middlewares import FloodControl
from testkit.chat import TOKEN

FIRST_UID = 1_000_000
PROBE_UID = 999
CHECKPOINT = "checkpoint"
SEEDED = 20_000  # pending reminders: 5,000 disputes already stored


async def record(path: Path, workdir: Path, first: int, last: int, budget: float) -> tuple[int, int]:
    """Writes the updates of ``first`` buyers, a checkpoint line, then of up to ``last``; returns
    the buyers at each checkpoint."""
    db = workdir / "memory-record.db"
    await seed_pending(db, SEEDED)
    h = await IntakeHarness(db, record=True).start()
    started = time.monotonic()
    done = first
    try:
        with path.open("w", encoding="utf-8") as out:
            def flush() -> None:
                out.writelines(u.model_dump_json(exclude_none=True) + "\n" for u in h.recorded)
                h.recorded.clear()

            await run_buyers(h, range(FIRST_UID, FIRST_UID + first))
            flush()
            out.write(f"{CHECKPOINT} {first}\n")
            step = max(first // 2, 500)
            while done < last and time.monotonic() - started < budget:
                n = min(step, last - done)
                await run_buyers(h, range(FIRST_UID + done, FIRST_UID + done + n), seed=done)
                done += n
                flush()
            out.write(f"{CHECKPOINT} {done}\n")
    finally:
        await h.stop()
    return first, done


def probe_update(bot: Bot, n: int) -> Update:
    """/help from a user who is not a buyer, with an update id no recording uses."""
    chat = {"id": PROBE_UID, "type": "private", "first_name": "Probe"}
    return Update.model_validate({"update_id": 2_000_000_000 + n, "message": {
        "message_id": n + 1, "date": int(time.time()), "chat": chat, "text": "/help",
        "from": {"id": PROBE_UID, "is_bot": False, "first_name": "Probe", "language_code": "en"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}, context={"bot": bot})


def per_user_structures(side: str, dp: Any, h: IntakeHarness | None) -> dict[str, int]:
    if h is None:  # the peer: aiogram's MemoryStorage keeps a record per user it ever saw
        return {"FSM records (MemoryStorage)": len(dp.fsm.storage.storage)}
    flood = next(m for m in dp.update.outer_middleware if isinstance(m, FloodControl))
    return {
        "FSM records (SparseMemoryStorage)": len(dp.fsm.storage.storage),
        "update locks (UserLocks)": dp.fsm.events_isolation.held(),
        "flood counters (FloodControl)": flood.remembered(),
        "album timers (AlbumAcks)": len(h.svc.albums._tasks),
    }


async def worker(side: str, updates: Path, trace: bool) -> dict:
    out: dict = {"side": side, "checkpoints": []}
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "memory.db"
        h: IntakeHarness | None = None
        engine = None
        if side == "bot":
            await seed_pending(db, SEEDED)  # as the recording's: the same dispute ids
            h = await IntakeHarness(db, bot=Bot(TOKEN, session=LeanSession(remember=False))).start()
            for table in ("users", "disputes", "reminders"):
                async with h.store._db.execute(f"SELECT * FROM {table}") as cur:
                    await cur.fetchall()
            dp, bot, window = h.dp, h.bot, h.config.bot.flood_window_seconds
        else:
            from benchmarks.peer import open_engine, peer_dispatcher
            engine = await open_engine(db)
            dp, bot, window = peer_dispatcher(engine), Bot(TOKEN, session=LeanSession(remember=False)), 0.0
        gc.collect()
        gc.freeze()  # as python -m bot does after its imports: what is here now is not the buyers'
        buyers = 0
        snap = None

        async def checkpoint() -> None:
            if h is not None:
                await h.settle()
            # Flood control remembers the last window's senders by design: wait it out,
            # then one more update (a probe user) lets it forget the idle ones.
            await asyncio.sleep(window)
            await dp.feed_update(bot, probe_update(bot, len(out["checkpoints"])))
            gc.collect()
            out["checkpoints"].append({"buyers": buyers, "rss": rss_bytes(), "blocks": sys.getallocatedblocks(),
                                       "objects": len(gc.get_objects()),
                                       "structures": per_user_structures(side, dp, h)})

        try:
            with updates.open(encoding="utf-8") as lines:
                for line in lines:
                    if line.startswith(CHECKPOINT):
                        buyers = int(line.split()[1])
                        await checkpoint()
                        if trace and snap is None:
                            tracemalloc.start(1)
                            snap = tracemalloc.take_snapshot()
                        continue
                    # json.loads, then validate, as aiogram reads getUpdates: pydantic's own JSON parser
                    # keeps a cache of the strings it parsed, which would grow here and not in the bot.
                    await dp.feed_update(bot, Update.model_validate(json.loads(line), context={"bot": bot}))
            check_work(side, db, buyers)
            if snap is not None:
                gc.collect()
                diff = tracemalloc.take_snapshot().compare_to(snap, "lineno")
                grown = buyers - out["checkpoints"][0]["buyers"]
                # Grouped by the allocating line: what a bounded cache frees and refills nets out.
                out["trace"] = [{"bytes_per_buyer": s.size_diff / grown, "count_per_buyer": s.count_diff / grown,
                                 "traceback": [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}"
                                               for f in s.traceback]}
                                for s in diff[:12] if s.size_diff > 0]
                tracemalloc.stop()
        finally:
            if h is not None:
                await h.stop()
            if engine is not None:
                await engine.dispose()
    return out


def check_work(side: str, db: Path, buyers: int) -> None:
    """The replay did the conversation: every buyer's dispute reached the summary (the bot),
    every buyer's answers were stored (the peer)."""
    query = ("SELECT COUNT(*) FROM disputes WHERE state = 'summary' AND user_id >= ?" if side == "bot" else
             "SELECT COUNT(DISTINCT user_id) FROM disputes WHERE answers != '' AND user_id >= ?")
    with sqlite3.connect(db) as conn:
        (done,) = conn.execute(query, (FIRST_UID,)).fetchone()
    if done < buyers:
        raise RuntimeError(f"the {side}'s replay went astray: {done} of {buyers} buyers")


def per_buyer(result: dict) -> dict[str, float]:
    a, b = result["checkpoints"][0], result["checkpoints"][-1]
    added = max(1, b["buyers"] - a["buyers"])
    return {"rss": (b["rss"] - a["rss"]) / added, "blocks": (b["blocks"] - a["blocks"]) / added,
            "objects": (b["objects"] - a["objects"]) / added, "ratio": b["rss"] / a["rss"],
            **{k: (v - a["structures"].get(k, 0)) / added for k, v in b["structures"].items()}}


def figures(runs: dict[str, list[dict]], wanted: int) -> list[Figure]:
    bot = runs["bot"]
    a, b = bot[0]["checkpoints"][0], bot[0]["checkpoints"][-1]
    reached = "" if b["buyers"] >= wanted else f" (the recording stopped at its time budget, {wanted:,} wanted)"
    n = len(bot)
    how = f"min / median / max of {n} runs, each a fresh process, alternating with the peer's"
    stats = {side: [per_buyer(r) for r in results] for side, results in runs.items()}

    def of(side: str, key: str, fmt: str = "{:,.1f}") -> str:
        return spread([s[key] for s in stats[side]], fmt)

    structures = list(b["structures"])
    kept = {k: max(s[k] for s in stats["bot"]) for k in structures}
    left = {k: max(r["checkpoints"][-1]["structures"][k] for r in bot) for k in structures}
    # More entries than the 50 buyers in flight at once (and the probe) means something is kept per buyer.
    still = {k: v for k, v in left.items() if v > 51}
    figs = [
        Figure(f"2. buyers at the two checkpoints{reached}", f"{a['buyers']:,} → {b['buyers']:,}", ok=None,
               note=f"RSS of the bot at them (first run): {mib(a['rss'])} → {mib(b['rss'])}"),
        Figure("2. bot: bytes per idle buyer between the checkpoints (RSS)", of("bot", "rss") + " B", ok=None,
               note=how + "; RSS moves in 4 KiB pages"),
        Figure("2. bot: allocated blocks / live objects per idle buyer (sys.getallocatedblocks / gc)",
               f"blocks {of('bot', 'blocks', '{:+.2f}')}; objects {of('bot', 'objects', '{:+.2f}')}", "< 1 each",
               all(s["blocks"] < 1 and s["objects"] < 1 for s in stats["bot"]),
               note="one object kept per buyer would be ≥ 1 here"),
        Figure("2. bot: per-buyer structure entries between the checkpoints", ", ".join(
            f"{k} {v:+.4f}" for k, v in kept.items()), "0", all(v <= 0 for v in kept.values()),
            note="the largest of the runs"),
        Figure("2. bot: per-user structures still in memory", ", ".join(
            f"{k}: {v:,}" for k, v in still.items()) or "none", "none", not still,
            note="after the last checkpoint (largest of the runs): " + ", ".join(
                f"{k} {v:,}" for k, v in left.items())),
        Figure(f"2. bot: RSS ratio {b['buyers']:,}/{a['buyers']:,} buyers", of("bot", "ratio", "{:.3f}"), "≤ 1.3",
               all(s["ratio"] <= 1.3 for s in stats["bot"]),
               note="the issue's sizes are 100,000/1,000 (--full)" if b["buyers"] < 100_000 else ""),
    ]
    if "peer" in stats:
        figs += [
            Figure("2. peer (FSMContext + SQLAlchemy): bytes per idle buyer (RSS)", of("peer", "rss") + " B", ok=None,
                   note=f"same updates, {how.replace('peer', 'bot')}"),
            Figure("2. peer: allocated blocks / live objects / FSM records per idle buyer",
                   f"blocks {of('peer', 'blocks', '{:+.2f}')}; objects {of('peer', 'objects', '{:+.2f}')}; "
                   f"FSM records {of('peer', 'FSM records (MemoryStorage)', '{:+.2f}')}", ok=None)]
    return figs


async def replay(side: str, updates: Path, *, trace: bool = False) -> dict:
    """One run of ``worker`` in a fresh interpreter."""
    cmd = [sys.executable, "-m", "benchmarks.memory", "--worker", side, "--updates", str(updates)] + \
        (["--trace"] if trace else [])
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
    stdout, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"memory worker ({side}) failed ({proc.returncode})")
    return json.loads(stdout)


async def run(workdir: Path, first: int, last: int, budget: float, *, rounds: int = 5) -> list[Figure]:
    updates = workdir / "memory-updates.jsonl"
    await record(updates, workdir, first, last, budget)
    sides = {"bot": lambda i: replay("bot", updates)}
    try:
        import sqlalchemy  # noqa: F401 - the peer needs the bench extra
        sides["peer"] = lambda i: replay("peer", updates)
    except ImportError:
        pass
    return figures(await alternate(sides, rounds), last)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--worker", choices=("bot", "peer"))
    p.add_argument("--updates", type=Path)
    p.add_argument("--first", type=int, default=300)
    p.add_argument("--last", type=int, default=800)
    p.add_argument("--budget", type=float, default=300)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--trace", action="store_true")
    args = p.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(worker(args.worker, args.updates, args.trace))))
        return
    from benchmarks.common import table
    with tempfile.TemporaryDirectory() as d:
        if args.trace:
            updates = Path(d) / "updates.jsonl"
            asyncio.run(record(updates, Path(d), args.first, args.last, args.budget))
            result = asyncio.run(replay("bot", updates, trace=True))
            for c in result["checkpoints"]:
                print(c["buyers"], mib(c["rss"]), c["blocks"], c["objects"], c["structures"])
            for t in result.get("trace", []):
                print(f"{t['bytes_per_buyer']:8.1f} B/buyer {t['count_per_buyer']:6.2f} blocks/buyer  "
                      + " <- ".join(t["traceback"]))
            return
        print(table(asyncio.run(run(Path(d), args.first, args.last, args.budget, rounds=args.rounds))))


if __name__ == "__main__":
    main()
