"""Diagnosis for figure 1: what the remaining thread hand-offs cost per update.

``python -m benchmarks.whatif [users] [variant ...]`` runs the throughput benchmark
in a fresh process per variant, counting the hand-offs per update:

  none    as shipped.
  sqlite  aiosqlite's worker-thread round trips replaced by inline calls on the
          event loop (a patch in this process only; nothing in bot/ is touched).
          Not a fix: it would block the loop on every busy wait and checkpoint.
          It bounds what fewer hops could still gain.

Variants: none sqlite (default: both).
"""
from __future__ import annotations

import asyncio
import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path

VARIANTS = ("none", "sqlite")


def patch(variant: str, counts: collections.Counter) -> None:
    import functools
    import inspect

    import aiosqlite
    from aiogram.dispatcher.event import handler

    from bot.storage import Storage

    # Storage's methods live in its repositories (bot/storage/*.py): every class of the MRO.
    methods = {name: fn for cls in reversed(Storage.__mro__) for name, fn in vars(cls).items()}
    for name, fn in list(methods.items()):
        if inspect.iscoroutinefunction(fn) and not name.startswith("_") and name not in ("open", "close"):
            def wrap(fn=fn, name=name):
                @functools.wraps(fn)
                async def counted(*args, **kwargs):
                    counts["Storage." + name] += 1
                    return await fn(*args, **kwargs)
                return counted
            setattr(Storage, name, wrap())

    original = handler.CallableObject.call

    async def call(self, *args, **kwargs):
        if not self.awaitable:
            counts["to_thread"] += 1
        return await original(self, *args, **kwargs)

    handler.CallableObject.call = call

    execute = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        counts["aiosqlite"] += 1
        return await execute(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = counted
    if variant != "sqlite":
        return

    async def inline(self, fn, *args, **kwargs):
        counts["aiosqlite"] += 1
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def connect_inline(self):
        if self._connection is None:
            self._connection = self._connector()
        return self

    aiosqlite.Connection._execute = inline
    aiosqlite.Connection._connect = connect_inline
    connect = aiosqlite.connect

    def connect_any_thread(database, *, iter_chunk_size=64, **kwargs):
        return connect(database, iter_chunk_size=iter_chunk_size, check_same_thread=False, **kwargs)

    aiosqlite.connect = connect_any_thread


def one(variant: str, users: int, profile: str | None = None) -> dict:
    counts: collections.Counter = collections.Counter()
    patch(variant, counts)
    from benchmarks import throughput

    async def go():
        with tempfile.TemporaryDirectory() as d:
            figs = await throughput.run(Path(d), users, profile=profile)
        return figs

    figs = asyncio.run(go())
    rows = {f.name: f.value for f in figs}
    n = int(rows["1. updates fed (users × intake)"].split()[0].replace(",", ""))
    fed = 2 * n  # the recording pass and the replay
    return {"variant": variant, **rows, "to_thread per update": counts["to_thread"] / fed,
            "aiosqlite hops per update": counts["aiosqlite"] / fed,
            "storage calls per update": {k: round(v / fed, 2) for k, v in counts.most_common()
                                         if k.startswith("Storage.")}}


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--one":  # --one VARIANT USERS [PROFILE.txt]
        print(json.dumps(one(args[1], int(args[2]), args[3] if len(args) > 3 else None)))
        return
    users = int(args[0]) if args and args[0].isdigit() else 150
    variants = [a for a in args if not a.isdigit()] or list(VARIANTS)
    for v in variants:
        out = subprocess.run([sys.executable, "-m", "benchmarks.whatif", "--one", v, str(users)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{v:15} full {r['1. full stack throughput']:>16}  bare {r['1. bare Dispatcher + echo throughput']:>16}"
              f"  ratio {r['1. throughput ratio full/bare']:>6}  p50 {r['1. full stack p50 per update']:>9}"
              f"  p99 {r['1. full stack p99 per update']:>9}  to_thread/update {r['to_thread per update']:.1f}"
              f"  aiosqlite hops/update {r['aiosqlite hops per update']:.1f}", flush=True)
        if v == variants[0]:
            calls = r["storage calls per update"]
            print(f"{'':15} Storage calls per update: {sum(calls.values()):.2f} = "
                  + ", ".join(f"{k.split('.')[1]} {n}" for k, n in calls.items()), flush=True)


if __name__ == "__main__":
    main()
