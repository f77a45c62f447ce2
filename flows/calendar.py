"""Business-day arithmetic, quiet hours and .ics export for dispute deadlines.

Pure functions: no I/O, no bot imports, time is always passed in (see flows.clock).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays

from flows.languages import LANGUAGES

# Country whose public holidays count as non-business days, per bot language (flows/languages.py).
HOLIDAY_COUNTRY = {code: lang.holiday_country for code, lang in LANGUAGES.items()}
# Default time zone per bot language (users can change theirs).
DEFAULT_TIMEZONE = {code: lang.timezone for code, lang in LANGUAGES.items()}

PRODID = "-//dispute-guide-bot//EN"


# --- business days -------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> frozenset[date]:
    # Building a holidays table is slow-ish; deadlines hit the same few (country, year) pairs.
    try:
        return frozenset(holidays.country_holidays(country, years=year))
    except NotImplementedError:  # the library does not know this country: weekends only
        return frozenset()


def _is_business_day(day: date, country: str | None) -> bool:
    if day.weekday() >= 5:
        return False
    return not country or day not in _holidays(country.upper(), day.year)


def add_business_days(start: date, days: int, country: str | None) -> date:
    """The date `days` business days after `start` (start itself is not counted)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    day = start
    while days:
        day += timedelta(days=1)
        days -= _is_business_day(day, country)
    return day


def business_days_between(start: date, end: date, country: str | None) -> int:
    """Business days in (start, end]; 0 when end <= start. Inverse of add_business_days."""
    return sum(_is_business_day(start + timedelta(days=i), country) for i in range(1, (end - start).days + 1))


# --- quiet hours -----------------------------------------------------------------------------------

def _local_time(moment: datetime, tz: ZoneInfo) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive datetime would silently be read as the server's local time.
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(tz)


def _at(day: date, wall: time, tz: ZoneInfo, *, earliest: bool) -> datetime:
    """UTC instant of wall-clock `wall` on `day` in tz, resolving DST edge cases.

    A wall time can occur twice (autumn) or not at all (spring gap). `earliest=True` takes the
    earlier of both readings (a reminder may come early, never late); otherwise fold=0, which
    picks the first occurrence, or for a gap the instant just after it (still inside the window).
    """
    first = datetime.combine(day, wall, tzinfo=tz).astimezone(timezone.utc)
    if not earliest:
        return first
    second = datetime.combine(day, wall.replace(fold=1), tzinfo=tz).astimezone(timezone.utc)
    return min(first, second)


def in_daytime(moment: datetime, tz: ZoneInfo, start: time = time(9), end: time = time(21)) -> datetime:
    """Move `moment` EARLIER into the local window [start, end); result is UTC.

    Reminders precede deadlines, so a night-time reminder goes out the evening before
    (at end - 1 hour) rather than the next morning, which might be too late.
    """
    local = _local_time(moment, tz)
    if start <= local.time() < end:
        return moment.astimezone(timezone.utc)
    # end - 1 hour, but never before the window opens (for windows shorter than an hour).
    target = max(start, (datetime.combine(local.date(), end) - timedelta(hours=1)).time())
    day = local.date() - timedelta(days=1) if local.time() < start else local.date()
    return _at(day, target, tz, earliest=True)


def next_daytime(moment: datetime, tz: ZoneInfo, start: time = time(9), end: time = time(21)) -> datetime:
    """Move `moment` LATER to the next window opening (for things that may wait); result is UTC."""
    local = _local_time(moment, tz)
    if start <= local.time() < end:
        return moment.astimezone(timezone.utc)
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return _at(day, start, tz, earliest=False)


# --- iCalendar export ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Deadline:
    key: str  # stable id ("protection_end", "seller_response", ...): re-imports update, not duplicate
    title: str  # already localized summary text
    day: date  # the deadline's day where the buyer is: an all-day event
    description: str = ""


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes in the calendar must be timezone-aware")
    return moment.astimezone(timezone.utc)


def deadlines_ics(dispute_id: int, deadlines: list[Deadline], *, alarm_at: time = time(10), now: datetime,
                  sequence: int = 0) -> bytes:
    """An .ics file with one all-day event per deadline and two display alarms: the day before and on
    the day, at ``alarm_at`` in the calendar's own time zone. Re-sending the file with a higher
    ``sequence`` updates the events already imported (same UID) instead of duplicating them."""
    keys = [d.key for d in deadlines]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate deadline keys: {keys}")  # UIDs would collide
    from icalendar import Alarm, Calendar, Event  # on first use: not needed before the bot polls
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    stamp = _utc(now)
    after_midnight = timedelta(hours=alarm_at.hour, minutes=alarm_at.minute)
    for deadline in deadlines:
        event = Event()
        # Stable UID per (dispute, key): importing an updated file replaces the old events.
        event.add("uid", f"dispute-{dispute_id}-{deadline.key}@dispute-guide-bot")
        event.add("sequence", sequence)
        event.add("dtstamp", stamp)
        event.add("dtstart", deadline.day)  # VALUE=DATE: a day, not the minute the file was made
        event.add("dtend", deadline.day + timedelta(days=1))
        event.add("summary", deadline.title)
        if deadline.description:
            event.add("description", deadline.description)
        for trigger in (after_midnight - timedelta(days=1), after_midnight):
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", deadline.title)  # required for DISPLAY alarms (RFC 5545)
            alarm.add("trigger", trigger)
            event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical()
