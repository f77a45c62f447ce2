"""bot.instance: the lock file and the 409 watch, in-process (the real processes are in
tests/test_process_faults.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from aiogram.exceptions import TelegramConflictError
from aiogram.methods import GetMe, GetUpdates

from bot.instance import AnotherInstance, ConflictWatch, InstanceLock


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def conflict(method):
    raise TelegramConflictError(method=method, message="Conflict: terminated by other getUpdates request")


async def poll(watch: ConflictWatch, *, fails: bool) -> list:
    calls = []

    async def make_request(bot, method):
        calls.append(method)
        if fails:
            conflict(method)
        return ["update"]
    return await watch(make_request, None, GetUpdates(timeout=1)), calls


async def test_a_newcomer_stops_at_its_first_conflict():
    stops, clock = [], Clock()
    watch = ConflictWatch(lambda: stops.append(clock.now), clock=clock)
    clock.now = 5.0
    result, _ = await poll(watch, fails=True)
    assert result == [] and stops == [5.0] and watch.tripped


async def test_an_established_instance_outlasts_two_conflicts_and_stops_at_the_third():
    stops, clock = [], Clock()
    watch = ConflictWatch(lambda: stops.append(clock.now), clock=clock)
    clock.now = 61.0  # polled for over a minute
    for _ in range(2):
        result, _ = await poll(watch, fails=True)
        assert result == [] and stops == []  # an empty batch; polling goes on
    assert (await poll(watch, fails=False))[0] == ["update"]
    clock.now = 200.0  # the old conflicts are out of the window
    await poll(watch, fails=True)
    await poll(watch, fails=True)
    assert stops == []
    await poll(watch, fails=True)
    assert stops == [200.0]


async def test_once_tripped_no_more_polls_and_other_methods_untouched(monkeypatch):
    import asyncio
    watch = ConflictWatch(lambda: None)
    await poll(watch, fails=True)
    slept = []

    async def fake_sleep(seconds):
        slept.append(seconds)
    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    result, calls = await poll(watch, fails=False)
    assert result == [] and calls == [] and slept  # waits to be cancelled, never asks Telegram again

    async def get_me(bot, method):
        return "me"
    assert await watch(get_me, None, GetMe()) == "me"


def test_instance_lock_is_exclusive_and_released(tmp_path: Path):
    db = tmp_path / "bot.db"
    first = InstanceLock(db)
    first.acquire()
    assert first.path == tmp_path / "bot.db.lock"
    assert first.path.read_text() == str(os.getpid())
    with pytest.raises(AnotherInstance, match=f"pid {os.getpid()}"):
        InstanceLock(db).acquire()
    first.release()
    again = InstanceLock(db)
    again.acquire()
    again.release()
