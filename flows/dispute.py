"""The dispute as a plain model object: answers, conditions and answer rules.

The bot loads one from the database for each update, fires a machine event on
it (flows.machine) and saves it back. Nothing here knows about Telegram or SQL.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from flows.choices import DEFECTS, REASONS, RECEIVED, SOLUTIONS, TRACKING, defects_for, option

# The intake steps themselves (name, kind, parsing, recap, condition) are one table: flows/steps.py.


@dataclass
class Dispute:
    id: int
    user_id: int
    state: str = "reason"
    version: int = 0
    # The buyer's own numbering of their disputes (#1, #2 …), shown instead of the id.
    number: int = 0
    # The chat message that asked the current question: a typed answer with a lower message id
    # was typed before the question was on screen and doesn't answer it (docs/rules.md).
    asked_message_id: int | None = None
    reason: str | None = None
    received: bool | None = None
    defect: str | None = None
    solution: str | None = None
    order_number: str | None = None
    order_total: Decimal | None = None
    currency: str | None = None
    shipped_on: date | None = None
    protection_ends_on: date | None = None
    amount: Decimal | None = None
    refund_full: bool = False
    evidence_done: bool = False
    # Order facts the buyer answered with "I don't know".
    unknown: set[str] = field(default_factory=set)
    # True while the buyer changes one answer from the summary.
    editing: bool = False
    # --- after the dispute is opened on AliExpress (moments in UTC) ---------
    opened_at: datetime | None = None
    # When the current seller response window started (opening, or a modification).
    window_started_at: datetime | None = None
    # AliExpress's ruling: "full", "partial" or "rejected", and when the buyer reported it.
    decision: str | None = None
    decided_at: datetime | None = None
    # When the seller agreed to a return: the item must go back within the return window.
    return_agreed_at: datetime | None = None
    # The seller's answer in the dispute ("accepted", "offer", "refused") and when the buyer reported it.
    seller_answer: str | None = None
    seller_answered_at: datetime | None = None
    # When the dispute went to AliExpress's team (the buyer escalated, or AliExpress stepped in).
    escalated_at: datetime | None = None
    # When the buyer shipped the item back: the seller must confirm receipt.
    returned_at: datetime | None = None
    # When the refund was granted: it reaches the card within some business days.
    refund_started_at: datetime | None = None
    reminders_off: bool = False
    # --- intake facts added with the step table (stored together, see flows/steps.py FACTS) ---
    # Not received: what the tracking shows, since when it is stuck, the estimated delivery date.
    tracking: str | None = None
    stalled_since: date | None = None
    eta: date | None = None
    # Received: what differs from the listing, in the buyer's words, and their language ("en": verbatim).
    detail: str | None = None
    detail_lang: str | None = None
    # One dispute per product: the order has several items, the dispute is about this one.
    several_items: bool = False
    item_name: str | None = None
    item_price: Decimal | None = None
    # The currency was typed with the amount (or remembered from an earlier dispute): not asked.
    currency_given: bool = False
    # The buyer's notes from the evidence step go into the explanation.
    include_notes: bool = False

    # --- conditions (named in the machine's transition table) -------------
    def reason_settles_receipt(self, **_: object) -> bool:
        """"Item not received" already answers the form's "received?" question."""
        return self.reason == "not_received"

    def item_received(self, **_: object) -> bool:
        return self.received is True

    def is_editing(self, **_: object) -> bool:
        return self.editing

    def is_complete(self, **_: object) -> bool:
        return all(self.answered(step) for step in self.path())

    def is_not_received(self) -> bool:
        return self.received is False

    def evidence_case(self) -> tuple[str | None, str | None]:
        """The reason and tracking status the evidence checklist follows: a parcel that never arrived needs the
        not-received checklist (tracking, carrier statement...), whichever reason the buyer picked first."""
        if self.received is False:
            return "not_received", self.tracking
        return self.reason, None

    def wants_return(self, **_: object) -> bool:
        return self.solution == "return_and_refund"

    def decided_against_buyer(self, **_: object) -> bool:
        """AliExpress ruled, and not fully for the buyer: an appeal is open to them."""
        return self.decision in ("partial", "rejected")

    # --- callbacks -----------------------------------------------------------
    def start_editing(self, **_: object) -> None:
        self.editing = True

    def stop_editing(self, **_: object) -> None:
        self.editing = False

    # Lifecycle callbacks. Every event is fired with ``now`` (the injected
    # clock), conditions included, hence the ``**_`` everywhere.
    def record_opened(self, *, now: datetime, opened_at: datetime | None = None, **_: object) -> None:
        self.opened_at = opened_at or now
        self.window_started_at = self.opened_at

    def restart_window(self, *, now: datetime, **_: object) -> None:
        # A modified request gives the seller a new response window.
        self.window_started_at = now

    def record_return_agreed(self, *, now: datetime, **_: object) -> None:
        self.return_agreed_at = now

    def record_seller_accepted(self, *, now: datetime, **_: object) -> None:
        self.seller_answer, self.seller_answered_at = "accepted", now

    def record_seller_offer(self, *, now: datetime, **_: object) -> None:
        self.seller_answer, self.seller_answered_at = "offer", now

    def record_seller_refused(self, *, now: datetime, **_: object) -> None:
        self.seller_answer, self.seller_answered_at = "refused", now

    def record_escalated(self, *, now: datetime, **_: object) -> None:
        self.escalated_at = now

    def record_returned(self, *, now: datetime, **_: object) -> None:
        self.returned_at = now

    def record_return_decision(self, *, now: datetime, **_: object) -> None:
        # AliExpress ruled "return the item for a refund": the return window starts now.
        self.decision, self.decided_at, self.return_agreed_at = "return", now, now

    def record_refund_started(self, *, now: datetime, **_: object) -> None:
        self.refund_started_at = now

    def record_full_decision(self, *, now: datetime, **_: object) -> None:
        self.decision, self.decided_at, self.refund_started_at = "full", now, now

    def record_partial_decision(self, *, now: datetime, **_: object) -> None:
        self.decision, self.decided_at, self.refund_started_at = "partial", now, now

    def record_rejection(self, *, now: datetime, **_: object) -> None:
        self.decision, self.decided_at = "rejected", now

    # --- queries -------------------------------------------------------------
    def path(self) -> list[str]:
        """The steps this dispute goes through, given the answers so far (flows/steps.py)."""
        from flows.steps import path
        return path(self)

    def answered(self, step: str) -> bool:
        from flows.steps import STEP
        return STEP[step].is_answered(self)

    def price(self) -> Decimal | None:
        """What a full refund is: the order total, or the disputed item's price when the order has several
        items (one dispute per product, docs/rules.md)."""
        return self.item_price if self.several_items else self.order_total

    def refund_amount(self) -> Decimal | None:
        """What the buyer asks for: the price in dispute for a full refund."""
        return self.price() if self.refund_full else self.amount

    # --- answers -------------------------------------------------------------
    def choose(self, step: str, value: str) -> bool:
        """Records a button answer; False when the value isn't an option of the step."""
        if step == "reason" and option(REASONS, value):
            previous, self.reason = self.reason, value
            if value == "not_received":
                self._not_received()
            elif previous != value:
                self.defect = None  # each reason has its own defect list
                if previous == "not_received":
                    self.received = self.solution = None  # were implied by the old reason
            return True
        if step == "received" and option(RECEIVED, value):
            if value == "no":
                self._not_received()
            elif self.received is not True:
                self.received, self.solution = True, None
            return True
        if step == "tracking":
            return self.set_tracking(value)
        if step == "defect" and option(defects_for(self.reason), value):
            if self.defect != value:
                self.detail = self.detail_lang = None  # the detail answered the old sub-reason's question
            self.defect = value
            return True
        if step == "solution" and self.item_received() and option(SOLUTIONS, value):
            self.solution = value
            if value == "return_and_refund" and self.amount is not None:
                self.set_amount(None)  # a return means a full refund (docs/rules.md): no partial amount
            return True
        return False

    def _not_received(self) -> None:
        # Not received: the form offers no defect step and refunds in full.
        self.received, self.defect, self.solution = False, None, "refund_only"
        self.detail = self.detail_lang = None
        self.refund_full = True
        self.amount = None

    def set_tracking(self, value: str) -> bool:
        if not self.is_not_received() or option(TRACKING, value) is None:
            return False
        self.tracking = value
        if value != "stalled":
            self.stalled_since = None
            self.unknown.discard("stalled_since")
        if value not in ("moving", "stalled"):
            self.eta = None
            self.unknown.discard("eta")
        return True

    def mark_unknown(self, step: str) -> bool:
        from flows.steps import STEP
        if step not in STEP or not STEP[step].skippable:
            return False
        self.unknown.add(step)
        if step == "order_number":
            self.order_number = None
        elif step == "order_total":
            self.order_total = self.currency = None
        elif step == "shipped_on":
            self.shipped_on = None
        elif step == "protection":
            self.protection_ends_on = None
        elif step in ("stalled_since", "eta", "detail", "item_name", "item_price"):
            setattr(self, step, None)
        return True

    def set_order_number(self, number: str) -> None:
        self.order_number = number
        self.unknown.discard("order_number")

    def set_order_total(self, total: Decimal, currency: str | None) -> None:
        """The order's total, or the disputed item's price when the order has several items.
        ``currency`` None: a bare number, the currency step asks it."""
        self.order_total, self.currency, self.currency_given = total, currency, currency is not None
        self.unknown.discard("order_total")
        if self.amount is not None and self.amount > total:
            self.amount = None  # a partial refund can't exceed the new total: ask again

    def set_shipped_on(self, day: date) -> None:
        self.shipped_on = day
        self.unknown.discard("shipped_on")

    def set_protection_ends_on(self, day: date) -> None:
        self.protection_ends_on = day
        self.unknown.discard("protection")

    def set_amount(self, amount: Decimal | None) -> None:
        """None means the full order total."""
        self.refund_full = amount is None or (self.price() is not None and amount == self.price())
        self.amount = None if self.refund_full else amount

    def finish_evidence(self) -> None:
        self.evidence_done = True


__all__ = ["Dispute", "DEFECTS", "SOLUTIONS"]
