"""Business days, quiet hours and the .ics export (flows.calendar)."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from flows.calendar import (DEFAULT_TIMEZONE, HOLIDAY_COUNTRY, Deadline, add_business_days,
                            business_days_between, deadlines_ics, in_daytime, next_daytime)

UTC = timezone.utc
MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- business days -------------------------------------------------------------------------------

@pytest.mark.parametrize("country", [None, "US", "RU", "DE", "XX"])
def test_weekends_are_skipped(country):
    assert add_business_days(date(2026, 11, 20), 1, country) == date(2026, 11, 23)  # Fri -> Mon
    assert add_business_days(date(2026, 11, 21), 1, country) == date(2026, 11, 23)  # Sat -> Mon
    assert add_business_days(date(2026, 11, 20), 0, country) == date(2026, 11, 20)


def test_thanksgiving_counts_in_the_us_only():
    wednesday = date(2026, 11, 25)
    assert add_business_days(wednesday, 1, "US") == date(2026, 11, 27)
    assert add_business_days(wednesday, 1, "us") == date(2026, 11, 27)  # case-insensitive code
    assert add_business_days(wednesday, 1, "DE") == date(2026, 11, 26)
    assert add_business_days(wednesday, 1, None) == date(2026, 11, 26)


def test_russian_new_year_holidays():
    new_years_eve = date(2026, 12, 31)
    # 2027-01-01..08 are days off, 09/10 are a weekend.
    assert add_business_days(new_years_eve, 1, "RU") == date(2027, 1, 11)
    assert add_business_days(new_years_eve, 1, "DE") == date(2027, 1, 4)  # only Jan 1, then weekend
    assert add_business_days(new_years_eve, 1, None) == date(2027, 1, 1)
    assert business_days_between(new_years_eve, date(2027, 1, 10), "RU") == 0


@pytest.mark.parametrize("days, country, expected", [
    (3, "US", date(2026, 11, 25)),
    (3, "RU", date(2026, 11, 25)),
    (15, "US", date(2026, 12, 14)),  # Thanksgiving costs one day
    (15, "DE", date(2026, 12, 11)),
    (15, None, date(2026, 12, 11)),
    (15, "RU", date(2026, 12, 11)),
])
def test_business_day_spans(days, country, expected):
    assert add_business_days(date(2026, 11, 21), days, country) == expected


def test_unknown_country_means_weekends_only():
    start = date(2026, 11, 21)
    for days in (1, 5, 15, 40):
        assert add_business_days(start, days, "XX") == add_business_days(start, days, None)
    assert add_business_days(date(2026, 12, 31), 1, "XX") == date(2027, 1, 1)


def test_negative_days_are_rejected():
    with pytest.raises(ValueError):
        add_business_days(date(2026, 11, 21), -1, "US")


@pytest.mark.parametrize("country", [None, "US", "RU", "ES", "DE", "XX"])
def test_between_is_the_inverse_of_add(country):
    rng = random.Random(f"spans-{country}")
    for _ in range(25):
        start = date(2026, 1, 1) + timedelta(days=rng.randrange(730))
        days = rng.randrange(0, 60)
        end = add_business_days(start, days, country)
        assert business_days_between(start, end, country) == days
        # Non-business days right after the due date do not add to the count.
        assert business_days_between(start, add_business_days(end, 1, country) - timedelta(days=1), country) == days


def test_between_empty_interval():
    assert business_days_between(date(2026, 11, 23), date(2026, 11, 23), "US") == 0
    assert business_days_between(date(2026, 11, 23), date(2026, 11, 20), "US") == 0


def test_language_tables_are_usable():
    assert set(HOLIDAY_COUNTRY) == set(DEFAULT_TIMEZONE)
    for language, country in HOLIDAY_COUNTRY.items():
        ZoneInfo(DEFAULT_TIMEZONE[language])
        # Every configured country really has holidays in the library (not the weekends-only fallback).
        assert add_business_days(date(2026, 12, 31), 1, country) != date(2027, 1, 1), language


# --- quiet hours -----------------------------------------------------------------------------------

def test_moscow_night_goes_to_the_previous_evening():
    # 03:00 UTC = 06:00 MSK, before 09:00 -> 20:00 MSK the day before.
    assert in_daytime(utc(2026, 11, 21, 3), MOSCOW) == utc(2026, 11, 20, 17)


def test_moscow_late_evening_goes_earlier_the_same_day():
    # 19:00 UTC = 22:00 MSK -> 20:00 MSK.
    assert in_daytime(utc(2026, 11, 21, 19), MOSCOW) == utc(2026, 11, 21, 17)


def test_daytime_is_unchanged_and_returned_in_utc():
    assert in_daytime(utc(2026, 11, 21, 12), MOSCOW) == utc(2026, 11, 21, 12)
    result = in_daytime(datetime(2026, 11, 21, 15, tzinfo=MOSCOW), MOSCOW)
    assert result == utc(2026, 11, 21, 12) and result.tzinfo is UTC


def test_window_boundaries():
    assert in_daytime(utc(2026, 11, 21, 6), MOSCOW) == utc(2026, 11, 21, 6)  # 09:00 local: inside
    assert in_daytime(utc(2026, 11, 21, 5, 59), MOSCOW) == utc(2026, 11, 20, 17)
    assert in_daytime(utc(2026, 11, 21, 18), MOSCOW) == utc(2026, 11, 21, 17)  # 21:00 local: outside


def test_custom_window():
    assert in_daytime(utc(2026, 11, 21, 17), MOSCOW, time(8), time(19)) == utc(2026, 11, 21, 15)


@pytest.mark.parametrize("moment", [utc(2026, 11, 21, h, m) for h in range(24) for m in (0, 59)])
def test_in_daytime_never_later_and_inside_window(moment):
    result = in_daytime(moment, MOSCOW)
    assert result <= moment
    assert time(9) <= result.astimezone(MOSCOW).time() < time(21)


def test_berlin_spring_forward():
    # 2027-03-28: clocks jump 02:00 CET -> 03:00 CEST (01:00 UTC).
    # 05:00 UTC = 07:00 CEST -> the previous evening 20:00 CET = 19:00 UTC.
    assert in_daytime(utc(2027, 3, 28, 5), BERLIN) == utc(2027, 3, 27, 19)
    # 19:30 UTC = 21:30 CEST -> 20:00 CEST = 18:00 UTC (not 19:00 as with the winter offset).
    assert in_daytime(utc(2027, 3, 28, 19, 30), BERLIN) == utc(2027, 3, 28, 18)
    # 20:30 UTC on the 27th = 21:30 CET -> next morning 09:00 CEST = 07:00 UTC (only 23 h later locally).
    assert next_daytime(utc(2027, 3, 27, 20, 30), BERLIN) == utc(2027, 3, 28, 7)


def test_berlin_fall_back():
    # 2027-10-31: 03:00 CEST -> 02:00 CET. 22:00 CEST on the 30th -> 09:00 CET = 08:00 UTC.
    assert next_daytime(utc(2027, 10, 30, 20), BERLIN) == utc(2027, 10, 31, 8)
    assert in_daytime(utc(2027, 10, 31, 4), BERLIN) == utc(2027, 10, 30, 18)  # 05:00 CET -> 20:00 CEST


def test_window_edge_inside_a_dst_gap():
    # 02:30 does not exist in Berlin on 2027-03-28.
    later = next_daytime(utc(2027, 3, 28, 0, 30), BERLIN, start=time(2, 30), end=time(12))
    assert later == utc(2027, 3, 28, 1, 30)  # 03:30 CEST: just after the gap, inside the window
    moment = utc(2027, 3, 28, 3)  # 05:00 CEST, after a 03:30 end -> target 02:30 (missing)
    earlier = in_daytime(moment, BERLIN, start=time(1), end=time(3, 30))
    assert earlier == utc(2027, 3, 28, 0, 30) and earlier <= moment  # 01:30 CET, before the gap


def test_next_daytime_moves_later():
    # 19:00 UTC = 22:00 MSK -> 09:00 MSK next day = 06:00 UTC.
    assert next_daytime(utc(2026, 11, 21, 19), MOSCOW) == utc(2026, 11, 22, 6)
    # 03:00 UTC = 06:00 MSK -> 09:00 MSK the same day.
    assert next_daytime(utc(2026, 11, 21, 3), MOSCOW) == utc(2026, 11, 21, 6)
    assert next_daytime(utc(2026, 11, 21, 12), MOSCOW) == utc(2026, 11, 21, 12)


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError):
        in_daytime(datetime(2026, 11, 21, 12), MOSCOW)
    with pytest.raises(ValueError):
        next_daytime(datetime(2026, 11, 21, 12), MOSCOW)


# --- iCalendar export ----------------------------------------------------------------------------

NOW = utc(2026, 11, 21, 10)
DEADLINES = [
    Deadline("seller_response", "Seller must respond", date(2026, 11, 26), "Order 8123456789012345"),
    Deadline("protection_end", "Buyer protection ends", date(2026, 12, 20)),
    Deadline("appeal", "Appeal window closes — ¡último día!", date(2027, 1, 11)),
]


def test_ics_round_trip():
    data = deadlines_ics(42, DEADLINES, now=NOW, sequence=7)
    assert isinstance(data, bytes)
    cal = Calendar.from_ical(data)
    assert str(cal["PRODID"]) == "-//dispute-guide-bot//EN" and str(cal["VERSION"]) == "2.0"
    events = cal.walk("VEVENT")
    assert len(events) == 3
    uids = [str(e["UID"]) for e in events]
    assert uids == [f"dispute-42-{d.key}@dispute-guide-bot" for d in DEADLINES]
    for event, deadline in zip(events, DEADLINES):
        # All-day: the deadline's day, never the minute the file was made.
        assert event["DTSTART"].dt == deadline.day and not isinstance(event["DTSTART"].dt, datetime)
        assert event["DTEND"].dt == deadline.day + timedelta(days=1)
        assert event["DTSTAMP"].dt == NOW and is_utc(event["DTSTAMP"].dt)
        assert int(event["SEQUENCE"]) == 7
        assert str(event["SUMMARY"]) == deadline.title
        assert str(event.get("DESCRIPTION", "")) == deadline.description
        alarms = event.walk("VALARM")
        # The day before and on the day, at 10:00 in the calendar's own zone.
        assert [a["TRIGGER"].dt for a in alarms] == [-timedelta(hours=14), timedelta(hours=10)]
        assert all(str(a["ACTION"]) == "DISPLAY" and str(a["DESCRIPTION"]) == deadline.title for a in alarms)


def is_utc(moment: datetime) -> bool:
    return moment.utcoffset() == timedelta(0) and str(moment.tzinfo) == "UTC"


def test_ics_days_on_the_wire():
    text = deadlines_ics(7, DEADLINES[1:2], now=NOW).decode()
    assert "DTSTART;VALUE=DATE:20261220" in text and "DTEND;VALUE=DATE:20261221" in text
    assert "TZID" not in text and "VTIMEZONE" not in text


def test_ics_alarm_time_and_empty_list():
    cal = Calendar.from_ical(deadlines_ics(1, DEADLINES[:1], alarm_at=time(9, 30), now=NOW))
    assert [a["TRIGGER"].dt for a in cal.walk("VALARM")] == [-timedelta(hours=14, minutes=30),
                                                            timedelta(hours=9, minutes=30)]
    assert Calendar.from_ical(deadlines_ics(1, [], now=NOW)).walk("VEVENT") == []


def test_ics_rejects_duplicate_keys_and_naive_times():
    with pytest.raises(ValueError):
        deadlines_ics(1, [DEADLINES[0], DEADLINES[0]], now=NOW)
    with pytest.raises(ValueError):
        deadlines_ics(1, DEADLINES, now=datetime(2026, 11, 21))
