"""4. Storage: database bytes per completed dispute, and /disputes for a buyer with 100 disputes.

Bytes: the database the throughput replay left behind (every buyer one dispute
through the summary, with its evidence records and planned reminders), WAL
checkpointed, minus a freshly migrated empty database, per dispute; split by
table with SQLite's dbstat. /disputes: one buyer takes 100 intakes through the
full stack, then sends /disputes; each is timed through Dispatcher.feed_update.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from benchmarks.common import Figure, alternate, spread
from benchmarks.intake import SCENARIOS, Buyer, IntakeHarness
from benchmarks.reminders import migrate

import random

DISPUTE_TABLES = ("users", "disputes", "evidence", "reminders")


def _pages(db_path: Path) -> tuple[int, dict[str, int]]:
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (count,), (size,), (free,) = (db.execute(f"PRAGMA {p}").fetchone()
                                      for p in ("page_count", "page_size", "freelist_count"))
        by_table: dict[str, int] = {}
        for _name, table, pgsize in db.execute(
                "SELECT s.name, COALESCE(m.tbl_name, s.name), SUM(s.pgsize) FROM dbstat s"
                " LEFT JOIN sqlite_schema m ON m.name = s.name GROUP BY s.name"):
            by_table[table] = by_table.get(table, 0) + pgsize
        return (count - free) * size, by_table
    finally:
        db.close()


async def bytes_per_dispute(workdir: Path, db_path: Path) -> list[Figure]:
    empty = workdir / "storage-empty.db"
    await migrate(empty)
    empty_bytes, empty_tables = _pages(empty)
    total, tables = _pages(db_path)
    db = sqlite3.connect(db_path)
    try:
        disputes = db.execute("SELECT COUNT(*) FROM disputes WHERE state = 'summary'").fetchone()[0]
        evidence = db.execute("SELECT COUNT(*) FROM evidence").fetchone()[0]
        reminders = db.execute("SELECT COUNT(*) FROM reminders").fetchone()[0]
        updates = db.execute("SELECT COUNT(*) FROM processed_updates").fetchone()[0]
        statuses = db.execute("SELECT status, COUNT(*) FROM reminders GROUP BY status ORDER BY 2 DESC").fetchall()
    finally:
        db.close()
    data = sum(tables.get(t, 0) - empty_tables.get(t, 0) for t in DISPUTE_TABLES)
    log = tables.get("processed_updates", 0) - empty_tables.get("processed_updates", 0)
    split = ", ".join(f"{t} {(tables.get(t, 0) - empty_tables.get(t, 0)) / disputes:,.0f}" for t in DISPUTE_TABLES)
    return [
        Figure("4. database bytes per completed dispute", f"{data / disputes:,.0f} B", ok=None,
               note=f"{disputes:,} disputes with {evidence / disputes:.2f} evidence records and "
                    f"{reminders / disputes:.2f} reminder rows each ("
                    + ", ".join(f"{n / disputes:.2f} {st}" for st, n in statuses)
                    + f"); bytes per dispute by table, indexes included: {split}"),
        Figure("4. … counting the processed-updates log too", f"{(total - empty_bytes) / disputes:,.0f} B", ok=None,
               note=f"processed_updates {log / disputes:,.0f} B per dispute ({updates / disputes:.1f} update ids, "
                    "capped at the newest 100,000)"),
    ]


async def disputes_command(workdir: Path, n: int = 100, repeats: int = 30) -> list[Figure]:
    """/disputes for a buyer with ``n`` disputes against one with a single dispute, the two
    buyers' requests alternating, each timed through Dispatcher.feed_update."""
    h = await IntakeHarness(workdir / "disputes100.db").start()
    r = random.Random(7)
    one, many = Buyer(h, 4241), Buyer(h, 4242)

    def timed_disputes(buyer: Buyer):
        async def once(_: int) -> float:
            update = h.make_update({"message": buyer._message(text="/disputes", entities=[
                {"type": "bot_command", "offset": 0, "length": 9}])})
            t = time.perf_counter()
            await h.feed_update(update)
            return time.perf_counter() - t
        return once

    try:
        for i in range(n + 1):
            buyer = many if i < n else one
            for step in SCENARIOS[i % len(SCENARIOS)](buyer, r):
                await step
        times = await alternate({"one": timed_disputes(one), "many": timed_disputes(many)}, repeats)
        count = len(await h.store.list_disputes(many.id))
    finally:
        await h.stop()
    if count != n:
        raise RuntimeError(f"{count} disputes instead of {n}")
    ms = {k: [t * 1000 for t in v] for k, v in times.items()}
    return [
        Figure(f"4. /disputes, buyer with {n} disputes (min / median / max of {repeats})",
               spread(ms["many"], "{:.2f}", " ms"), "< 20 ms (the per-update p99 budget)", max(ms["many"]) < 20,
               note=f"a buyer with 1 dispute, alternating with it: {spread(ms['one'], '{:.2f}', ' ms')}; "
                    "the list shows the newest 20"),
    ]
