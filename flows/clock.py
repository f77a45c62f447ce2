"""Time, injected: the bot and the flows ask a Clock, tests pass a fixed one."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


def today(clock: Clock) -> date:
    return clock.now().date()
