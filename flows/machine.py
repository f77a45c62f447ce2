"""The dispute machine, defined once as data and shared by every dispute.

Handlers never decide where a dispute goes next: they record an answer on the
model (flows.dispute) and fire an event; the conditions below route it. The
machine holds no models: each update loads a Dispute and triggers on it.
"""
from __future__ import annotations

from typing import cast

from transitions import EventData, Machine

from flows.dispute import Dispute
from flows.steps import NAMES

# After the dispute is opened on AliExpress (docs/rules.md, "After opening").
LIFECYCLE: tuple[str, ...] = (
    "negotiating",     # the seller has the response window
    "counter_offer",   # the seller rejected and offered something else
    "refused",         # the seller rejected and offered nothing: escalate
    "return_shipping",  # a return was agreed (or ruled): the item must go back in time
    "return_sent",     # the buyer shipped it back: the seller must confirm receipt
    "escalated",       # AliExpress's team decides
    "refund_pending",  # money on its way (business days)
    "rejected",        # AliExpress ruled against the buyer: appeal window
    "refund_missing",  # the estimate passed without the money
)
FINAL: tuple[str, ...] = ("refunded", "chargeback", "withdrawn")
# A dispute the buyer can still act on AliExpress for (cancelling warns first).
OPEN_STAGES: tuple[str, ...] = ("negotiating", "counter_offer", "refused", "return_shipping", "return_sent",
                                "escalated")

STATES: list[dict] = [
    *({"name": step} for step in NAMES),
    # Arriving at the summary always ends an edit.
    {"name": "summary", "on_enter": "stop_editing"},
    {"name": "cancelled"},
    # "I opened it on AliExpress": asks the date, then the lifecycle starts.
    {"name": "opening"},
    *({"name": stage} for stage in LIFECYCLE),
    *({"name": stage, "final": True} for stage in FINAL),
]

# The intake part is generated from the step table (flows/steps.py): "next" goes to the following step on
# the dispute's path, "back" to the one before, and each step on the path can be edited from the summary.
_ALL_STEPS = list(NAMES)

TRANSITIONS: list[dict] = [
    # An edit from the summary returns there as soon as the path is complete
    # again (a changed answer may open steps that must be answered first).
    {"trigger": "next", "source": _ALL_STEPS, "dest": "summary", "conditions": ["is_editing", "is_complete"]},
    *({"trigger": "next", "source": source, "dest": dest, "conditions": [f"next_is_{dest}"]}
      for i, source in enumerate(NAMES) for dest in NAMES[i + 1:]),
    {"trigger": "next", "source": _ALL_STEPS, "dest": "summary", "conditions": ["next_is_summary"]},

    # Back out of an edit: the summary, answers as they are.
    {"trigger": "back", "source": _ALL_STEPS, "dest": "summary", "conditions": ["is_editing", "is_complete"]},
    *({"trigger": "back", "source": source, "dest": dest, "conditions": [f"back_is_{dest}"]}
      for i, source in enumerate(NAMES) for dest in NAMES[:i]),
    {"trigger": "back", "source": "summary", "dest": "evidence"},
    # An answer at the summary (the buyer's notes in or out of the explanation) shows it again.
    {"trigger": "next", "source": "summary", "dest": "summary"},

    *({"trigger": f"edit_{step}", "source": "summary", "dest": step, "conditions": [f"has_step_{step}"],
       "after": "start_editing"} for step in NAMES),

    {"trigger": "cancel", "source": [*_ALL_STEPS, "summary"], "dest": "cancelled"},

    # --- after opening on AliExpress -----------------------------------------
    {"trigger": "open_on_aliexpress", "source": "summary", "dest": "opening"},
    {"trigger": "back", "source": "opening", "dest": "summary"},
    {"trigger": "opened", "source": "opening", "dest": "negotiating", "after": "record_opened"},
    # The seller's answer within the window. "Accepted" is the seller agreeing to the request as it
    # was; accepting a counter-offer is the buyer's own event (accept_offer).
    {"trigger": "seller_accepted", "source": "negotiating", "dest": "return_shipping",
     "conditions": ["wants_return"], "after": ["record_seller_accepted", "record_return_agreed"]},
    {"trigger": "seller_accepted", "source": "negotiating", "dest": "refund_pending",
     "after": ["record_seller_accepted", "record_refund_started"]},
    {"trigger": "seller_offer", "source": "negotiating", "dest": "counter_offer", "after": "record_seller_offer"},
    {"trigger": "seller_refused", "source": "negotiating", "dest": "refused", "after": "record_seller_refused"},
    {"trigger": "accept_offer", "source": "counter_offer", "dest": "refund_pending",
     "after": "record_refund_started"},
    {"trigger": "modify", "source": ["negotiating", "counter_offer", "refused"], "dest": "negotiating",
     "after": "restart_window"},
    # Seller silent past the window: the Help Center processes the request as
    # asked; the older guide escalates. The buyer reports which one happened.
    {"trigger": "processed_as_requested", "source": "negotiating", "dest": "return_shipping",
     "conditions": ["wants_return"], "after": "record_return_agreed"},
    {"trigger": "processed_as_requested", "source": "negotiating", "dest": "refund_pending",
     "after": "record_refund_started"},
    # The buyer escalates; or AliExpress steps in on its own (seller silent, older guide).
    {"trigger": "escalate", "source": ["negotiating", "counter_offer", "refused", "return_shipping", "return_sent"],
     "dest": "escalated", "after": "record_escalated"},
    {"trigger": "aliexpress_stepped_in", "source": ["negotiating", "counter_offer", "refused", "return_sent"],
     "dest": "escalated", "after": "record_escalated"},
    # A return: shipped back tracked, then the seller confirms receipt.
    {"trigger": "item_returned", "source": "return_shipping", "dest": "return_sent", "after": "record_returned"},
    {"trigger": "seller_confirmed_return", "source": "return_sent", "dest": "refund_pending",
     "after": "record_refund_started"},
    {"trigger": "decision_full", "source": "escalated", "dest": "refund_pending", "after": "record_full_decision"},
    {"trigger": "decision_partial", "source": "escalated", "dest": "refund_pending",
     "after": "record_partial_decision"},
    {"trigger": "decision_return", "source": "escalated", "dest": "return_shipping",
     "after": "record_return_decision"},
    {"trigger": "decision_rejected", "source": "escalated", "dest": "rejected", "after": "record_rejection"},
    # An appeal only after a decision against the buyer (rejected, or a partial refund).
    {"trigger": "appeal", "source": "rejected", "dest": "escalated"},
    {"trigger": "appeal", "source": "refund_pending", "dest": "escalated", "conditions": ["decided_against_buyer"]},
    {"trigger": "refunded", "source": ["refund_pending", "refund_missing"], "dest": "refunded"},
    {"trigger": "not_arrived", "source": "refund_pending", "dest": "refund_missing"},
    {"trigger": "chargeback", "source": ["refund_missing", "rejected"], "dest": "chargeback"},
    {"trigger": "withdraw", "source": list(OPEN_STAGES), "dest": "withdrawn"},
]

MACHINE = Machine(
    model=None, states=STATES, transitions=TRANSITIONS, initial="reason",
    auto_transitions=False, ignore_invalid_triggers=False,
)


def can_fire(dispute: Dispute, event: str) -> bool:
    """Whether the event exists and some transition of it may leave this state."""
    ev = MACHINE.events.get(event)
    return ev is not None and dispute.state in ev.transitions


def fire(dispute: Dispute, event: str, **kwargs: object) -> bool:
    """Fires ``event`` on the dispute; False when no transition applies.

    Lifecycle events need ``now`` (the injected clock's time, UTC)."""
    if not can_fire(dispute, event):
        return False
    return bool(MACHINE.events[event].trigger(dispute, **kwargs))


def available_events(dispute: Dispute) -> list[str]:
    """Events whose conditions hold now, in table order: a stage's buttons."""
    seen: list[str] = []
    for t in TRANSITIONS:
        name = t["trigger"]
        if name not in seen and _allowed(dispute, name):
            seen.append(name)
    return seen


def edit_events(dispute: Dispute) -> list[str]:
    """Steps the buyer may change from the summary, per the table's conditions."""
    return [step for step in NAMES if _allowed(dispute, f"edit_{step}")]


def _allowed(dispute: Dispute, event: str) -> bool:
    if not can_fire(dispute, event):
        return False
    for transition in MACHINE.events[event].transitions[dispute.state]:
        if all(c.check(cast(EventData, _EventProbe(dispute))) for c in transition.conditions):
            return True
    return False


class _EventProbe:
    """Minimal stand-in for transitions' EventData, enough for Condition.check."""

    def __init__(self, model: Dispute) -> None:
        self.model = model
        self.machine = MACHINE
        self.args: tuple = ()
        self.kwargs: dict = {}
