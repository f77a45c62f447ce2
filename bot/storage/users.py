"""Buyers' rows: language, time zone, currency, the dispute in focus; and the bot's own settings."""
from __future__ import annotations

from bot.storage.base import Database
from bot.storage.records import UserRecord, now
from bot.users import user_changed

# A user's row when missing; DO NOTHING: an existing (or meanwhile created) user keeps its locale.
NEW_USER = ("INSERT INTO users (id, locale, created_at, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING")


class Users(Database):
    async def get_user(self, user_id: int) -> UserRecord | None:
        row = await self._read_one(
            "SELECT id, locale, focused_dispute_id, timezone FROM users WHERE id = ?", (user_id,))
        return UserRecord(row["id"], row["locale"], row["focused_dispute_id"], row["timezone"]) if row else None

    async def ensure_user(self, user_id: int, locale: str | None = None) -> UserRecord:
        """The user's row, created on first need; ``locale`` is remembered for reminders,
        which are sent outside any update and so can't read the client's language."""
        # Read first: the user nearly always exists already (one hop, no write).
        user = await self.get_user(user_id)
        if user is None:
            moment = now()
            await self._write(NEW_USER, (user_id, locale, moment, moment))
            user_changed(user_id)
            user = UserRecord(user_id, locale, None)
        return user

    # set_locale / set_timezone: one upsert instead of ensure_user + UPDATE
    # (fewer round trips); a new user gets the value at once.
    async def set_locale(self, user_id: int, locale: str) -> None:
        moment = now()
        await self._write("INSERT INTO users (id, locale, created_at, updated_at) VALUES (?, ?, ?, ?)"
                          " ON CONFLICT (id) DO UPDATE SET locale = excluded.locale, updated_at = excluded.updated_at",
                          (user_id, locale, moment, moment))
        user_changed(user_id, locale=locale)

    async def set_timezone(self, user_id: int, tz_name: str) -> None:
        moment = now()
        await self._write("INSERT INTO users (id, timezone, created_at, updated_at) VALUES (?, ?, ?, ?)"
                          " ON CONFLICT (id) DO UPDATE SET timezone = excluded.timezone,"
                          " updated_at = excluded.updated_at", (user_id, tz_name, moment, moment))
        user_changed(user_id, timezone=tz_name)

    async def get_currency(self, user_id: int) -> str | None:
        """The currency this buyer paid in last time (asked once, then remembered)."""
        row = await self._read_one("SELECT currency FROM users WHERE id = ?", (user_id,))
        return row["currency"] if row else None

    async def set_currency(self, user_id: int, currency: str) -> None:
        await self._write("UPDATE users SET currency = ?, updated_at = ? WHERE id = ?", (currency, now(), user_id))

    async def focus(self, user_id: int, dispute_id: int | None) -> None:
        await self._write("UPDATE users SET focused_dispute_id = ?, updated_at = ? WHERE id = ?",
                          (dispute_id, now(), user_id))
        user_changed(user_id, focused_dispute_id=dispute_id)

    # --- the bot's own small facts (the hash of the profile it published) ------------------
    async def get_setting(self, key: str) -> str | None:
        row = await self._read_one("SELECT value FROM settings WHERE key = ?", (key,))
        return row["value"] if row else None

    async def set_setting(self, key: str, value: str) -> None:
        await self._write("INSERT INTO settings (key, value) VALUES (?, ?)"
                          " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
