"""Every way through the intake, read from the step table (flows/steps.py): the buttons each step offers,
"I don't know" where it is skippable, and typed answers a buyer would give (a bare amount too, which asks
the currency). Sub-reasons may be sampled (they don't change the path); everything else is walked in full.

Used by the hidden-path property (every combination reaches the summary with every fact), the step counter
("Step N of at most M") and the summary's phone budget.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Generic, TypeVar

from flows.dispute import Dispute
from flows.machine import fire
from flows.steps import DONE, FULL_REFUND, SEVERAL, STEP, UNKNOWN, Context, Kind

TODAY = date(2026, 11, 21)
TYPED = {
    "order_number": "8123456789012345", "order_total": "$40.00", "item_name": "Blue rain jacket",
    "item_price": "$18.40", "shipped_on": "10/1/2026", "protection": "30", "eta": "11/16/2026",
    "stalled_since": "11/7/2026", "amount": "12.50",
}
# Amounts typed without a currency: the currency step follows.
BARE = {"order_total": "40.00", "item_price": "18.40"}
DETAILS = ("Listing: XL, chest 60 cm. Arrived: chest 52 cm.", "В описании синий, пришёл зелёный")

T = TypeVar("T")


@dataclass
class Walk(Generic[T]):
    """One finished way through: the dispute at the summary, and what ``visit`` saw at each question."""
    dispute: Dispute
    seen: list[T]


def answers(d: Dispute, rng: random.Random, defects: int | None = 2,
            every_currency: bool = False) -> list[tuple[str, str]]:
    """The possible answers to the dispute's current step: ("button", value) or ("text", typed); ``defects``
    sub-reasons sampled (None: all); every currency button, or the first (it doesn't change the path)."""
    step = STEP[d.state]
    ctx = Context("en", TODAY)
    if step.kind is Kind.EVIDENCE:
        return [("button", DONE)]
    options = [("button", o.value) for o in step.buttons(d, ctx)]
    if d.state == "amount":
        options = [("button", FULL_REFUND)] + ([] if d.wants_return() else [("text", TYPED["amount"])])
    elif d.state == "detail":
        options = [("text", DETAILS[0]), ("text", DETAILS[1]), ("button", UNKNOWN)]
    elif d.state == "currency" and not every_currency:
        options = options[:1]  # which currency doesn't change the path
    elif step.parse is not None and d.state in TYPED:
        typed = [("text", TYPED[d.state])] + ([("text", BARE[d.state])] if d.state in BARE else [])
        options = [*typed, *(o for o in options if o[1] in (UNKNOWN, SEVERAL))]
    elif d.state == "defect" and defects is not None:
        options = rng.sample(options, defects)
    return options


def walk_all(rng: random.Random, limit: int, visit: Callable[[Dispute], T] = lambda d: None, *,
             defects: int | None = 2, every_currency: bool = False) -> list[Walk[T]]:
    """Depth-first over the answers, up to ``limit`` finished disputes; ``visit`` is called at each question."""
    finished: list[Walk[T]] = []
    stack: list[tuple[Dispute, list[T]]] = [(Dispute(id=1, user_id=1), [])]
    while stack and len(finished) < limit:
        d, seen = stack.pop()
        if d.state == "summary":
            finished.append(Walk(d, seen))
            continue
        seen = [*seen, visit(d)]
        step = STEP[d.state]
        for kind, value in answers(d, rng, defects, every_currency):
            nxt = replace(d, unknown=set(d.unknown))
            if kind == "button":
                assert step.answer_button(nxt, value, Context("en", TODAY)), (d.state, value)
                if not step.is_answered(nxt):
                    continue
            else:
                step.answer_text(nxt, value, Context("en", TODAY))
            assert fire(nxt, "next"), (d.state, value)
            stack.append((nxt, seen))
    return finished
