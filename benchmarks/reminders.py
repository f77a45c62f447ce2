"""3. The reminder engine of the real process (``python -m bot``) against a fake Bot API on 127.0.0.1.

* Start to ready: with ``pending`` reminders in the database (all due far in the
  future), the time from spawning the process to its first getUpdates at the
  fake; the same with an empty database in the same run, for reference. Then
  the CPU the process uses (utime+stime from /proc) over a few idle seconds.
* Dispatch: ``due`` reminders due now, one per chat, configured at
  ``rate`` messages/s; the fake answers 429 to any sendMessage beyond 30 in the
  trailing second. Achieved rate over the middle 80 % of the sends ÷ the
  configured rate, 429 answers, chats that got the reminder twice.

Rows are bulk-inserted (executemany, one transaction) into the schema the bot's
own migrations created (Storage.open), shaped as the bot itself plans them.
"""
from __future__ import annotations

import asyncio
import statistics
import resource
import sqlite3
import sys
import time
from collections import Counter
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.common import Figure, alternate, cpu_seconds, spread
from benchmarks.fake429 import RateLimitedFakeBotAPI
from bot.storage import Storage
from flows.dispute import Dispute
from flows.policy import Policy
from flows.reminders import plan
from testkit.fake_bot_api import FakeBotAPI
from testkit.processes import REPO, BotProcess, bot_env, max_in_window

BASE_UID = 10_000_000
UTC = ZoneInfo("UTC")
# Every buyer in UTC and "daytime" all day: quiet hours never postpone a send here.
POLICY = Policy(daytime_start=dtime(0, 0, 0), daytime_end=dtime(23, 59, 59))


def moment(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def write_config(path: Path, *, rate: float = 25, polling_timeout: int = 30) -> None:
    path.write_text(
        f"[bot]\npolling_timeout = {polling_timeout}\n\n"
        f"[reminders]\nglobal_per_second = {rate}\nper_chat_per_second = 1\n\n"
        # Reminders share the bot's send budget (bot.budget): it must allow the rate measured here.
        f"[sending]\nper_second = {rate}\n\n"
        "[policy]\ndaytime_start = 00:00:00\ndaytime_end = 23:59:59\n", encoding="utf-8")


async def migrate(db_path: Path) -> None:
    store = await Storage.open(f"sqlite:///{db_path}")
    await store.close()


def _bulk(db_path: Path, users: list[tuple], disputes: list[tuple], reminders: list[tuple]) -> None:
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        db.execute("PRAGMA cache_size=-200000")
        db.execute("BEGIN")
        db.executemany("INSERT INTO users (id, locale, timezone, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                       users)
        db.executemany("INSERT INTO disputes (id, user_id, state, version, reason, received, solution, order_number,"
                       " order_total, currency, shipped_on, protection_ends_on, refund_full, evidence_done,"
                       " opened_at, window_started_at, created_at, updated_at)"
                       " VALUES (?, ?, ?, 7, 'not_received', 0, 'refund_only', '8123456789012345', '26', 'USD',"
                       " ?, ?, 1, 1, ?, ?, ?, ?)", disputes)
        # Secondary indexes are rebuilt after the rows (same definitions): a sort beats a million inserts.
        indexes = db.execute("SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'reminders'"
                             " AND sql IS NOT NULL").fetchall()
        for (sql,) in indexes:
            db.execute("DROP INDEX " + sql.split()[2])
        db.executemany("INSERT INTO reminders (dispute_id, user_id, kind, due_at, deadline_at, for_state,"
                       " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)", reminders)
        for (sql,) in indexes:
            db.execute(sql)
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


async def seed_pending(db_path: Path, n: int) -> float:
    """``n`` pending reminders, all due in 2030+, four per dispute ("protection ends in
    7/3/1/0 days"), one dispute per buyer. Returns the seconds it took."""
    start = time.perf_counter()
    await migrate(db_path)
    now = moment(datetime.now(timezone.utc))
    per = 4
    disputes = (n + per - 1) // per
    users, rows, reminders = [], [], []
    base = datetime(2030, 1, 1, tzinfo=timezone.utc)
    cycle = []  # the 700 distinct deadlines, formatted once
    for j in range(700):
        ends = base + timedelta(days=j)
        cycle.append(((ends - timedelta(days=60)).date().isoformat(), ends.date().isoformat(),
                      moment(ends.replace(hour=23, minute=59)),
                      [moment((ends - timedelta(days=days)).replace(hour=10)) for days in (7, 3, 1, 0)]))
    for i in range(disputes):
        uid, did = BASE_UID + i, i + 1
        shipped, ends_on, deadline, dues = cycle[i % 700]
        users.append((uid, "en", "UTC", now, now))
        rows.append((did, uid, "summary", shipped, ends_on, None, None, now, now))
        for due in dues[:min(per, n - i * per)]:
            reminders.append((did, uid, "protection", due, deadline, "summary", due))
    await asyncio.to_thread(_bulk, db_path, users, rows, reminders)
    return time.perf_counter() - start


async def seed_due(db_path: Path, n: int) -> datetime:
    """One dispute in "negotiating" per chat whose seller window ends in 2 h: the
    "1 day before" reminder is due now, "when it ends" in 2 h (as the bot plans it)."""
    await migrate(db_path)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    started = now - timedelta(days=POLICY.seller_response_days) + timedelta(hours=2)
    template = Dispute(id=1, user_id=1, state="negotiating", window_started_at=started)
    planned = plan(template, POLICY, UTC, None, now - timedelta(days=3))
    assert [p.kind for p in planned] == ["seller_window", "seller_window"], planned
    assert planned[0].due_at <= now < planned[1].due_at, planned
    stamp = moment(now)
    users, rows, reminders = [], [], []
    for i in range(n):
        uid, did = BASE_UID + i, i + 1
        users.append((uid, "en", "UTC", stamp, stamp))
        rows.append((did, uid, "negotiating", "2026-11-01", "2027-01-05", moment(started), moment(started),
                     stamp, stamp))
        reminders += [(did, uid, p.kind, moment(p.due_at), moment(p.deadline_at), "negotiating", moment(p.due_at))
                      for p in planned]
    await asyncio.to_thread(_bulk, db_path, users, rows, reminders)
    return now


async def _first(fake: FakeBotAPI, since: int, method: str, bot: BotProcess, timeout: float) -> float:
    """Arrival time (monotonic) of the first ``method`` request from index ``since``."""
    deadline = time.monotonic() + timeout
    while True:
        for r in fake.requests[since:]:
            if r.method == method:
                return r.at
        if bot.proc.returncode is not None:
            raise RuntimeError(f"bot exited before {method}\n{bot.describe()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {method} within {timeout}s\n{bot.describe()}")
        await asyncio.sleep(0.002)


async def _stop(bot: BotProcess) -> None:
    try:
        await bot.terminate(20)
    except BaseException:
        pass
    finally:
        await bot.kill()


async def start_to_ready(workdir: Path, fake: FakeBotAPI, db_path: Path, *, idle_seconds: float) -> dict:
    config = workdir / f"{db_path.stem}.toml"
    write_config(config, polling_timeout=30)
    env = bot_env(BOT_TOKEN=fake.token, BOT_API_URL=fake.url, DATABASE_URL=f"sqlite:///{db_path}",
                  CONFIG_FILE=str(config))
    since = fake.mark()
    t0 = time.monotonic()
    bot = await BotProcess.start(env, fake)
    try:
        ready = await _first(fake, since, "getUpdates", bot, 60) - t0
        first_call = await _first(fake, since, "getMe", bot, 1) - t0
        cpu_ready = cpu_seconds(bot.proc.pid)
        await asyncio.sleep(1.0)  # let the startup's last replies and the engine's first pass settle
        before, t = cpu_seconds(bot.proc.pid), time.monotonic()
        await asyncio.sleep(idle_seconds)
        idle_cpu, idle_wall = cpu_seconds(bot.proc.pid) - before, time.monotonic() - t
        sends = [r for r in fake.requests[since:] if r.method == "sendMessage"]
        methods = [r.method for r in fake.requests[since:]]
        calls_before_ready = methods.index("getUpdates")
        profile_calls = sum(m.startswith("setMy") for m in methods)
    finally:
        await _stop(bot)
    return {"ready": ready, "first_call": first_call, "cpu_at_ready": cpu_ready, "idle_cpu": idle_cpu, "idle_wall": idle_wall,
            "sends": len(sends), "calls_before_ready": calls_before_ready, "profile_calls": profile_calls}


# Interpreter start + imports only: plain, and the way python -m bot imports (gc off, bot/__main__.py).
FLOORS = {"aiogram": "import aiogram", "bot.app": "import gc; gc.disable(); import bot.app"}


async def import_floor(code: str) -> tuple[float, float]:
    """Spawn → imports done for a fresh interpreter running ``code``, timed the way start→ready
    is (from just before the spawn to an event the parent sees: here one byte on stdout once
    the imports are done), and the child's CPU seconds."""
    def children_cpu() -> float:
        u = resource.getrusage(resource.RUSAGE_CHILDREN)
        return u.ru_utime + u.ru_stime

    cpu, start = children_cpu(), time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code + "; import sys; sys.stdout.write('.'); sys.stdout.flush()", cwd=REPO,
        stdout=asyncio.subprocess.PIPE)
    await proc.stdout.readexactly(1)
    done = time.monotonic() - start
    await proc.wait()
    return done, children_cpu() - cpu


async def engine_start(db_path: Path, rounds: int = 5) -> list[float]:
    """What the bot does with the database before it is ready and on its first pass (open and
    migrate, claim what is due, find the next due time), in process, ``rounds`` times."""
    async def once(_: int) -> float:
        t = time.perf_counter()
        store = await Storage.open(f"sqlite:///{db_path}")
        try:
            claimed = await store.claim_reminders(datetime.now(timezone.utc), lease=60, limit=200)
            await store.next_reminder_at()
        finally:
            await store.close()
        assert claimed == [], claimed  # everything seeded is due in 2030+
        return time.perf_counter() - t

    return (await alternate({"engine": once}, rounds))["engine"]


def seconds(values: list[float]) -> str:
    return spread(values, unit=" s")


async def run_start(workdir: Path, pending: int, *, idle_seconds: float = 5.0, rounds: int = 5) -> list[Figure]:
    fake = FakeBotAPI()
    await fake.start()
    try:
        full_db = workdir / "pending.db"
        seeded = await seed_pending(full_db, pending)
        size = full_db.stat().st_size
        empty = workdir / "empty.db"
        await migrate(empty)
        # Alternating, round after round, so that machine noise falls on all alike.
        sides = {f"floor {name}": (lambda i, code=code: import_floor(code)) for name, code in FLOORS.items()}
        sides["empty"] = lambda i: start_to_ready(workdir, fake, empty, idle_seconds=0.5)
        sides["full"] = lambda i: start_to_ready(workdir, fake, full_db, idle_seconds=idle_seconds if i == 0 else 0.5)
        runs = await alternate(sides, rounds)
        res = runs["full"][0]
        own = {name: [t * 1000 for t in await engine_start(db)] for name, db in (("empty", empty), ("full", full_db))}
    finally:
        await fake.stop()
    full = [r["ready"] for r in runs["full"]]
    empty_ready = [r["ready"] for r in runs["empty"]]
    floor = [f[0] for f in runs["floor bot.app"]]
    plain = [f[0] for f in runs["floor aiogram"]]
    over = [r - f for r, f in zip(full, floor)]
    own_imports = [f - a for f, a in zip(floor, plain)]
    before = sorted({r["calls_before_ready"] for r in runs["full"] + runs["empty"]})
    first_start = runs["empty"][0]
    share = res["idle_cpu"] / res["idle_wall"]
    ms = "{:.1f}"
    return [
        Figure(f"3. start→ready, {pending:,} pending reminders (min / median / max of {rounds})", seconds(full),
               "< 1 s", min(full) < 1.0,
               note=f"spawn→first getUpdates; db {size / 2**20:.0f} MiB seeded in {seeded:.1f} s; "
                    f"spawn→getMe median {statistics.median(r['first_call'] for r in runs['full']):.3f} s"),
        Figure("3. start→ready, empty database (same rounds)", seconds(empty_ready), ok=None),
        Figure("3. floor: spawn → the bot's imports done (gc off, as python -m bot), timed the same way",
               seconds(floor), ok=None,
               note=f"plain `import aiogram` (gc off too): {seconds(plain)}; aiogram.types builds ~400 pydantic "
                    "models on import"),
        Figure("3. the bot's own imports beyond aiogram (each round: bot's floor − aiogram's)", seconds(own_imports),
               ok=None, note="flows.dossier (fpdf, fontTools), flows.timeline, icalendar and the HTTP server are "
                             "imported on first use, not here"),
        Figure("3. **start→ready above the import floor** (each round: full − floor)", seconds(over), ok=None,
               note=f"the bot's own database work at start, in process: {spread(own['full'], ms)} ms with "
                    f"{pending:,} pending, {spread(own['empty'], ms)} ms without (5 rounds each)"),
        # deleteWebhook: a webhook left by a web deploy would make Telegram refuse getUpdates (tests/test_e2e.py).
        Figure("3. Bot API calls before the first getUpdates", " / ".join(map(str, before)),
               "2 (getMe, deleteWebhook)", before == [2],
               note=f"profile calls after it: {first_start['profile_calls']} on the first start of a database, "
                    f"{runs['empty'][-1]['profile_calls']} on a later one (published only when changed)"),
        Figure("3. idle CPU while waiting", f"{res['idle_cpu']:.3f} CPU-s in {res['idle_wall']:.1f} s "
               f"({share:.2%} of a core)", "≈ 0 (< 1 % of a core)", share < 0.01 and res["sends"] == 0,
               note="first round's full-database start"),
    ]


async def dispatch_once(workdir: Path, due: int, rate: float) -> dict:
    db_path = workdir / "due.db"
    for leftover in (db_path, db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    now = await seed_due(db_path, due)
    config = workdir / "due.toml"
    write_config(config, rate=rate, polling_timeout=1)
    fake = RateLimitedFakeBotAPI(limit=30, window=1.0)
    await fake.start()
    env = bot_env(BOT_TOKEN=fake.token, BOT_API_URL=fake.url, DATABASE_URL=f"sqlite:///{db_path}",
                  CONFIG_FILE=str(config))
    try:
        bot = await BotProcess.start(env, fake)
        try:
            await _first(fake, 0, "getUpdates", bot, 300)  # a loaded machine may take long to import
            deadline = time.monotonic() + due / rate * 1.5 + 30
            while len({r.params.get("chat_id") for r in fake.requests
                       if r.method == "sendMessage" and r.status == 200}) < due:
                if bot.proc.returncode is not None:
                    raise RuntimeError(f"bot exited during dispatch\n{bot.describe()}")
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(2.0)  # a duplicate would show up now; the last "sent" gets committed
        finally:
            await _stop(bot)
    finally:
        await fake.stop()

    sends = [r for r in fake.requests if r.method == "sendMessage"]
    ok = sorted(r.at for r in sends if r.status == 200)
    per_chat = Counter(r.params.get("chat_id") for r in sends if r.status == 200)
    duplicates = sum(c - 1 for c in per_chat.values())
    lo, hi = int(len(ok) * 0.1), int(len(ok) * 0.9) - 1
    achieved = (hi - lo) / (ok[hi] - ok[lo]) if hi > lo else 0.0
    db = sqlite3.connect(db_path)
    try:
        statuses = dict(db.execute("SELECT status, COUNT(*) FROM reminders WHERE due_at <= ? GROUP BY status",
                                   (moment(now),)).fetchall())
    finally:
        db.close()
    return {"achieved": achieved, "chats": len(per_chat), "span": ok[-1] - ok[0] if ok else 0.0,
            "statuses": statuses, "busiest": max_in_window(ok, 1.0), "too_many": fake.too_many,
            "duplicates": duplicates}


async def run_dispatch(workdir: Path, due: int, *, rate: float = 28, rounds: int = 5) -> list[Figure]:
    """``dispatch_once`` ``rounds`` times (a fresh database each): the rate as min/median/max."""
    runs = (await alternate({"dispatch": lambda i: dispatch_once(workdir, due, rate)}, rounds))["dispatch"]
    achieved = [r["achieved"] for r in runs]
    reached = [r["chats"] for r in runs]
    too_many = sum(r["too_many"] for r in runs)
    duplicates = sum(r["duplicates"] for r in runs)
    few = "" if rounds >= 5 else f"; {rounds} runs, not 5: each takes {due / rate:.0f} s at this size"
    return [
        Figure(f"3. dispatch of {due:,} due reminders, {rounds} runs", f"{spread(reached, '{:,.0f}')} chats "
               f"reached in {spread([r['span'] for r in runs], '{:.1f}')} s", ok=None,
               note=f"rows (last run): {runs[-1]['statuses']}; busiest 1 s window "
                    f"{max(r['busiest'] for r in runs)}{few}"),
        Figure("3. achieved ÷ configured rate", f"{spread([a / rate for a in achieved])} (configured {rate:g}/s)",
               "≥ 0.9", min(achieved) / rate >= 0.9 and min(reached) == due,
               note=f"achieved {spread(achieved, '{:.2f}', '/s')}, over the middle 80 % of each run's sends"),
        Figure("3. 429 answers from the fake (limit 30/s), all runs", f"{too_many}", "0", too_many == 0),
        Figure("3. duplicate reminders (same chat twice), all runs", f"{duplicates}", "0", duplicates == 0),
    ]
