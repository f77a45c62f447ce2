"""Nothing stays in memory per buyer: state lives in SQLite, and what the dispatcher
keeps per user (FSM record, update lock, flood counter) goes when the user is idle.
Also: no filter costs a thread hop (aiogram runs plain callables in a thread pool)."""
from __future__ import annotations

import asyncio

from aiogram.dispatcher.event.handler import CallableObject
from aiogram.fsm.storage.base import StorageKey

from bot.app import create_dispatcher
from bot.isolation import SparseMemoryStorage, UserLocks
from bot.middlewares import FloodControl
from testkit.chat import BotHarness
from testkit.chat import TODAY


def flood_control(dp) -> FloodControl:
    return next(m for m in dp.update.outer_middleware if isinstance(m, FloodControl))


async def test_a_hundred_buyers_leave_nothing_behind_in_memory(tmp_path):
    h = BotHarness(tmp_path / "m.db", TODAY)
    await h.start()
    now = [0.0]
    h.svc.monotonic = lambda: now[0]
    h.dp = create_dispatcher(h.svc)
    try:
        for uid in range(5000, 5100):
            buyer = h.user(uid)
            now[0] += 0.01
            await buyer.send("/new")
            now[0] += 0.01
            replies = await buyer.choose("not_received")
            assert "what does the tracking" in buyer.texts(replies).lower()
        assert h.dp.fsm.storage.storage == {}
        assert h.dp.fsm.events_isolation.held() == 0
        # Flood control remembers only the last window's senders: 100 users in 2 s, window 5 s.
        assert flood_control(h.dp).remembered() == 100
        now[0] += 6
        await h.user(9999).send("/help")
        assert flood_control(h.dp).remembered() == 1
        # The send budget's per-chat buckets: only chats whose bucket isn't full again (none, here).
        assert len(h.budget._chats) <= 1, len(h.budget._chats)
        # What matters is in the database, not in memory.
        disputes = [await h.store.focused_dispute(uid) for uid in range(5000, 5100)]
        assert {d.state for d in disputes} == {"tracking"}
    finally:
        await h.stop()


async def test_updates_of_one_user_still_run_one_at_a_time():
    locks = UserLocks()
    key, other = StorageKey(bot_id=1, chat_id=7, user_id=7), StorageKey(bot_id=1, chat_id=8, user_id=8)
    order: list[str] = []
    first_inside = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with locks.lock(key):
            order.append("first in")
            first_inside.set()
            await release.wait()
            order.append("first out")

    async def second() -> None:
        async with locks.lock(key):
            order.append("second in")

    async def someone_else() -> None:
        async with locks.lock(other):
            order.append("other in")

    t1 = asyncio.create_task(first())
    await first_inside.wait()
    t2 = asyncio.create_task(second())
    await someone_else()  # another user is not held up by the first one
    await asyncio.sleep(0)
    assert order == ["first in", "other in"]
    assert locks.held() == 1  # the holder and its waiter share one lock
    release.set()
    await asyncio.gather(t1, t2)
    assert order == ["first in", "other in", "first out", "second in"]
    assert locks.held() == 0


async def test_a_cancelled_waiter_does_not_leak_its_lock():
    locks = UserLocks()
    key = StorageKey(bot_id=1, chat_id=7, user_id=7)
    async with locks.lock(key):
        waiter = asyncio.create_task(locks.lock(key).__aenter__())
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
    assert locks.held() == 0


async def test_closing_at_shutdown_leaves_the_updates_in_flight_to_finish():
    """aiogram closes the isolation at shutdown before the bot waits for the updates in flight:
    the one being handled and the one queued behind it (a buyer's batch) must still finish."""
    locks = UserLocks()
    key = StorageKey(bot_id=1, chat_id=7, user_id=7)
    inside, release, done = asyncio.Event(), asyncio.Event(), []

    async def update(name: str) -> None:
        async with locks.lock(key):
            inside.set()
            await release.wait()
            done.append(name)

    handling = [asyncio.create_task(update("first")), asyncio.create_task(update("queued"))]
    await inside.wait()
    assert locks.queued(7) == 1
    await locks.close()  # SIGTERM
    release.set()
    await asyncio.gather(*handling)  # no KeyError on the way out
    assert done == ["first", "queued"] and locks.held() == 0 and locks.queued(7) == 0


async def test_sparse_storage_keeps_only_what_holds_a_state_or_data():
    storage = SparseMemoryStorage()
    key = StorageKey(bot_id=1, chat_id=7, user_id=7)
    assert await storage.get_state(key) is None
    assert await storage.get_data(key) == {}
    assert await storage.get_value(key, "x", 5) == 5
    assert storage.storage == {}
    await storage.set_state(key, "asking")
    await storage.set_data(key, {"x": 1})
    assert (await storage.get_state(key), await storage.get_value(key, "x")) == ("asking", 1)
    await storage.set_state(key, None)
    assert key in storage.storage  # the data is still there
    await storage.set_data(key, {})
    assert storage.storage == {}


async def test_no_filter_or_handler_runs_in_a_thread(harness):
    """aiogram sends any non-async callable (a bare F expression) through asyncio.to_thread."""
    def callables(router):
        for observer in router.observers.values():
            for handler in observer.handlers:
                yield router.name, handler
                yield from ((router.name, f) for f in handler.filters or ())
            for f in observer._handler.filters or ():
                yield router.name, f
        for sub in router.sub_routers:
            yield from callables(sub)

    found = list(callables(harness.dp))
    assert len(found) > 20
    threaded = [(name, obj.callback) for name, obj in found if isinstance(obj, CallableObject) and not obj.awaitable]
    assert threaded == []
