"""Storage folds statements to save round trips to aiosqlite's thread; these pin
the folded statements' behaviour (on both backends) and the per-update hop budget (SQLite's)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import aiosqlite
import pytest

from bot.storage import Storage, handling_update
from flows.evidence import EvidenceItem, EvidenceKind
from flows.reminders import PlannedReminder
from tests.conftest import both_backends

BASE = datetime(2030, 1, 1, tzinfo=timezone.utc)


def planned(kind: str, hours: int) -> PlannedReminder:
    return PlannedReminder(kind, BASE + timedelta(hours=hours), BASE + timedelta(days=hours))


@pytest.fixture
async def store(database_url):
    s = await Storage.open(database_url)
    yield s
    await s.close()


@both_backends
async def test_a_new_plan_cancels_revives_and_restates_only_what_it_should(store):
    d = await store.create_dispute(1, "a")
    keep, drop, sent, back = planned("keep", 1), planned("drop", 2), planned("sent", 3), planned("back", 4)
    assert await store.save_dispute(d, [keep, drop, sent, back])
    assert await store.save_dispute(d, [keep, drop, sent])  # "back" cancelled
    await store.snooze_reminder(d, "drop", BASE + timedelta(hours=5), BASE + timedelta(days=5))
    (claimed,) = await store.claim_reminders(BASE + timedelta(hours=3), lease=60, limit=1)
    assert claimed.kind == "keep"  # the earliest due
    await store.finish_reminder(claimed.id, "sent")
    d.state = "b"
    assert await store.save_dispute(d, [sent, back])
    rows = {(r.kind, r.snoozed): r for r in await store.list_reminders(d.id)}
    assert rows[("keep", False)].status == "sent"  # sent stays sent, not cancelled
    assert rows[("drop", False)].status == "cancelled" and rows[("drop", False)].for_state == "a"
    assert rows[("drop", True)].status == "pending" and rows[("drop", True)].for_state == "a"  # snoozed: untouched
    assert rows[("sent", False)].status == "pending" and rows[("sent", False)].for_state == "b"
    assert rows[("back", False)].status == "pending" and rows[("back", False)].attempts == 0  # revived
    assert await store.save_dispute(d, [])
    assert {r.kind: r.status for r in await store.list_reminders(d.id) if not r.snoozed} == {
        "keep": "sent", "drop": "cancelled", "sent": "cancelled", "back": "cancelled"}


@both_backends
async def test_add_evidence_counts_in_the_same_statement(store):
    d = await store.create_dispute(1, "evidence")
    first, second = EvidenceItem(EvidenceKind.NOTE, text="one"), EvidenceItem(EvidenceKind.NOTE, text="two")
    assert await store.add_evidence(d, first) == 1
    assert await store.add_evidence(d, second) == 2
    assert [i.id for i in await store.list_evidence(d)] == [first.id, second.id]
    other = await store.create_dispute(2, "evidence")
    assert await store.add_evidence(other, EvidenceItem(EvidenceKind.NOTE, text="x")) == 1  # counts per dispute
    stranger = type(d)(id=d.id, user_id=2)
    assert await store.add_evidence(stranger, EvidenceItem(EvidenceKind.NOTE, text="no")) == 0
    assert await store.count_evidence(d) == 2


@both_backends
async def test_users_are_created_once_and_keep_their_locale(store):
    assert (await store.ensure_user(1, "ru")).locale == "ru"
    assert (await store.ensure_user(1, "en")).locale == "ru"
    await store.create_dispute(1, "reason", "de")
    assert (await store.get_user(1)).locale == "ru"
    await store.set_timezone(2, "Europe/Paris")  # upserts create the user
    await store.set_locale(3, "fr")
    assert (await store.get_user(2)).timezone == "Europe/Paris" and (await store.get_user(3)).locale == "fr"
    await store.set_locale(2, "en")
    assert (await store.get_user(2)).timezone == "Europe/Paris"


@both_backends
async def test_forget_user_takes_everything_in_one_statement(store):
    d = await store.create_dispute(1, "a")
    await store.add_evidence(d, EvidenceItem(EvidenceKind.NOTE, text="n"))
    await store.save_dispute(d, [planned("k", 1)])
    kept = await store.create_dispute(2, "a")
    await store.forget_user(1)
    assert await store.get_user(1) is None and await store.list_disputes(1) == []
    assert await store.list_evidence(d) == [] and await store.list_reminders(d.id) == []
    assert await store.get_dispute(2, kept.id) is not None
    assert (await store.stats())["disputes"] == {"a": 1}


@both_backends
async def test_stats_always_has_both_tables(store):
    assert await store.stats() == {"disputes": {}, "reminders": {}}


async def test_one_update_stays_within_its_hop_budget(store, monkeypatch):
    hops = 0
    real = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        nonlocal hops
        hops += 1
        return await real(self, fn, *args, **kwargs)

    d = await store.create_dispute(1, "a")
    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    budget = [
        (store.first_delivery(7), 1), (store.update_done(7), 1), (store.get_user(1), 1), (store.focused_dispute(1), 1),
        (store.get_dispute(1, d.id), 1), (store.save_dispute(d), 1),
        (store.save_dispute(d, [planned("k", 1), planned("l", 2)]), 5),  # BEGIN, 2 statements + 1 batch, COMMIT
        (store.focus(1, d.id), 1), (store.add_evidence(d, EvidenceItem(EvidenceKind.NOTE, text="n")), 1),
        (store.count_evidence(d), 1), (store.list_evidence(d), 1),
    ]
    for call, expected in budget:
        hops = 0
        await call
        assert hops == expected, (call.__qualname__, hops)
    # Handling an update, the buyer's answer and its "answered" mark commit together
    # (bot.storage.handling_update): BEGIN, the statement(s), the mark, COMMIT.
    token = handling_update.set(7)
    try:
        for call, expected in [(store.save_dispute(d), 4), (store.save_dispute(d, [planned("k", 1)]), 6),
                               (store.add_evidence(d, EvidenceItem(EvidenceKind.NOTE, text="n")), 4)]:
            hops = 0
            await call
            assert hops == expected, (call.__qualname__, hops)
    finally:
        handling_update.reset(token)


async def test_the_user_row_is_read_once_per_update(harness, monkeypatch):
    """bot.users.UserRow reads the sender's row once; the language middleware and every
    user_zone of the update (advance, the stage screens) take it from there."""
    from bot.storage import Storage as S
    reads: list[int] = []
    real = S.get_user

    async def counted(self, user_id):
        reads.append(user_id)
        return await real(self, user_id)

    monkeypatch.setattr(S, "get_user", counted)
    per_update: list[tuple[str, int]] = []

    async def step(label, action):
        reads.clear()
        await action
        per_update.append((label, len(reads)))

    user = harness.user(language_code="ru")
    await step("/start", user.send("/start"))
    await step("start", user.tap("new"))
    await step("reason", user.choose("not_received"))
    await step("tracking", user.choose("none"))
    for typed in ("8123456789012345", "25,90 ₽", "01.11.2026", "45"):
        await step(typed, user.send(typed))
    await step("done", user.choose("done"))
    await step("open", user.choose("open_on_aliexpress"))
    await step("opened today", user.choose("d0"))  # a stage screen: user_zone in advance and in show
    await step("/timezone", user.send("/timezone Europe/Moscow"))
    await step("/disputes", user.send("/disputes"))
    await step("/language", user.send("/language"))
    await step("en", user.tap("lang:en"))
    assert per_update and all(n == 1 for _, n in per_update), per_update
    d = await harness.store.focused_dispute(user.id)
    assert d.state == "negotiating"
    assert (await harness.store.get_user(user.id)).locale == "en"


async def test_a_user_row_written_during_the_update_is_read_again(harness):
    """The snapshot goes stale when the update writes the row: user_zone after
    set_timezone answers the new zone, as it did when every call read the row."""
    from bot.planning import user_zone
    from bot.users import _Snapshot, _snapshot

    svc = harness.svc
    token = _snapshot.set(_Snapshot(5, None))
    try:
        assert (await user_zone(svc, 5, "en")).key == "America/New_York"
        await svc.store.set_timezone(5, "Europe/Berlin")
        assert (await user_zone(svc, 5, "en")).key == "Europe/Berlin"
    finally:
        _snapshot.reset(token)
