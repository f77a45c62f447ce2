"""Can the buyer open a dispute today? (DOMAIN §3)"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from flows.dispute import Dispute
from flows.policy import Policy


class Verdict(StrEnum):
    UNKNOWN = "unknown"      # no dates: the buyer must check the order page
    TOO_EARLY = "too_early"  # before the 11th day after shipping
    OPEN_NOW = "open_now"
    URGENT = "urgent"        # protection ends within the safety margin
    TOO_LATE = "too_late"    # protection is over


@dataclass(frozen=True)
class Eligibility:
    verdict: Verdict
    opens_on: date | None = None
    protection_ends_on: date | None = None
    days_left: int | None = None
    # True when the end date is our assumption, not the buyer's timer.
    estimated: bool = False


def assess(dispute: Dispute, policy: Policy, today: date) -> Eligibility:
    ends, estimated = dispute.protection_ends_on, False
    if ends is None and dispute.shipped_on is not None:
        ends, estimated = dispute.shipped_on + timedelta(days=policy.protection_default_days), True
    opens = dispute.shipped_on + timedelta(days=policy.earliest_open_day) if dispute.shipped_on else None
    days_left = (ends - today).days if ends else None

    def verdict(v: Verdict) -> Eligibility:
        return Eligibility(v, opens, ends, days_left, estimated)

    if days_left is not None and days_left < 0:
        return verdict(Verdict.TOO_LATE)
    if opens is not None and today < opens:
        return verdict(Verdict.TOO_EARLY)
    if days_left is not None and days_left < policy.protection_margin_days:
        return verdict(Verdict.URGENT)
    if ends is None:
        return verdict(Verdict.UNKNOWN)
    return verdict(Verdict.OPEN_NOW)
