"""Disputes: created numbered per buyer, saved with optimistic locking, always scoped by the buyer."""
from __future__ import annotations

from bot.storage.base import Database
from bot.storage.records import ANSWER_COLUMNS, dispute, now, row_values
from bot.storage.reminders import sync_reminders
from bot.storage.updates import answered, handling_update
from bot.storage.users import NEW_USER
from bot.users import user_changed
from flows.dispute import Dispute
from flows.reminders import PlannedReminder


class Disputes(Database):
    async def create_dispute(self, user_id: int, initial_state: str, locale: str | None = None) -> Dispute:
        moment = now()
        async with self._transaction() as tx:
            # The user's row, if missing, in the same transaction (as ensure_user:
            # an existing user's locale stays), saving ensure_user's read.
            await tx.execute(NEW_USER, (user_id, locale, moment, moment))
            # The buyer's own numbering (#1, #2 …): what they see, whatever the table's ids.
            (row,) = await tx.fetch(
                "INSERT INTO disputes (user_id, state, created_at, updated_at, number) VALUES (?, ?, ?, ?,"
                " (SELECT COALESCE(MAX(number), 0) + 1 FROM disputes WHERE user_id = ?)) RETURNING id, number",
                (user_id, initial_state, moment, moment, user_id))
            dispute_id, number = row["id"], row["number"]
            await tx.execute("UPDATE users SET focused_dispute_id = ?, updated_at = ? WHERE id = ?",
                             (dispute_id, moment, user_id))
            await answered(tx)
        user_changed(user_id, focused_dispute_id=dispute_id)  # a new user's row: read again
        return Dispute(id=dispute_id, user_id=user_id, state=initial_state, number=number)

    async def get_dispute(self, user_id: int, dispute_id: int) -> Dispute | None:
        row = await self._read_one("SELECT * FROM disputes WHERE id = ? AND user_id = ?", (dispute_id, user_id))
        return dispute(row) if row else None

    async def focused_dispute(self, user_id: int) -> Dispute | None:
        row = await self._read_one(
            "SELECT d.* FROM disputes d JOIN users u ON u.focused_dispute_id = d.id AND u.id = d.user_id "
            "WHERE u.id = ?", (user_id,))
        return dispute(row) if row else None

    async def list_disputes(self, user_id: int, *, exclude_states: tuple[str, ...] = (),
                            limit: int = -1) -> list[Dispute]:
        """Newest first; ``limit`` of them (-1: all)."""
        marks = ",".join("?" * len(exclude_states)) or "''"
        sql = f"SELECT * FROM disputes WHERE user_id = ? AND state NOT IN ({marks}) ORDER BY id DESC"
        params: tuple = (user_id, *exclude_states)
        if limit >= 0:
            sql, params = sql + " LIMIT ?", (*params, limit)
        return [dispute(r) for r in await self._read(sql, params)]

    async def load_dispute(self, dispute_id: int) -> Dispute | None:
        """For the reminder engine, which acts for whoever owns the dispute."""
        row = await self._read_one("SELECT * FROM disputes WHERE id = ?", (dispute_id,))
        return dispute(row) if row else None

    async def save_dispute(self, d: Dispute, plan: list[PlannedReminder] | None = None) -> bool:
        """Saves answers and state if nobody saved since it was loaded (optimistic
        locking on ``version``); bumps the version. False when it was stale.

        With ``plan``, the dispute's reminders are brought in line in the same
        transaction: pending ones the plan no longer has are cancelled, new ones
        are added. A crash can't leave a state without its reminders."""
        values = row_values(d)
        values["version"] = d.version + 1
        sets = ", ".join(f"{c} = ?" for c in ANSWER_COLUMNS)
        update = (f"UPDATE disputes SET {sets}, updated_at = ? WHERE id = ? AND user_id = ? AND version = ?",
                  (*(values[c] for c in ANSWER_COLUMNS), now(), d.id, d.user_id, d.version))
        if plan is None and handling_update.get() is None:  # one statement: no BEGIN/COMMIT round trips
            if await self._write(*update) != 1:
                return False
        else:
            async with self._transaction() as tx:
                if await tx.execute(*update) != 1:
                    return False
                if plan is not None:
                    await sync_reminders(tx, d, plan)
                await answered(tx)  # the buyer's answer and its update's mark: one commit
        d.version += 1
        return True

    async def asked(self, d: Dispute, message_id: int) -> None:
        """The chat message showing the dispute's current question (only ever forward: a late
        write for an older message changes nothing)."""
        await self._write("UPDATE disputes SET asked_message_id = ? WHERE id = ? AND user_id = ?"
                          " AND (asked_message_id IS NULL OR asked_message_id < ?)",
                          (message_id, d.id, d.user_id, message_id))
        d.asked_message_id = max(message_id, d.asked_message_id or 0)
