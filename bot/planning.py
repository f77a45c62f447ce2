"""The buyer's time zone and holiday calendar, and the reminder plan they give."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.services import Services
from bot.users import user_record
from flows.calendar import DEFAULT_TIMEZONE, HOLIDAY_COUNTRY
from flows.dispute import Dispute
from flows.reminders import PlannedReminder, plan


def zone(tz_name: str | None, locale: str) -> ZoneInfo:
    """The user's chosen zone, else their language's default."""
    for name in (tz_name, DEFAULT_TIMEZONE.get(locale), "UTC"):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


async def user_zone(svc: Services, user_id: int, locale: str) -> ZoneInfo:
    # The row this update already read (bot.users.UserRow), not another read.
    user = await user_record(svc.store, user_id)
    return zone(user.timezone if user else None, locale)


def reminder_plan(d: Dispute, svc: Services, tz: ZoneInfo, locale: str, now: datetime) -> list[PlannedReminder]:
    return plan(d, svc.policy, tz, HOLIDAY_COUNTRY.get(locale), now)
