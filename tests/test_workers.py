"""Several workers on one PostgreSQL (bot/storage/postgres.py): each worker is a Storage (or a whole
BotHarness) of its own on the same fresh schema, as separate processes would be. An update is taken
once, a buyer is held by one worker at a time, a reminder is claimed once, the send rate is the
bot's, and an update redelivered after its worker died is taken over once. The real processes:
tests/test_workers_e2e.py."""
from __future__ import annotations

import asyncio
import itertools
import time
from datetime import datetime, timedelta, timezone

import pytest

from bot.storage import MIGRATIONS, Storage
from bot.storage.base import SendRate
from flows.reminders import PlannedReminder
from testkit.chat import TODAY, BotHarness, ChatUser
from testkit.processes import max_in_window
from testkit.postgres import fresh_schema
from testkit.intake import walk

pytestmark = pytest.mark.postgres
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
async def database_url(postgres_url):
    """Every test here on PostgreSQL, in a schema of its own (overrides tests/conftest.py's)."""
    async with fresh_schema(postgres_url) as url:
        yield url


@pytest.fixture
async def workers(database_url):
    stores = list(await asyncio.gather(*(Storage.open(database_url) for _ in range(3))))
    yield stores
    for s in stores:
        await s.close()


async def test_migrations_started_by_three_workers_at_once_apply_once(workers):
    rows = await workers[0]._read("SELECT version FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in rows] == list(range(1, len(MIGRATIONS) + 1))


async def test_an_update_delivered_to_every_worker_at_once_is_taken_by_one(workers):
    ids = range(1, 201)
    taken = await asyncio.gather(*(w.first_delivery(i, chat_id=7) for i in ids for w in workers))
    per_update = [sum(taken[k:k + len(workers)]) for k in range(0, len(taken), len(workers))]
    assert per_update == [1] * len(ids)


async def test_one_buyer_is_held_by_one_worker_at_a_time(workers):
    log: list[str] = []

    async def handle(worker: Storage, name: str, user_id: int) -> None:
        async with worker.hold_user(user_id):
            log.append(f"{name} in")
            await asyncio.sleep(0.2)
            log.append(f"{name} out")

    started = time.monotonic()
    await asyncio.gather(handle(workers[0], "a", 7), handle(workers[1], "b", 7), handle(workers[2], "c", 8))
    took = time.monotonic() - started
    buyer7 = [e for e in log if e[0] in "ab"]
    assert buyer7 in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"]), log
    assert log.index("c out") < log.index(buyer7[-1])  # another buyer is not held up behind them
    assert took < 0.6, took


async def test_a_due_reminder_is_claimed_by_one_worker(workers):
    d = await workers[0].create_dispute(7, "negotiating")
    plan = [PlannedReminder(f"k{i}", NOW - timedelta(minutes=i), NOW + timedelta(days=1)) for i in range(60)]
    assert await workers[0].save_dispute(d, plan)

    async def drain(worker: Storage) -> list[int]:
        claimed: list[int] = []
        while batch := await worker.claim_reminders(NOW, lease=600, limit=5):
            claimed += [r.id for r in batch]
        return claimed

    per_worker = await asyncio.gather(*(drain(w) for w in workers))
    everything = [i for ids in per_worker for i in ids]
    assert len(everything) == len(set(everything)) == 60  # each once, none left behind
    assert all(per_worker), [len(ids) for ids in per_worker]  # they really claimed side by side


async def sends(worker: Storage, chat: int | None, rate: SendRate, n: int, starts: list[float]) -> None:
    """``n`` sends through ``worker``, each when reserve_send gives it the slot (as bot.budget does)."""
    for _ in range(n):
        while (wait := await worker.reserve_send(chat, rate)) > 0:
            await asyncio.sleep(wait)
        starts.append(time.monotonic())


async def test_the_send_rate_is_the_bots_not_each_workers(workers):
    rate = SendRate(per_second=20, burst=2, chat_per_second=1, chat_burst=1)
    starts: list[float] = []
    began = time.monotonic()
    await asyncio.gather(*(sends(w, None, rate, 10, starts) for w in workers[:2] for _ in range(4)))  # 80 sends
    assert max_in_window(starts, 1.0) <= rate.per_second + rate.burst
    # 20/s for the bot: 78 sends after the burst need about 3.9 s, not half of it (10/s per worker would).
    assert max(starts) - began >= (80 - rate.burst) / rate.per_second * 0.95


async def test_a_reminder_waits_while_any_workers_replies_spend_the_burst(workers):
    """Replies before reminders across workers: a reminder takes the bot's slot only with no burst in use."""
    rate = SendRate(per_second=10, burst=5, chat_per_second=1000, chat_burst=1000)
    assert [await workers[0].reserve_send(None, rate) for _ in range(3)] == [0, 0, 0]  # worker 0's replies
    reminder = await workers[1].reserve_send(None, rate, background=True)
    assert 0.15 < reminder <= 0.3, reminder  # until those three replies' share of the rate has passed
    assert await workers[2].reserve_send(None, rate) == 0  # another worker's reply still goes at once
    await asyncio.sleep(0.45)  # the replies' time has passed: the bucket is idle again
    assert await workers[1].reserve_send(None, rate, background=True) == 0
    assert await workers[1].reserve_send(None, rate, background=True) > 0  # and reminders alone keep the rate


async def test_a_background_send_leaves_the_chats_last_slot_to_a_reply_on_any_worker(workers):
    rate = SendRate(per_second=1000, burst=1000, chat_per_second=2, chat_burst=2)
    assert await workers[0].reserve_send(7, rate, background=True) == 0  # the chat is idle: a reminder goes
    assert await workers[1].reserve_send(7, rate, background=True) > 0  # the last slot is kept ...
    assert await workers[2].reserve_send(7, rate) == 0  # ... for a reply, whichever worker sends it


async def test_one_chats_rate_holds_across_workers(workers):
    rate = SendRate(per_second=1000, burst=1000, chat_per_second=5, chat_burst=2)
    starts: list[float] = []
    began = time.monotonic()
    await asyncio.gather(*(sends(w, 7, rate, 4, starts) for w in workers))  # 12 sends to one chat
    assert max_in_window(starts, 1.0) <= rate.chat_per_second + rate.chat_burst
    assert max(starts) - began >= (12 - rate.chat_burst) / rate.chat_per_second * 0.95
    others = [await workers[0].reserve_send(None, rate), await workers[1].reserve_send(8, rate)]
    assert others == [0, 0]  # the bot's budget and another chat's are not held up by this chat


@pytest.fixture
async def two_workers(tmp_path, database_url):
    first = await BotHarness(tmp_path / "a.db", TODAY, database_url=database_url).start()
    second = await BotHarness(tmp_path / "b.db", TODAY, database_url=database_url).start()
    second._update_ids = itertools.count(10_000)  # Telegram numbers updates once for every worker
    yield first, second
    await first.stop()
    await second.stop()


async def died_with(database_url: str, update_id: int, chat_id: int) -> None:
    """A third worker took ``update_id`` and was killed before answering the webhook."""
    dead = await Storage.open(database_url)
    assert await dead.first_delivery(update_id, chat_id=chat_id)
    await dead.close()


async def test_an_update_whose_worker_died_before_committing_is_handled_by_the_worker_it_comes_to_next(
        two_workers, database_url):
    alive, other = two_workers
    user = alive.user(7)
    await walk(user, to="order_number", reason="not_received", tracking="none")
    await died_with(database_url, 500, user.id)
    on_other = other.user(7)
    number = {"update_id": 500, "message": on_other._message(text="8123456789012345")}
    await other.feed(number)
    replies = ChatUser.texts(on_other.replies())
    # Handled as if the first worker had never seen it: stored, and the next question asked.
    assert "How much did you pay" in replies and "restarted" not in replies, replies
    assert (await other.store.focused_dispute(7)).order_number == "8123456789012345"
    version = (await alive.store.focused_dispute(7)).version
    # Delivered once more (to either worker): it is over, nothing happens.
    await alive.feed({**number, "message": user._message(text="8123456789012345")})
    await other.feed(number)
    assert user.replies() == [] and on_other.replies() == []
    assert (await alive.store.focused_dispute(7)).version == version


async def test_an_update_whose_worker_died_after_committing_is_re_asked_once(two_workers):
    alive, other = two_workers
    user = alive.user(7)
    await walk(user, to="order_number", reason="not_received", tracking="none")
    # Handled and committed on the first worker, which was killed before its "done" mark.
    number = {"update_id": 500, "message": user._message(text="8123456789012345")}
    await alive.feed(number)
    user.replies()
    await alive.store._write("UPDATE processed_updates SET done = 0 WHERE update_id = 500")
    before = vars(await alive.store.focused_dispute(7))
    on_other = other.user(7)
    await other.feed(number)
    reasked = ChatUser.texts(on_other.replies())
    assert "It is saved" in reasked and "How much did you pay" in reasked, reasked
    # Once: delivered again to either worker, nothing more.
    await alive.feed(number)
    await other.feed(number)
    assert user.replies() == [] and on_other.replies() == []
    after = vars(await alive.store.focused_dispute(7))
    # Re-asked, not answered again: only which message asks the question moved on.
    assert {**after, "asked_message_id": None} == {**before, "asked_message_id": None}


async def test_a_buyers_updates_spread_over_two_workers_make_one_conversation(tmp_path, database_url):
    first = await BotHarness(tmp_path / "a.db", TODAY, database_url=database_url).start()
    second = await BotHarness(tmp_path / "b.db", TODAY, database_url=database_url).start()
    second._update_ids = itertools.count(10_000)
    try:
        on_first, on_second = first.user(7), second.user(7)

        async def tap(on: ChatUser, seen_by: ChatUser, value: str) -> str:
            """Taps ``value`` on the keyboard the other worker sent, sending the tap to ``on``'s worker."""
            keyboard = seen_by.last_with_buttons()
            (data,) = [d for _, d in keyboard.buttons() if d and d.rsplit(":", 1)[-1] == value]
            return ChatUser.texts(await on.tap(data, message=keyboard))

        await walk(on_first, to="reason")
        assert "tracking" in (await tap(on_second, on_first, "not_received")).lower()
        assert "order number" in (await tap(on_first, on_second, "none")).lower()
        assert "How much did you pay" in ChatUser.texts(await on_second.send("8123456789012345"))
        await on_first.send("25,90")
        d = await second.store.focused_dispute(7)
        assert (d.reason, d.order_number, str(d.order_total)) == ("not_received", "8123456789012345", "25.90")
    finally:
        await first.stop()
        await second.stop()


async def test_polling_stays_one_process_per_postgresql_database(database_url):
    from bot.instance import AnotherInstance, PostgresInstanceLock

    first = PostgresInstanceLock(database_url)
    await first.acquire()
    try:
        with pytest.raises(AnotherInstance, match="several processes need webhook mode"):
            await PostgresInstanceLock(database_url).acquire()
    finally:
        await first.release()
    again = PostgresInstanceLock(database_url)
    await again.acquire()  # released with its connection
    await again.release()


async def test_commits_do_not_wait_for_the_disk_unless_the_url_says_so(database_url):
    """As SQLite's synchronous=NORMAL: a server crash may lose the last moments, never corrupts."""
    store = await Storage.open(database_url)
    durable = await Storage.open(database_url + "&synchronous_commit=on")
    try:
        assert await store.pool.fetchval("SHOW synchronous_commit") == "off"
        assert await durable.pool.fetchval("SHOW synchronous_commit") == "on"
    finally:
        await store.close()
        await durable.close()
