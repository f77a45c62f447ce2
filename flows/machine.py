"""The dispute machine, defined once as data and shared by every dispute.

Handlers never decide where a dispute goes next: they record an answer on the
model (flows.dispute) and fire an event; the conditions below route it. The
machine holds no models: each update loads a Dispute and triggers on it.
"""
from __future__ import annotations

from transitions import Machine

from flows.dispute import STEPS, Dispute

STATES: list[dict] = [
    *({"name": step} for step in STEPS),
    # Arriving at the summary always ends an edit.
    {"name": "summary", "on_enter": "stop_editing"},
    {"name": "cancelled"},
]

# Editable from the summary, with the condition that makes the step exist.
EDITABLE: dict[str, list[str]] = {
    "reason": [], "received": ["item_received"], "defect": ["item_received"],
    "solution": ["item_received"], "order_number": [], "order_total": [],
    "shipped_on": [], "protection": [], "amount": [], "evidence": [],
}
# "received" is editable only when the reason didn't already settle it.
_EDIT_UNLESS: dict[str, list[str]] = {"received": ["reason_settles_receipt"]}

_ALL_STEPS = list(STEPS)

TRANSITIONS: list[dict] = [
    # An edit from the summary returns there as soon as the path is complete
    # again (a changed answer may open steps that must be answered first).
    {"trigger": "next", "source": _ALL_STEPS, "dest": "summary", "conditions": ["is_editing", "is_complete"]},
    {"trigger": "next", "source": "reason", "dest": "received", "unless": ["reason_settles_receipt"]},
    {"trigger": "next", "source": "reason", "dest": "order_number", "conditions": ["reason_settles_receipt"]},
    {"trigger": "next", "source": "received", "dest": "defect", "conditions": ["item_received"]},
    {"trigger": "next", "source": "received", "dest": "order_number", "unless": ["item_received"]},
    {"trigger": "next", "source": "defect", "dest": "solution"},
    {"trigger": "next", "source": "solution", "dest": "order_number"},
    {"trigger": "next", "source": "order_number", "dest": "order_total"},
    {"trigger": "next", "source": "order_total", "dest": "shipped_on"},
    {"trigger": "next", "source": "shipped_on", "dest": "protection"},
    {"trigger": "next", "source": "protection", "dest": "amount"},
    {"trigger": "next", "source": "amount", "dest": "evidence"},
    {"trigger": "next", "source": "evidence", "dest": "summary"},

    # Back out of an edit: the summary, answers as they are.
    {"trigger": "back", "source": _ALL_STEPS, "dest": "summary", "conditions": ["is_editing", "is_complete"]},
    {"trigger": "back", "source": "received", "dest": "reason"},
    {"trigger": "back", "source": "defect", "dest": "received"},
    {"trigger": "back", "source": "solution", "dest": "defect"},
    {"trigger": "back", "source": "order_number", "dest": "solution", "conditions": ["item_received"]},
    {"trigger": "back", "source": "order_number", "dest": "reason", "conditions": ["reason_settles_receipt"]},
    {"trigger": "back", "source": "order_number", "dest": "received"},
    {"trigger": "back", "source": "order_total", "dest": "order_number"},
    {"trigger": "back", "source": "shipped_on", "dest": "order_total"},
    {"trigger": "back", "source": "protection", "dest": "shipped_on"},
    {"trigger": "back", "source": "amount", "dest": "protection"},
    {"trigger": "back", "source": "evidence", "dest": "amount"},
    {"trigger": "back", "source": "summary", "dest": "evidence"},

    *({"trigger": f"edit_{step}", "source": "summary", "dest": step, "conditions": conditions,
       "unless": _EDIT_UNLESS.get(step, []), "after": "start_editing"}
      for step, conditions in EDITABLE.items()),

    {"trigger": "cancel", "source": [*_ALL_STEPS, "summary"], "dest": "cancelled"},
]

MACHINE = Machine(
    model=None, states=STATES, transitions=TRANSITIONS, initial="reason",
    auto_transitions=False, ignore_invalid_triggers=False,
)


def can_fire(dispute: Dispute, event: str) -> bool:
    """Whether the event exists and some transition of it may leave this state."""
    ev = MACHINE.events.get(event)
    return ev is not None and dispute.state in ev.transitions


def fire(dispute: Dispute, event: str) -> bool:
    """Fires ``event`` on the dispute; False when no transition applies."""
    if not can_fire(dispute, event):
        return False
    return bool(MACHINE.events[event].trigger(dispute))


def edit_events(dispute: Dispute) -> list[str]:
    """Steps the buyer may change from the summary, per the table's conditions."""
    return [step for step in EDITABLE if _allowed(dispute, f"edit_{step}")]


def _allowed(dispute: Dispute, event: str) -> bool:
    if not can_fire(dispute, event):
        return False
    for transition in MACHINE.events[event].transitions[dispute.state]:
        if all(c.check(_EventProbe(dispute)) for c in transition.conditions):
            return True
    return False


class _EventProbe:
    """Minimal stand-in for transitions' EventData, enough for Condition.check."""

    def __init__(self, model: Dispute) -> None:
        self.model = model
        self.machine = MACHINE
        self.args: tuple = ()
        self.kwargs: dict = {}
