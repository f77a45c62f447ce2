"""aiogram's per-user structures, kept only while a user is active.

The dispatcher serializes each user's updates (a dispute is loaded, changed and
saved per update; transitions' machine is not safe for concurrent events on one
model) and reads the user's FSM state on every update. aiogram's
``SimpleEventIsolation`` and ``MemoryStorage`` keep an entry per user forever,
so memory would grow with every buyer who ever wrote. These keep an entry only
while it means something: a lock while somebody holds or waits for it, an FSM
record while it holds a state or data (the bot keeps its own state in SQLite).
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Hashable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from aiogram.fsm.storage.base import BaseEventIsolation, StateType, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage


class _Held:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0  # holders + waiters


class UserLocks(BaseEventIsolation):
    """One update at a time per key; the lock is dropped when its last user leaves."""

    def __init__(self, hold: Callable[[int], AbstractAsyncContextManager[None]] | None = None) -> None:
        # ``hold``: the buyer held across processes too (Storage.hold_user: several workers on
        # PostgreSQL), taken once the in-process turn came, so one process queues in memory.
        self._hold = hold
        self._held: dict[Hashable, _Held] = {}
        self._by_user: dict[int, int] = {}  # updates in progress or waiting, per Telegram user

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = _Held()
        held.users += 1
        self._by_user[key.user_id] = self._by_user.get(key.user_id, 0) + 1
        try:
            async with held.lock:
                if self._hold is None:
                    yield
                else:
                    async with self._hold(key.user_id):
                        yield
        finally:
            held.users -= 1
            if held.users == 0:
                del self._held[key]
            if (left := self._by_user[key.user_id] - 1) == 0:
                del self._by_user[key.user_id]
            else:
                self._by_user[key.user_id] = left

    def held(self) -> int:
        """Keys with a lock now: users with an update in progress or waiting."""
        return len(self._held)

    def queued(self, user_id: int) -> int:
        """This user's updates waiting behind the one being handled (a batch of forwards)."""
        return max(0, self._by_user.get(user_id, 0) - 1)

    async def close(self) -> None:
        """Nothing to release: each lock goes when its last user leaves. aiogram calls this at
        shutdown before the bot's own hooks wait for the updates in flight; clearing the maps
        under them broke each one's exit (KeyError) and lost its reply."""


class SparseMemoryStorage(MemoryStorage):
    """MemoryStorage that creates no record to answer a read and drops a record left empty."""

    async def get_state(self, key: StorageKey) -> str | None:
        record = self.storage.get(key)
        return record.state if record else None

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = self.storage.get(key)
        return record.data.copy() if record else {}

    async def get_value(self, storage_key: StorageKey, dict_key: str, default: Any | None = None) -> Any | None:
        record = self.storage.get(storage_key)
        return await super().get_value(storage_key, dict_key, default) if record else default

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await super().set_state(key, state)
        self._drop_if_empty(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await super().set_data(key, data)
        self._drop_if_empty(key)

    def _drop_if_empty(self, key: StorageKey) -> None:
        record = self.storage.get(key)
        if record is not None and record.state is None and not record.data:
            del self.storage[key]
