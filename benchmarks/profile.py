"""Where the full stack's time goes: ``python -m benchmarks.profile [users]``.

The replay of figure 1 (benchmarks.throughput.record, then the same Updates fed to
the full stack) under cProfile; self time summed by where the code lives. Shares,
not seconds: cProfile slows everything, roughly alike.
"""
from __future__ import annotations

import asyncio
import collections
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

from benchmarks import throughput
from benchmarks.intake import IntakeHarness

LOOP_FILES = ("selectors.py", "selector_events.py", "base_events.py", "events.py", "futures.py", "threading.py")


def category(file: str, function: str) -> str:
    if "select.epoll" in function or "_queue.SimpleQueue" in function or "socket" in function \
            or file.endswith(LOOP_FILES):
        return "event loop: waiting for / waking from the SQLite thread"
    if "aiosqlite" in file or "sqlite3" in function:
        return "aiosqlite + sqlite3 calls"
    if "site-packages/aiogram" in file or "magic_filter" in file:
        return "aiogram (dispatch, filters, methods, types)"
    if "pydantic" in file or "pydantic_core" in function:
        return "pydantic (aiogram's models)"
    for part, name in (("babel", "Babel (dates, money)"), ("transitions", "transitions"),
                       ("/bot/", "bot/ (handlers, views, storage code)"), ("/flows/", "flows/"),
                       ("/tests/", "recording session (shared with the echo)"),
                       ("/benchmarks/", "recording session (shared with the echo)")):
        if part in file:
            return name
    return "other (stdlib, builtins)"


async def main(users: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        bot, updates = await throughput.record(Path(d) / "record.db", users)
        full = await IntakeHarness(Path(d) / "profile.db", bot=bot).start()
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            for update in updates:
                await full.dp.feed_update(bot, update)
        finally:
            profiler.disable()
            await full.stop()
    shares: collections.Counter = collections.Counter()
    for (file, _line, function), (_cc, _nc, self_time, _ct, _callers) in pstats.Stats(profiler).stats.items():
        shares[category(file, function)] += self_time
    total = sum(shares.values())
    print(f"{len(updates):,} updates under cProfile, {total / len(updates) * 1000:.2f} ms per update")
    for name, seconds in shares.most_common():
        print(f"{seconds / total:5.0%}  {name}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 150))
