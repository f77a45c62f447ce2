"""Which reminders a dispute wants, as policy data (docs/rules.md, "Reminders").

A rule names a deadline of the dispute, the stages in which it matters, and
when to remind: on the morning of some days before the deadline's day, and/or
once it has passed. A rule whose date is a start ("you can open it now") is
sent on that day itself. The dates before opening come from
flows.eligibility.opening_dates, the same ones the verdict uses. The bot stores the plan as outbox rows in the same
transaction as the state change; re-planning after every change cancels what
no longer applies.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flows.calendar import add_business_days, in_daytime, next_daytime
from flows.dispute import Dispute
from flows.eligibility import opening_dates
from flows.policy import Policy
from flows.steps import NAMES as STEPS

_BEFORE_OPENING = frozenset({*STEPS, "summary"})


@dataclass(frozen=True)
class ReminderRule:
    kind: str
    deadline: str
    states: frozenset[str]
    days_before: tuple[int, ...] = ()
    when_passed: bool = False
    # Also on the morning the safety margin is reached (policy.protection_margin_days before).
    at_margin: bool = False
    # The date is when something becomes possible: remind on that day, never the evening before.
    starts: bool = False


RULES: tuple[ReminderRule, ...] = (
    # While no dispute is opened: Buyer Protection running out (when the margin is reached, then 7,
    # 3, 1, 0 days before, and the morning after: "Open Dispute" may still be there), the first day
    # one can be opened, and the last days "Open Dispute" may still be there after protection.
    ReminderRule("protection", "protection_end", _BEFORE_OPENING, days_before=(7, 3, 1, 0), at_margin=True,
                 when_passed=True),
    ReminderRule("can_open", "open_from", _BEFORE_OPENING, starts=True),
    ReminderRule("last_chance", "open_until", _BEFORE_OPENING, days_before=(3, 0)),
    # The seller's response window: the day before, and "what did the seller do?" when it ends.
    ReminderRule("seller_window", "seller_response", frozenset({"negotiating"}), days_before=(1,), when_passed=True),
    ReminderRule("return_shipping", "return_shipping", frozenset({"return_shipping"}), days_before=(2, 0)),
    ReminderRule("return_check", "return_check", frozenset({"return_sent"}), when_passed=True),
    # After AliExpress's ruling: appeal within 7 days, survey within 15.
    ReminderRule("appeal", "appeal", frozenset({"rejected", "refund_pending"}), days_before=(5, 1)),
    ReminderRule("survey", "survey", frozenset({"rejected", "refund_pending", "refunded"}), days_before=(3,)),
    # The refund should have arrived: check the card, or start the bank check.
    ReminderRule("refund_check", "refund_estimate", frozenset({"refund_pending"}), when_passed=True),
)


@dataclass(frozen=True)
class PlannedReminder:
    kind: str
    due_at: datetime       # UTC
    deadline_at: datetime  # UTC; the moment the reminder is about


def _end_of_day(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(23, 59), tzinfo=tz).astimezone(ZoneInfo("UTC"))


def _start_of_day(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(ZoneInfo("UTC"))


def _last_full_day(moment: datetime, tz: ZoneInfo) -> datetime:
    """A window that closes at ``moment``, as the buyer must act on it: until the end of the last
    whole day before it, where they are. The buyer tells the bot of a ruling or an agreement after
    it happened, so the real countdown started earlier: never show a later day (docs/rules.md)."""
    local = moment.astimezone(tz)
    day = local.date() if local.time() >= time(23, 59) else local.date() - timedelta(days=1)
    return _end_of_day(day, tz)


def deadlines(d: Dispute, policy: Policy, tz: ZoneInfo, country: str | None) -> dict[str, datetime]:
    """Every deadline of the dispute that its answers make known, in UTC."""
    result: dict[str, datetime] = {}
    opening = opening_dates(d, policy)
    if opening.protection_ends_on is not None:
        result["protection_end"] = _end_of_day(opening.protection_ends_on, tz)
    if opening.open_until is not None:
        result["open_until"] = _end_of_day(opening.open_until, tz)
    if opening.opens_on is not None:
        result["open_from"] = _start_of_day(opening.opens_on, tz)
    if d.window_started_at is not None:
        result["seller_response"] = d.window_started_at + timedelta(days=policy.seller_response_days)
    if d.return_agreed_at is not None:
        result["return_shipping"] = _last_full_day(d.return_agreed_at + timedelta(days=policy.return_shipping_days), tz)
    if d.returned_at is not None:
        result["return_check"] = d.returned_at + timedelta(days=policy.return_check_days)
    if d.decided_at is not None:
        if d.decided_against_buyer():
            result["appeal"] = _last_full_day(d.decided_at + timedelta(days=policy.appeal_days), tz)
        result["survey"] = _last_full_day(d.decided_at + timedelta(days=policy.survey_days), tz)
    if d.refund_started_at is not None:
        started = d.refund_started_at.astimezone(tz).date()
        result["refund_estimate"] = _end_of_day(
            add_business_days(started, policy.refund_business_days_max, country), tz)
    return result


def ahead(d: Dispute, policy: Policy, tz: ZoneInfo, country: str | None, now: datetime) -> dict[str, datetime]:
    """The deadlines that matter in the dispute's current stage (a reminder rule watches them there),
    from today on in the buyer's zone, soonest first: for /disputes and the calendar."""
    today = now.astimezone(tz).date()
    watched = {rule.deadline for rule in RULES if d.state in rule.states}
    known = deadlines(d, policy, tz, country)
    return dict(sorted(((key, moment) for key, moment in known.items()
                        if key in watched and moment.astimezone(tz).date() >= today), key=lambda kv: kv[1]))


def plan(d: Dispute, policy: Policy, tz: ZoneInfo, country: str | None, now: datetime) -> list[PlannedReminder]:
    """The reminders the dispute wants from ``now`` on, in its current stage."""
    if d.reminders_off:
        return []
    known = deadlines(d, policy, tz, country)
    window = (policy.daytime_start, policy.daytime_end)
    planned: list[PlannedReminder] = []
    for rule in RULES:
        deadline = known.get(rule.deadline)
        if deadline is None or d.state not in rule.states:
            continue
        dues = []
        if rule.starts:
            day = deadline.astimezone(tz).date()
            dues.append(next_daytime(datetime.combine(day, policy.reminder_time, tzinfo=tz), tz, *window))
        days_before = rule.days_before + ((policy.protection_margin_days,) if rule.at_margin else ())
        for days in days_before:
            day = deadline.astimezone(tz).date() - timedelta(days=days)
            due = datetime.combine(day, policy.reminder_time, tzinfo=tz)
            if due >= deadline:  # a deadline early in the day: remind a little before it
                due = deadline - timedelta(hours=2)
            dues.append(in_daytime(due, tz, *window))
        if rule.when_passed:
            dues.append(next_daytime(deadline, tz, *window))
        planned += [PlannedReminder(rule.kind, due, deadline) for due in dues if due > now]
    return sorted(set(planned), key=lambda r: (r.due_at, r.kind))
