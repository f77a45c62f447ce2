"""The reminder outbox: planned in the same transaction as the dispute's state (sync_reminders),
claimed with a lease by the sender, finished once sent."""
from __future__ import annotations

from datetime import datetime, timedelta

from bot.storage.base import Database, Transaction
from bot.storage.records import ReminderRecord, from_moment, moment, now, reminder
from flows.dispute import Dispute
from flows.reminders import PlannedReminder


async def sync_reminders(tx: Transaction, d: Dispute, plan: list[PlannedReminder]) -> None:
    """Brings the dispute's pending reminders in line with ``plan``, inside the caller's transaction."""
    wanted = {(r.kind, moment(r.due_at)): r for r in plan}
    rows = [(d.id, d.user_id, kind, due, moment(r.deadline_at), d.state, due) for (kind, due), r in wanted.items()]
    # One statement instead of SELECT pending + UPDATE stale + UPDATE for_state
    # (fewer round trips). Of the pending, non-snoozed reminders, those the plan no
    # longer has are cancelled (for_state left as it was); the others get the
    # dispute's state. Snoozed ones are untouched.
    pairs = [value for key in wanted for value in key]
    in_plan = (f"(kind, due_at) IN (VALUES {', '.join(['(?, ?)'] * len(wanted))})" if wanted else "1 = 0")
    await tx.execute(
        f"UPDATE reminders SET status = CASE WHEN {in_plan} THEN status ELSE 'cancelled' END,"
        f" for_state = CASE WHEN {in_plan} THEN ? ELSE for_state END"
        " WHERE dispute_id = ? AND status = 'pending' AND snoozed = 0", (*pairs, *pairs, d.state, d.id))
    if rows:
        # Every wanted reminder in one executemany hop. A reminder cancelled
        # earlier and wanted again comes back; a sent one stays sent.
        await tx.executemany(
            "INSERT INTO reminders (dispute_id, user_id, kind, due_at, deadline_at, for_state, next_attempt_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dispute_id, kind, due_at) DO UPDATE SET"
            " status = 'pending', for_state = excluded.for_state, deadline_at = excluded.deadline_at,"
            " next_attempt_at = excluded.next_attempt_at, attempts = 0 WHERE reminders.status = 'cancelled'", rows)


class Reminders(Database):
    async def next_reminder_at(self) -> datetime | None:
        """When the earliest pending reminder may go (the partial index answers it)."""
        row = await self._read_one("SELECT MIN(next_attempt_at) AS at FROM reminders WHERE status = 'pending'")
        return from_moment(row["at"] if row else None)

    async def claim_reminders(self, at: datetime, *, lease: float, limit: int) -> list[ReminderRecord]:
        """Takes due reminders for ``lease`` seconds: a crashed sender's claims expire
        and are taken again, so a reminder is sent at least once (at most one extra).
        Several workers claim side by side: on PostgreSQL each skips the rows another is
        claiming (FOR UPDATE SKIP LOCKED), so no reminder is taken by two."""
        until = moment(at + timedelta(seconds=lease))
        rows = await self._write_returning(  # one statement: atomic without BEGIN/COMMIT
            "UPDATE reminders SET next_attempt_at = ?, attempts = attempts + 1 WHERE id IN ("
            " SELECT id FROM reminders WHERE status = 'pending' AND next_attempt_at <= ?"
            f" ORDER BY next_attempt_at LIMIT ?{self.CLAIM_SUFFIX}) RETURNING *", (until, moment(at), limit))
        return sorted((reminder(r) for r in rows), key=lambda r: (r.due_at, r.id))

    async def renew_reminder(self, reminder_id: int, attempts: int, until: datetime) -> bool:
        """Right before the send: extends the claim numbered ``attempts`` (each claim raises it) to
        ``until``. False when the claim ran out and another sender took the reminder since: this one
        must not send it too (a wait behind replies can outlast a lease)."""
        changed = await self._write(
            "UPDATE reminders SET next_attempt_at = ? WHERE id = ? AND attempts = ? AND status = 'pending'",
            (moment(until), reminder_id, attempts))
        return changed == 1

    async def finish_reminder(self, reminder_id: int, status: str, *, error: str | None = None) -> None:
        """sent, failed (never again), cancelled or skipped."""
        await self._write("UPDATE reminders SET status = ?, sent_at = CASE WHEN ? = 'sent' THEN ? END, error = ?"
                          " WHERE id = ?", (status, status, now(), error, reminder_id))

    async def retry_reminder(self, reminder_id: int, when: datetime, *, error: str | None = None) -> None:
        await self._write("UPDATE reminders SET next_attempt_at = ?, error = ? WHERE id = ? AND status = 'pending'",
                          (moment(when), error, reminder_id))

    async def snooze_reminder(self, d: Dispute, kind: str, due: datetime, deadline: datetime) -> None:
        await self._write(
            "INSERT INTO reminders (dispute_id, user_id, kind, due_at, deadline_at, for_state, snoozed,"
            " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT DO NOTHING",
            (d.id, d.user_id, kind, moment(due), moment(deadline), d.state, moment(due)))

    async def get_reminder(self, user_id: int, reminder_id: int) -> ReminderRecord | None:
        row = await self._read_one("SELECT * FROM reminders WHERE id = ? AND user_id = ?", (reminder_id, user_id))
        return reminder(row) if row else None

    async def list_reminders(self, dispute_id: int, *, status: str | None = None) -> list[ReminderRecord]:
        sql, params = "SELECT * FROM reminders WHERE dispute_id = ?", (dispute_id,)
        if status:
            sql, params = sql + " AND status = ?", (*params, status)
        return [reminder(r) for r in await self._read(sql + " ORDER BY due_at, id", params)]
