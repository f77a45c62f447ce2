"""What concerns all of a buyer's data at once (/export, /forget) and the operator's counts."""
from __future__ import annotations

from bot.storage.disputes import Disputes
from bot.storage.evidence import Evidence
from bot.storage.reminders import Reminders
from bot.storage.users import Users
from bot.users import user_changed


class Operator(Users, Disputes, Reminders, Evidence):
    async def export_user(self, user_id: int) -> dict:
        """Everything stored about the user, for /export."""
        user = await self.get_user(user_id)
        disputes = []
        for d in await self.list_disputes(user_id):
            evidence = [{k: v for k, v in vars(i).items() if k != "id"} for i in await self.list_evidence(d)]
            reminders = [{"kind": r.kind, "due_at": r.due_at, "status": r.status}
                         for r in await self.list_reminders(d.id)]
            disputes.append({**vars(d), "evidence": evidence, "reminders": reminders})
        return {"user": vars(user) if user else None, "disputes": disputes}

    async def forget_user(self, user_id: int) -> None:
        # One statement, so no BEGIN/COMMIT round trips: the user's disputes go
        # with the user, their evidence and reminders with the disputes
        # (ON DELETE CASCADE), all in this one statement.
        await self._write("DELETE FROM users WHERE id = ?", (user_id,))
        user_changed(user_id)
        await self._after_forget()

    async def stats(self) -> dict[str, dict[str, int]]:
        """Counts only, no personal data: disputes by stage, reminders by status."""
        result: dict[str, dict[str, int]] = {"disputes": {}, "reminders": {}}
        # Both tables in one statement: one round trip.
        for table, key, n in await self._read(
                "SELECT 'disputes' AS t, state, COUNT(*) FROM disputes GROUP BY state"
                " UNION ALL SELECT 'reminders', status, COUNT(*) FROM reminders GROUP BY status"):
            result[table][key] = n
        return result

    async def disputes_by_state(self) -> dict[str, int]:
        """Disputes per stage, for /metrics: one COUNT ... GROUP BY."""
        return {state: n for state, n in await self._read("SELECT state, COUNT(*) FROM disputes GROUP BY state")}

    async def ping(self) -> None:
        """A trivial read (for /healthz): raises when the database can't be read."""
        await self._read_one("SELECT 1 FROM schema_migrations LIMIT 1")
