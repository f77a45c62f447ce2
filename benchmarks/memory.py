"""2. Memory: RSS after ``first`` and after ``last`` distinct buyers went through the intake.

Runs in a fresh process (``python -m benchmarks.memory --worker ...``): the full
stack of testkit.chat.BotHarness on a LeanSession, every buyer a real intake
through the dispatcher, 50 at a time (benchmarks.intake.run_buyers). RSS
(VmRSS) is read after gc.collect() at each checkpoint, with the sizes of the
in-memory structures that are keyed by user (they must not grow with users).
``--trace`` adds a tracemalloc comparison between the two checkpoints (slower,
and tracemalloc's own bookkeeping inflates RSS: diagnosis only).

The database already holds 5,000 other disputes, read once before the first
checkpoint: SQLite's page cache (2 MiB per connection) is then full from the
start, and its filling up is not mistaken for growth per user. When ``last``
does not fit the time budget the worker stops where it is and says so; nothing
is extrapolated.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from benchmarks.common import Figure, mib, rss_bytes
from benchmarks.intake import Buyer, IntakeHarness, run_buyers
from benchmarks.reminders import seed_pending
from bot.middlewares import FloodControl

FIRST_UID = 1_000_000
PROBE_UID = 999


def per_user_structures(h: IntakeHarness) -> dict[str, int]:
    dp = h.dp
    flood = next(m for m in dp.update.outer_middleware if isinstance(m, FloodControl))
    return {
        "FSM records (SparseMemoryStorage)": len(dp.fsm.storage.storage),
        "update locks (UserLocks)": dp.fsm.events_isolation.held(),
        "flood counters (FloodControl)": flood.remembered(),
        "album timers (AlbumAcks)": len(h.svc.albums._tasks),
        "benchmark's own LeanSession.keyboards": len(h.session.keyboards),
    }


async def worker(first: int, last: int, budget: float, trace: bool) -> dict:
    out: dict = {"checkpoints": []}
    with tempfile.TemporaryDirectory() as d:
        await seed_pending(Path(d) / "memory.db", 20_000)
        h = await IntakeHarness(Path(d) / "memory.db").start()
        for table in ("users", "disputes", "reminders"):
            async with h.store._db.execute(f"SELECT * FROM {table}") as cur:
                await cur.fetchall()
        started = time.monotonic()
        try:
            async def checkpoint(users: int) -> None:
                await h.settle()
                # Flood control remembers the last window's senders by design: wait it out,
                # then one more update (a probe user) lets it forget the idle ones.
                await asyncio.sleep(h.config.bot.flood_window_seconds)
                await Buyer(h, PROBE_UID).send("/help")
                gc.collect()
                out["checkpoints"].append({"users": users, "rss": rss_bytes(), "elapsed": time.monotonic() - started,
                                           "structures": per_user_structures(h)})

            await run_buyers(h, range(FIRST_UID, FIRST_UID + first))
            await checkpoint(first)
            if trace:
                tracemalloc.start(1)
                snap = tracemalloc.take_snapshot()
            done = first
            step = max(first // 2, 500)
            while done < last and time.monotonic() - started < budget:
                n = min(step, last - done)
                await run_buyers(h, range(FIRST_UID + done, FIRST_UID + done + n), seed=done)
                done += n
            await checkpoint(done)
            if trace:
                gc.collect()
                diff = tracemalloc.take_snapshot().compare_to(snap, "lineno")
                grown = done - first
                # Grouped by the allocating line: what a bounded cache frees and refills nets out.
                out["trace"] = [{"bytes_per_user": s.size_diff / grown, "count_per_user": s.count_diff / grown,
                                 "traceback": [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}"
                                               for f in s.traceback]}
                                for s in diff[:12] if s.size_diff > 0]
                tracemalloc.stop()
        finally:
            await h.stop()
    return out


def figures(result: dict, wanted: int) -> list[Figure]:
    a, b = result["checkpoints"][0], result["checkpoints"][-1]
    slope = (b["rss"] - a["rss"]) / max(1, b["users"] - a["users"])
    # More entries than the 50 buyers in flight at once (and the probe) means something is kept per user.
    grown = {k: v for k, v in b["structures"].items() if v > a["structures"].get(k, 0) and v > 51}
    ratio = b["rss"] / a["rss"]
    reached = "" if b["users"] >= wanted else f" (stopped at the time budget, {wanted:,} wanted)"
    return [
        Figure(f"2. RSS after {a['users']:,} users", mib(a["rss"]), ok=None),
        Figure(f"2. RSS after {b['users']:,} users{reached}", mib(b["rss"]), ok=None,
               note=f"{b['elapsed']:.0f} s of intake in all, {slope:,.1f} bytes per further user"),
        Figure(f"2. RSS ratio {b['users']:,}/{a['users']:,} users", f"{ratio:.3f}", "≤ 1.3", ratio <= 1.3,
               note="the issue's sizes are 100,000/1,000 (--full)" if b["users"] < 100_000 else ""),
        Figure(f"2. bytes per idle buyer between the checkpoints ({a['users']:,} → {b['users']:,})",
               f"{slope:,.1f} B", ok=None,
               note="RSS difference ÷ buyers added; every buyer idle (intake done) at both checkpoints"),
        Figure("2. per-buyer structure entries between the checkpoints", ", ".join(
            f"{k} {(b['structures'].get(k, 0) - a['structures'].get(k, 0)) / max(1, b['users'] - a['users']):+.4f}"
            for k in b["structures"]) or "none", "0", all(
            b["structures"].get(k, 0) <= a["structures"].get(k, 0) for k in b["structures"])),
        Figure("2. per-user structures still in memory", ", ".join(
            f"{k}: {v:,}" for k, v in grown.items()) or "none", "none", not grown,
            note="after the last checkpoint: " + ", ".join(f"{k} {v:,}" for k, v in b["structures"].items())),
    ]


async def run(first: int, last: int, budget: float, *, trace: bool = False) -> tuple[list[Figure], dict]:
    """Runs the worker in a fresh interpreter."""
    cmd = [sys.executable, "-m", "benchmarks.memory", "--worker", "--first", str(first), "--last", str(last),
           "--budget", str(budget)] + (["--trace"] if trace else [])
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
    stdout, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"memory worker failed ({proc.returncode})")
    result = json.loads(stdout)
    return figures(result, last), result


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--worker", action="store_true")
    p.add_argument("--first", type=int, default=1000)
    p.add_argument("--last", type=int, default=2000)
    p.add_argument("--budget", type=float, default=300)
    p.add_argument("--trace", action="store_true")
    args = p.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(worker(args.first, args.last, args.budget, args.trace))))
        return
    from benchmarks.common import table
    figs, result = asyncio.run(run(args.first, args.last, args.budget, trace=args.trace))
    print(table(figs))
    for c in result["checkpoints"]:
        print(c["users"], mib(c["rss"]), c["structures"])
    for t in result.get("trace", []):
        print(f"{t['bytes_per_user']:8.1f} B/user {t['count_per_user']:6.2f} blocks/user  " + " <- ".join(t["traceback"]))


if __name__ == "__main__":
    main()
