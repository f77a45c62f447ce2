"""Telegram's updates as the bot took them: handled once (de-duplication), in flight until done
(re-asked after a crash), stored on receipt by polling (replayed after a crash)."""
from __future__ import annotations

from contextvars import ContextVar

from bot.storage.base import Database, Transaction
from bot.storage.records import now


# processed_updates.claimed: what became of an update, so a restart knows what to do with it
# (bot.resume): RECEIVED (stored by polling, never started: replayed), HANDLING (started, nothing
# of the buyer's committed yet: replayed from its payload), ANSWERED (the buyer's answer or
# evidence committed; the reply may not have gone: their current question is shown again).
RECEIVED, HANDLING, ANSWERED = 0, 1, 2

# The update being handled (bot.middlewares.OncePerUpdate sets it): the transaction that commits
# the buyer's answer or evidence records that update as ANSWERED in the same commit (answered()),
# so a crash can never leave an answer both stored and replayed, nor lost and marked handled.
handling_update: ContextVar[int | None] = ContextVar("handling_update", default=None)


async def answered(tx: Transaction) -> None:
    """In the transaction committing the buyer's answer or evidence: its update is ANSWERED."""
    update_id = handling_update.get()
    if update_id is not None:
        await tx.execute(f"UPDATE processed_updates SET claimed = {ANSWERED} WHERE update_id = ?", (update_id,))


class Updates(Database):
    async def first_delivery(self, update_id: int, *, chat_id: int | None = None, payload: str | None = None,
                             keep: int = 100_000) -> bool:
        """Records the update; False when it was handled before. Keeps the newest ``keep`` ids.

        With ``chat_id`` it is recorded as in flight until update_done(), with ``payload`` (the
        update as JSON): if the process dies before the buyer's answer is committed, the next
        start replays it; after, it shows the chat its current question (bot.resume)."""
        # One statement, atomic on every backend (two workers given the same update: one inserts,
        # the other changes nothing): a new id is inserted; one polling stored on receipt
        # (receive_updates) and nobody handled yet is claimed; one handled or being handled
        # changes nothing (0 rows).
        done = int(chat_id is None)
        changed = await self._write(
            "INSERT INTO processed_updates (update_id, at, chat_id, done, claimed, payload) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (update_id) DO UPDATE SET claimed = excluded.claimed, done = excluded.done,"
            " payload = CASE WHEN excluded.done = 1 THEN NULL"
            " ELSE COALESCE(processed_updates.payload, excluded.payload) END,"
            " chat_id = COALESCE(processed_updates.chat_id, excluded.chat_id)"
            f" WHERE processed_updates.claimed = {RECEIVED}",
            (update_id, now(), chat_id, done, HANDLING, None if done else payload))
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
                f" VALUES (?, ?, ?, 0, {RECEIVED}, ?) ON CONFLICT DO NOTHING",
                [(uid, moment, chat, payload) for uid, chat, payload in received])

    async def received_unhandled(self) -> list[str]:
        """At start (one process per database): the updates a previous process received (Telegram
        considers them delivered) and never committed an answer for, oldest first, as JSON. Those
        it had started are released to be claimed again (the process that started them is gone)."""
        await self._write(f"UPDATE processed_updates SET claimed = {RECEIVED} WHERE claimed = {HANDLING}"
                          " AND done = 0 AND payload IS NOT NULL")
        rows = await self._read(
            f"SELECT payload FROM processed_updates WHERE claimed = {RECEIVED} AND payload IS NOT NULL"
            " ORDER BY update_id")
        return [r["payload"] for r in rows]

    async def update_done(self, update_id: int) -> None:
        """The update's handling is over (answered, or failed and told)."""
        await self._write("UPDATE processed_updates SET done = 1, payload = NULL WHERE update_id = ? AND done = 0",
                          (update_id,))

    async def cut_off(self) -> list[tuple[int, int, bool]]:
        """(update_id, chat_id, answer committed) of updates a previous process started and never
        finished (after received_unhandled: those it can't replay)."""
        rows = await self._read(
            f"SELECT update_id, chat_id, claimed FROM processed_updates WHERE done = 0 AND claimed != {RECEIVED}"
            " ORDER BY update_id")
        return [(r["update_id"], r["chat_id"], r["claimed"] == ANSWERED) for r in rows]

    async def take_over(self, update_id: int) -> tuple[int, bool] | None:
        """An update redelivered while still marked in flight, to a worker holding its buyer
        (bot.middlewares.OncePerUpdate): the worker that started it is gone. Returns its chat and
        whether its answer was committed. Committed: it is marked done, so the chat is re-asked
        once (None to everyone after). Not committed: it stays in flight and this worker handles
        it, as a restart replays it (the buyer's lock makes that one worker at a time)."""
        rows = await self._write_returning(
            f"UPDATE processed_updates SET done = CASE WHEN claimed = {ANSWERED} THEN 1 ELSE 0 END,"
            f" payload = CASE WHEN claimed = {ANSWERED} THEN NULL ELSE payload END"
            f" WHERE update_id = ? AND done = 0 AND claimed != {RECEIVED} RETURNING chat_id, claimed", (update_id,))
        return (rows[0]["chat_id"], rows[0]["claimed"] == ANSWERED) if rows else None
