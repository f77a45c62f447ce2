"""``python -m benchmarks [--small | --full] [--only 1,2,3,4,5,6,7] [--json PATH]``

Prints every figure with its target and PASS/MISS (— where the issue sets no
target), and the machine it ran on. ``--small`` (the default) takes 15-25 minutes
on a shared 2-core machine (BENCHMARKS.md); ``--full`` runs the sizes of the issue where
they fit (see BENCHMARKS.md). Every timed figure is repeated in rounds that
alternate between the sides compared (benchmarks.common.alternate) and given as
min / median / max: the machines are noisy.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import dossier, latency, memory, reminders, storage, throughput, workers
from benchmarks.common import Figure, machine, table

SIZES = {
    # users in the throughput run, and in its run on a grown database; memory checkpoints (buyers) and the
    # recording's time budget (s); pending reminders for start→ready; due reminders to dispatch; disputes for
    # /disputes; buyers of the PostgreSQL run. Rounds (benchmarks.common.alternate): at least 5, 3 where one run
    # is too long at --full size (the figure says so).
    "small": {"users": 100, "grown": 100, "memory": (300, 800, 120), "pending": 1_000_000, "due": 300,
              "disputes": 100, "rounds": 5, "latency_rounds": 5, "grown_rounds": 3, "memory_rounds": 5,
              "dispatch_rounds": 5, "pg_rounds": 3, "pg_buyers": 60},
    "full": {"users": 1_000, "grown": 300, "memory": (1_000, 100_000, 9_000), "pending": 1_000_000,
             "due": 10_000, "disputes": 100, "rounds": 7, "latency_rounds": 5, "grown_rounds": 3,
             "memory_rounds": 3, "dispatch_rounds": 3, "pg_rounds": 5, "pg_buyers": 150},
}


async def main_async(size: str, only: set[str], profile: Path | None = None) -> list[Figure]:
    s = SIZES[size]
    figures: list[Figure] = []
    started = time.monotonic()

    def show(new: list[Figure]) -> None:
        figures.extend(new)
        print(table(new), flush=True)
        print(f"({time.monotonic() - started:.0f} s)\n", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        if "1" in only or "4" in only:
            print(f"[1] throughput: {s['users']:,} buyers through the intake …", flush=True)
            results = await throughput.run(workdir, s["users"], rounds=s["rounds"], profile=profile)
            if "1" in only:
                show(results)
        if "4" in only:
            print("[4] storage …", flush=True)
            show(await storage.bytes_per_dispute(workdir, workdir / "throughput.db")
                 + await storage.disputes_command(workdir, s["disputes"]))
        if "3" in only:
            print(f"[3] reminder engine: start→ready with {s['pending']:,} pending …", flush=True)
            show(await reminders.run_start(workdir, s["pending"], rounds=s["rounds"]))
        if "1" in only:
            # The database figure 3 seeded (a quarter million disputes) stands in for a bot that has grown.
            seeded = workdir / "pending.db"
            if not seeded.exists():
                await reminders.seed_pending(seeded, s["pending"])
            print(f"[1] throughput on a grown database: {s['grown']:,} buyers …", flush=True)
            show(await throughput.grown_rounds(workdir, seeded, s["grown"], s["grown_rounds"]))
        first, last, budget = s["memory"]
        mem_task = None
        if "2" in only:
            print(f"[2] memory: {first:,} → {last:,} buyers, bot and peer, {s['memory_rounds']} rounds …", flush=True)
            job = memory.run(workdir, first, last, budget, rounds=s["memory_rounds"])
            if size == "small" and "3" in only:
                # Small run: the memory workers use the core the paced dispatch below leaves idle.
                mem_task = asyncio.create_task(job)
            else:
                show(await job)
        if "3" in only:
            print(f"[3] reminder engine: dispatch of {s['due']:,} due reminders at 28/s (≈ {s['due'] / 28:.0f} s), "
                  f"{s['dispatch_rounds']} runs …", flush=True)
            show(await reminders.run_dispatch(workdir, s["due"], rate=28, rounds=s["dispatch_rounds"]))
        if mem_task is not None:
            show(await mem_task)
        if "5" in only:
            print("[5] dossier: 30 photos and 50 seller messages, and the timeline picture …", flush=True)
            show(await asyncio.to_thread(dossier.run, repeats=s["rounds"]))
        if "6" in only:
            print(f"[6] answer latency in round trips: {s['latency_rounds']} rounds before/after, alternating …",
                  flush=True)
            show(await latency.run(workdir, rounds=s["latency_rounds"]))
        if "7" in only:
            print(f"[7] PostgreSQL: latency against SQLite ({s['pg_rounds']} rounds), throughput 1 vs 2 workers …",
                  flush=True)
            show(await workers.run(workdir, rounds=s["pg_rounds"], concurrent_buyers=s["pg_buyers"]))
    return figures


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1])
    group = p.add_mutually_exclusive_group()
    group.add_argument("--small", dest="size", action="store_const", const="small", help="≈ 12 min (default)")
    group.add_argument("--full", dest="size", action="store_const", const="full", help="the issue's sizes, ≈ 1.5 h")
    p.add_argument("--only", default="1,2,3,4,5,6,7", help="comma-separated figure numbers (default: all)")
    p.add_argument("--json", type=Path, help="also write the figures and the machine here")
    p.add_argument("--profile", type=Path, help="write a pyinstrument profile of the full stack's replay (figure 1) "
                                                "here; needs pip install -e '.[bench]'")
    p.set_defaults(size="small")
    args = p.parse_args()
    logging.basicConfig(level=logging.ERROR)

    info = machine()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()))
    print(f"size: {args.size} {SIZES[args.size]}\n", flush=True)
    started = time.monotonic()
    figures = asyncio.run(main_async(args.size, set(args.only.split(",")), args.profile))
    elapsed = time.monotonic() - started
    order = {n: i for i, n in enumerate("1234567")}
    figures.sort(key=lambda f: order.get(f.name[:1], 9))
    print(f"=== all figures ({args.size}, {elapsed:.0f} s) ===")
    print(table(figures))
    misses = [f.name for f in figures if f.ok is False]
    print(f"\n{len(misses)} target(s) missed" + (": " + "; ".join(misses) if misses else ""))
    if args.json:
        args.json.write_text(json.dumps({"size": args.size, "elapsed_s": round(elapsed), "machine": info,
                                         "figures": [f.as_dict() for f in figures],
                                         "markdown": table(figures, markdown=True)}, indent=2, ensure_ascii=False),
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
