"""What can the buyer do today about opening the dispute? One answer for the
summary, the dates step, the reminders and the calendar (docs/rules.md,
"Opening a dispute").

``opening_dates`` derives the dates every part of the bot uses; ``assess``
turns them into the verdict for one day. Where the sources differ, each rule
takes the reading that never makes a buyer give up a claim they still have.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from flows.dispute import Dispute
from flows.policy import Policy


class Verdict(StrEnum):
    UNKNOWN = "unknown"          # no dates: the buyer must check the order page
    TOO_EARLY = "too_early"      # before the earliest day; protection lasts past it
    ENDS_FIRST = "ends_first"    # the timer ends before the earliest day: waiting loses the claim
    OPEN_NOW = "open_now"
    URGENT = "urgent"            # fewer days left than the safety margin
    LAST_CHANCE = "last_chance"  # protection ended, but "Open Dispute" may still be there
    CHECK_TIMER = "check_timer"  # our assumed end passed: only the buyer's timer can tell
    TOO_LATE = "too_late"        # past the days after protection in which a dispute may open
    WAIT_DELIVERY = "wait_delivery"  # tracking moving, before the estimated delivery, protection not short


@dataclass(frozen=True)
class OpeningDates:
    """The dates that decide when a dispute can be opened."""
    opens_on: date | None = None            # the earliest day to open
    protection_ends_on: date | None = None  # the timer's last day
    estimated: bool = False                 # True: the end is our assumption, not the buyer's timer
    open_until: date | None = None          # the last day "Open Dispute" may still be there (timer known)
    safe_until: date | None = None          # the last day with the safety margin still left


def opening_dates(d: Dispute, policy: Policy) -> OpeningDates:
    ends, estimated = d.protection_ends_on, False
    if ends is None and d.shipped_on is not None:
        ends, estimated = d.shipped_on + timedelta(days=policy.protection_default_days), True
    opens = d.shipped_on + timedelta(days=policy.earliest_open_day) if d.shipped_on else None
    if ends is None:
        return OpeningDates(opens_on=opens)
    return OpeningDates(
        opens_on=opens, protection_ends_on=ends, estimated=estimated,
        open_until=None if estimated else ends + timedelta(days=policy.after_protection_days),
        safe_until=ends - timedelta(days=policy.protection_margin_days))


@dataclass(frozen=True)
class Eligibility:
    verdict: Verdict
    dates: OpeningDates
    days_left: int | None = None
    # The policy numbers the advice quotes.
    margin_days: int = 15
    after_protection_days: int = 15
    protection_default_days: int = 60
    # Not received: what the tracking shows, and the estimated delivery date on the order page.
    tracking: str | None = None
    eta: date | None = None
    # "No tracking / invalid number" before the carrier's lag is over: it means little until this day.
    lag_until: date | None = None

    @property
    def opens_on(self) -> date | None:
        return self.dates.opens_on

    @property
    def protection_ends_on(self) -> date | None:
        return self.dates.protection_ends_on

    @property
    def estimated(self) -> bool:
        return self.dates.estimated

    @property
    def tight(self) -> bool:
        """Too early, and the timer ends within the margin of the earliest day: open on that day itself."""
        ends, opens = self.dates.protection_ends_on, self.dates.opens_on
        return (self.verdict is Verdict.TOO_EARLY and ends is not None and opens is not None
                and not self.dates.estimated and (ends - opens).days < self.margin_days)

    @property
    def last_safe_day(self) -> bool:
        """Exactly the margin left: from tomorrow the dispute is urgent."""
        return self.verdict is Verdict.OPEN_NOW and self.days_left == self.margin_days

    @property
    def protection_over(self) -> bool:
        """The buyer's own timer (not our estimate) has run out."""
        return self.verdict in (Verdict.LAST_CHANCE, Verdict.TOO_LATE)


def assess(dispute: Dispute, policy: Policy, today: date) -> Eligibility:
    dates = opening_dates(dispute, policy)
    ends, opens = dates.protection_ends_on, dates.opens_on
    days_left = (ends - today).days if ends else None
    tracking = dispute.tracking if dispute.received is False else None
    lag_until = None
    if tracking == "none" and dispute.shipped_on is not None:
        lag_until = dispute.shipped_on + timedelta(days=policy.tracking_lag_days)
        if today >= lag_until:
            lag_until = None

    def verdict(v: Verdict) -> Eligibility:
        return Eligibility(v, dates, days_left, policy.protection_margin_days, policy.after_protection_days,
                           policy.protection_default_days, tracking=tracking, eta=dispute.eta, lag_until=lag_until)

    base = _base_verdict(dispute, policy, today, dates, days_left, verdict)
    eta = dispute.eta
    # Moving normally and not yet due: wait for the estimated delivery date, unless waiting would eat into the
    # safety margin of the protection timer (then the usual advice: open while it is safe).
    if (tracking == "moving" and eta is not None and today <= eta
            and base.verdict in (Verdict.OPEN_NOW, Verdict.TOO_EARLY, Verdict.UNKNOWN) and not base.tight
            and (opens is None or eta >= opens)
            and (dates.safe_until is None or eta < dates.safe_until)):
        return verdict(Verdict.WAIT_DELIVERY)
    return base


def _base_verdict(dispute: Dispute, policy: Policy, today: date, dates: OpeningDates, days_left: int | None,
                  verdict: Callable[[Verdict], Eligibility]) -> Eligibility:
    ends, opens = dates.protection_ends_on, dates.opens_on

    if days_left is not None and days_left < 0:
        if dates.estimated:
            return verdict(Verdict.CHECK_TIMER)  # never "ended" on an assumption
        if dates.open_until is not None and today <= dates.open_until:
            return verdict(Verdict.LAST_CHANCE)
        return verdict(Verdict.TOO_LATE)
    if opens is not None and today < opens:
        if ends is not None and not dates.estimated and ends < opens:
            return verdict(Verdict.ENDS_FIRST)
        return verdict(Verdict.TOO_EARLY)
    if days_left is not None and days_left < policy.protection_margin_days:
        return verdict(Verdict.URGENT)
    if ends is None:
        return verdict(Verdict.UNKNOWN)
    return verdict(Verdict.OPEN_NOW)
