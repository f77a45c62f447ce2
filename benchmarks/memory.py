"""2. Memory: RSS after ``first`` and after ``last`` distinct buyers went through the intake.

Runs in a fresh process (``python -m benchmarks.memory --worker ...``): the full
stack of tests.chat.BotHarness on a LeanSession, buyers driven 50 at a time
(benchmarks.intake.run_buyers). RSS (VmRSS) is read after gc.collect() at each
checkpoint, with the sizes of the in-memory structures that are keyed by user.
``--trace`` adds a tracemalloc comparison between the two checkpoints (slower,
and tracemalloc's own bookkeeping inflates RSS: diagnosis only).

When the last size does not fit the time budget the worker stops where it is
and the RSS at 100,000 users is extrapolated from the measured slope.
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
from benchmarks.intake import IntakeHarness, run_buyers
from bot.middlewares import FloodControl

FIRST_UID = 1_000_000


def per_user_structures(h: IntakeHarness) -> dict[str, int]:
    dp = h.dp
    flood = next((m for m in dp.update.outer_middleware if isinstance(m, FloodControl)), None)
    return {
        "MemoryStorage.storage (aiogram FSM)": len(dp.fsm.storage.storage),
        "SimpleEventIsolation._locks (aiogram)": len(getattr(dp.fsm.events_isolation, "_locks", {})),
        "FloodControl._recent": len(flood._recent) if flood else -1,
        "FloodControl._muted_until": len(flood._muted_until) if flood else -1,
        "AlbumAcks._tasks": len(h.svc.albums._tasks),
        "benchmark LeanSession.keyboards": len(h.session.keyboards),
    }


async def structure_costs(n: int = 5_000) -> dict[str, float]:
    """Bytes per user that each per-user structure keeps, measured with tracemalloc on fresh
    instances driven through the calls the dispatcher makes for an update of a new user."""
    from aiogram.fsm.storage.base import StorageKey
    from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
    from aiogram.types import User

    async def handler(event, data):
        return None

    costs = {}
    tracemalloc.start()
    try:
        storage, isolation = MemoryStorage(), SimpleEventIsolation()
        flood = FloodControl(10**9, 5, 20, None, clock=time.monotonic)
        users = [User(id=FIRST_UID + i, is_bot=False, first_name="B") for i in range(n)]
        keys = [StorageKey(bot_id=42, chat_id=u.id, user_id=u.id) for u in users]
        for name, step in (
                # The middleware makes one StorageKey per update; the first one of a user stays as the dict key.
                ("MemoryStorage.storage + StorageKey (aiogram FSM, get_state per update)",
                 lambda k, u: storage.get_state(StorageKey(bot_id=42, chat_id=u.id, user_id=u.id))),
                ("SimpleEventIsolation._locks (aiogram)", lambda k, u: _locked(isolation, k)),
                ("FloodControl._recent (bot/middlewares.py)",
                 lambda k, u: flood(handler, None, {"event_from_user": u}))):
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            for k, u in zip(keys, users):
                await step(k, u)
            gc.collect()
            costs[name] = (tracemalloc.get_traced_memory()[0] - before) / n
    finally:
        tracemalloc.stop()
    return costs


async def _locked(isolation, key) -> None:
    async with isolation.lock(key):
        pass


async def worker(first: int, last: int, budget: float, trace: bool) -> dict:
    out: dict = {"checkpoints": [], "costs": await structure_costs()}
    with tempfile.TemporaryDirectory() as d:
        h = await IntakeHarness(Path(d) / "memory.db").start()
        started = time.monotonic()
        try:
            async def checkpoint(users: int) -> None:
                await h.settle()
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


def figures(result: dict, target_users: int = 100_000, base_users: int = 1_000) -> list[Figure]:
    """The issue's ratio is RSS(100,000 users) / RSS(1,000 users). Measured when both
    checkpoints were reached; otherwise extrapolated two ways, both printed."""
    a, b = result["checkpoints"][0], result["checkpoints"][-1]
    costs = result.get("costs", {})
    # FloodControl forgets idle users once it holds 10,000: it cannot grow past that.
    bounded = sum(v for k, v in costs.items() if k.startswith("FloodControl"))
    unbounded = sum(v for k, v in costs.items() if not k.startswith("FloodControl"))
    slope = (b["rss"] - a["rss"]) / max(1, b["users"] - a["users"])
    base = a["rss"] + slope * (base_users - a["users"])  # RSS at 1,000 users (measured when a is 1,000)
    grown = {k: v for k, v in b["structures"].items() if v > a["structures"].get(k, 0) and v >= b["users"] * 0.5}
    figs = [
        Figure(f"2. RSS after {a['users']:,} users", mib(a["rss"]), ok=None),
        Figure(f"2. RSS after {b['users']:,} users", mib(b["rss"]), ok=None,
               note=f"{b['elapsed']:.0f} s of intake in all; slope {slope:,.0f} bytes/user "
                    f"(includes SQLite's page cache filling up to its 2 MiB cap)"),
    ]
    name = f"2. RSS ratio {target_users:,}/{base_users:,} users"
    if a["users"] == base_users and b["users"] >= target_users:
        ratio = b["rss"] / a["rss"]
        figs.append(Figure(name, f"{ratio:.3f}", "≤ 1.3", ratio <= 1.3))
    else:
        projected = (base + slope * (target_users - base_users)) / base
        figs.append(Figure(f"{name} (extrapolated from the RSS slope)", f"{projected:.2f}", "≤ 1.3",
                           projected <= 1.3, note=f"measured {b['rss'] / a['rss']:.3f} for "
                                                  f"{b['users']:,}/{a['users']:,} users; linear beyond"))
    if costs:
        by_structures = (base + unbounded * (target_users - base_users)
                         + bounded * max(0, min(target_users, 10_000) - base_users)) / base
        figs.append(Figure(f"{name} (from the structures' sizes)", f"{by_structures:.2f}", "≤ 1.3",
                           by_structures <= 1.3,
                           note="RSS at 1,000 + per-entry bytes below × users (FloodControl capped at 10,000); "
                                "no allocator overhead: a lower bound"))
    figs.append(Figure("2. per-user structures still in memory", ", ".join(
        f"{k}: {v:,}" for k, v in grown.items()) or "none", "none", not grown,
        note="bytes per entry (tracemalloc): " + ", ".join(f"{k} {v:,.0f}" for k, v in costs.items())))
    return figs


async def run(first: int, last: int, budget: float, *, trace: bool = False,
              whatif: bool = False) -> tuple[list[Figure], dict]:
    """Runs the worker in a fresh interpreter."""
    cmd = [sys.executable, "-m", "benchmarks.memory", "--worker", "--first", str(first), "--last", str(last),
           "--budget", str(budget)] + (["--trace"] if trace else []) + (["--whatif"] if whatif else [])
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
    stdout, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"memory worker failed ({proc.returncode})")
    result = json.loads(stdout)
    return figures(result), result


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--worker", action="store_true")
    p.add_argument("--first", type=int, default=1000)
    p.add_argument("--last", type=int, default=2000)
    p.add_argument("--budget", type=float, default=300)
    p.add_argument("--trace", action="store_true")
    p.add_argument("--whatif", action="store_true", help="with benchmarks.whatif.patch_memory() (diagnosis)")
    args = p.parse_args()
    if args.whatif:
        from benchmarks.whatif import patch_memory
        patch_memory()
    if args.worker:
        print(json.dumps(asyncio.run(worker(args.first, args.last, args.budget, args.trace))))
        return
    from benchmarks.common import table
    figs, result = asyncio.run(run(args.first, args.last, args.budget, trace=args.trace, whatif=args.whatif))
    print(table(figs))
    for c in result["checkpoints"]:
        print(c["users"], mib(c["rss"]), c["structures"])
    for t in result.get("trace", []):
        print(f"{t['bytes_per_user']:8.1f} B/user {t['count_per_user']:6.2f} blocks/user  " + " <- ".join(t["traceback"]))


if __name__ == "__main__":
    main()
