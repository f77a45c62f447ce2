"""Telegram's updates as the bot took them: handled once (de-duplication), in flight until done
(re-asked after a crash), stored on receipt by polling (replayed after a crash)."""
from __future__ import annotations

from bot.storage.base import Database
from bot.storage.records import now


class Updates(Database):
    async def first_delivery(self, update_id: int, *, chat_id: int | None = None, keep: int = 100_000) -> bool:
        """Records the update; False when it was handled before. Keeps the newest ``keep`` ids.

        With ``chat_id`` it is recorded as in flight until update_done(): if the process
        dies first, cut_off() names the chat after the restart."""
        # One statement, atomic on every backend (two workers given the same update: one inserts,
        # the other changes nothing): a new id is inserted; one polling stored on receipt
        # (receive_updates) and nobody handled yet is claimed; one handled or being handled
        # changes nothing (0 rows).
        changed = await self._write(
            "INSERT INTO processed_updates (update_id, at, chat_id, done, claimed) VALUES (?, ?, ?, ?, 1)"
            " ON CONFLICT (update_id) DO UPDATE SET claimed = 1, done = excluded.done, payload = NULL,"
            " chat_id = COALESCE(processed_updates.chat_id, excluded.chat_id)"
            " WHERE processed_updates.claimed = 0",
            (update_id, now(), chat_id, int(chat_id is None)))
        first = changed == 1
        if first and update_id % 1000 == 0:
            await self._write("DELETE FROM processed_updates WHERE update_id < ?", (update_id - keep,))
        return first

    async def receive_updates(self, received: list[tuple[int, int | None, str]]) -> None:
        """(update_id, chat_id, the update as JSON) as polling got them, stored before the next poll
        confirms them to Telegram: a process killed before handling one replays it at the next start."""
        if not received:
            return
        moment = now()
        async with self._transaction() as tx:
            await tx.executemany(
                "INSERT INTO processed_updates (update_id, at, chat_id, done, claimed, payload)"
                " VALUES (?, ?, ?, 0, 0, ?) ON CONFLICT DO NOTHING",
                [(uid, moment, chat, payload) for uid, chat, payload in received])

    async def received_unhandled(self) -> list[str]:
        """The updates a previous process received (Telegram considers them delivered) but never
        started to handle, oldest first, as JSON."""
        rows = await self._read(
            "SELECT payload FROM processed_updates WHERE claimed = 0 AND payload IS NOT NULL ORDER BY update_id")
        return [r["payload"] for r in rows]

    async def update_done(self, update_id: int) -> None:
        """The update's handling is over (answered, or failed and told)."""
        await self._write("UPDATE processed_updates SET done = 1 WHERE update_id = ? AND done = 0", (update_id,))

    async def cut_off(self) -> list[tuple[int, int]]:
        """(update_id, chat_id) of updates a previous process started and never finished."""
        rows = await self._read(
            "SELECT update_id, chat_id FROM processed_updates WHERE done = 0 AND claimed = 1 ORDER BY update_id")
        return [(r["update_id"], r["chat_id"]) for r in rows]

    async def take_over(self, update_id: int) -> int | None:
        """An update redelivered while still marked in flight, by a worker holding its buyer
        (bot.middlewares.OncePerUpdate): the worker that started it is gone. Marks it done and returns
        its chat to re-ask, to exactly one caller (None to everyone else)."""
        rows = await self._write_returning(
            "UPDATE processed_updates SET done = 1 WHERE update_id = ? AND done = 0 AND claimed = 1"
            " RETURNING chat_id", (update_id,))
        return rows[0]["chat_id"] if rows else None
