"""A process killed while it handles an update loses nothing (issue 12, point 4).

The update's "handled" mark is committed in the same transaction as the buyer's answer or
evidence (bot.storage.handling_update). Killed before that commit, the update is replayed at
the next start from the payload kept with it: the answer lands once, the buyer gets their
reply. Killed after it, the update is not replayed (a typed answer applied a second time would
answer the next question); the buyer's current question comes again, with a word that the
answer is saved. Here the kill is the handler's task cancelled at a chosen point, the restart a
new dispatcher and connection on the same file; tests/test_chaos.py does it with SIGKILL.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot.resume import resume_after_restart
from bot.storage import Storage
from testkit.chat import BotHarness, ChatUser
from testkit.intake import walk

ORDER = "8123456789012345"
SAVED_NOTE = {"en": "It is saved; here is where we are.",
              "ru": "Оно сохранено",
              "es": "Está guardado",
              "de": "Sie ist gespeichert"}
TOTAL_QUESTION = {"en": "How much did you pay", "ru": "Сколько вы заплатили", "es": "Cuánto pagaste",
                  "de": "Wie viel hast du"}


async def killed(harness: BotHarness, method: str, action: Awaitable, *, after: bool) -> None:
    """Runs ``action`` (a buyer's update) and kills it at ``method`` of the store: just before
    its commit, or just after it, before anything else (the reply) happens."""
    store = harness.store
    real: Callable = getattr(store, method)
    reached = asyncio.Event()

    async def stop_there(*args, **kwargs):
        if after:
            await real(*args, **kwargs)
        reached.set()
        await asyncio.Event().wait()  # the process dies here

    setattr(store, method, stop_there)
    task = asyncio.ensure_future(action)
    await asyncio.wait_for(reached.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    delattr(store, method)


async def restart(harness: BotHarness) -> None:
    """The next start, as bot.app.run does it: replays, then re-shows, then polling."""
    await harness.restart()
    replays = await resume_after_restart(harness.bot, harness.dp, harness.svc)
    await asyncio.gather(*replays)
    await harness.settle()


async def to_order_number(harness: BotHarness, lang: str) -> ChatUser:
    user = harness.user(language_code=lang)
    await walk(user, to="order_number")
    user.replies()
    return user


async def in_flight(store: Storage) -> int:
    """Updates still in flight once the "done" marks, written in the background after each
    update (bot.middlewares.OncePerUpdate), had a moment to land."""
    for _ in range(100):
        if not (left := len(await store.cut_off()) + len(await store.received_unhandled())):
            break
        await asyncio.sleep(0.01)
    return left


@pytest.mark.parametrize("lang", ["en", "ru", "es", "de"])
async def test_killed_before_the_answer_is_committed_it_is_replayed(harness: BotHarness, lang: str):
    user = await to_order_number(harness, lang)
    await killed(harness, "save_dispute", user.send(ORDER), after=False)
    assert (await harness.store.focused_dispute(user.id)).order_number is None  # nothing committed
    assert not user.texts(user.replies())  # and the buyer heard nothing

    await restart(harness)
    d = await harness.store.focused_dispute(user.id)
    assert d.order_number == ORDER and d.state == "order_total"
    texts = user.texts(user.replies())
    assert TOTAL_QUESTION[lang] in texts and SAVED_NOTE[lang] not in texts  # the reply, as if never killed
    assert await in_flight(harness.store) == 0


@pytest.mark.parametrize("lang", ["en", "ru", "es", "de"])
async def test_killed_after_the_answer_is_committed_it_is_not_applied_twice(harness: BotHarness, lang: str):
    user = await to_order_number(harness, lang)
    await killed(harness, "save_dispute", user.send(ORDER), after=True)
    assert not user.texts(user.replies())  # saved, but the next question never went

    await restart(harness)
    d = await harness.store.focused_dispute(user.id)
    # Replayed, the order number would have been read as the total (and refused, or worse).
    assert d.order_number == ORDER and d.state == "order_total" and d.order_total is None
    texts = user.texts(user.replies())
    assert SAVED_NOTE[lang] in texts and TOTAL_QUESTION[lang] in texts
    assert await in_flight(harness.store) == 0


async def to_evidence(harness: BotHarness) -> ChatUser:
    user = harness.user()
    await walk(user, to="evidence")
    user.replies()
    return user


async def test_a_forward_killed_before_it_is_stored_is_stored_once_after_the_restart(harness: BotHarness):
    user = await to_evidence(harness)
    await user.forward("Seller message 1")
    await killed(harness, "add_evidence", user.forward("Seller message 2"), after=False)
    d = await harness.store.focused_dispute(user.id)
    assert [i.text for i in await harness.store.list_evidence(d)] == ["Seller message 1"]

    await restart(harness)
    assert [i.text for i in await harness.store.list_evidence(d)] == ["Seller message 1", "Seller message 2"]
    assert "saved. 2 pieces of evidence" in user.texts(user.replies())
    await restart(harness)  # and a second start changes nothing
    assert len(await harness.store.list_evidence(d)) == 2
    assert await in_flight(harness.store) == 0


async def test_a_photo_killed_after_it_is_stored_is_not_stored_twice(harness: BotHarness):
    user = await to_evidence(harness)
    await killed(harness, "add_evidence", user.send_photo("photo-7"), after=True)
    await restart(harness)
    d = await harness.store.focused_dispute(user.id)
    assert [i.file_id for i in await harness.store.list_evidence(d)] == ["photo-7"]
    assert SAVED_NOTE["en"] in user.texts(user.replies())
    assert await in_flight(harness.store) == 0


async def test_a_new_dispute_killed_after_its_commit_is_not_created_twice(harness: BotHarness):
    user = harness.user()
    await user.send("/start")
    await killed(harness, "create_dispute", user.choose("new"), after=True)
    await restart(harness)
    assert len(await harness.store.list_disputes(user.id)) == 1
    assert "What went wrong" in user.texts(user.replies())
