"""Walking a buyer through the intake, driven by the step table (flows/steps.py).

``moves`` answers each step on the dispute's path the way the bot does (the step's
own button and text rules, then the machine's "next"), on a local copy of the
dispute, and returns what the buyer taps and types. A step the caller names gets
that answer; any other gets ``DEFAULTS``. For a step answered by typing, a value
that is one of the step's buttons ("?", "d7", "USD", "full", "several") is a tap.

``walk`` plays those moves with anything that has ``send(text)`` and
``choose(value)``: a test's ``ChatUser`` or a benchmark's buyer. Starting from the
buyer's focused dispute (or a new one), it stops when the bot asks ``to`` (a step
name) or shows the summary, and checks that the bot's stored dispute is there.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from typing import Any, Literal, NamedTuple

from flows.dispute import Dispute
from flows.languages import language
from flows.machine import fire
from flows.parsing import InputError
from flows.steps import NAMES, STEP, Context, Kind

TODAY = date(2026, 11, 21)  # testkit.chat.TODAY: the day every scripted conversation happens on



class Move(NamedTuple):
    step: str  # the step it answers ("" for /start and the like)
    kind: Literal["type", "tap"]
    value: str


# An answer for every step, so a walk names only what it is about.
DEFAULTS: dict[str, str | Callable[[Dispute], str]] = {
    "reason": "not_received",
    "received": "yes",
    "tracking": "none",  # no tracking / invalid number: no tracking dates asked
    "stalled_since": "d14",
    "eta": "?",
    "defect": lambda d: "does_not_work" if d.reason == "damaged" else "size",
    "detail": "?",
    "solution": "refund_only",
    "order_number": "8123456789012345",
    "order_total": "$25.90",
    "item_name": "Blue T-shirt",
    "item_price": "$10",
    "currency": "USD",
    "shipped_on": "11/1/2026",
    "protection": "40",
    "amount": "full",
    "evidence": "done",
}
START: list[Move] = [Move("", "type", "/start"), Move("", "tap", "new")]


def _answer(d: Dispute, ctx: Context, value: str) -> Move:
    """Applies ``value`` to the step ``d`` is at, as the bot would, and says how the buyer gives it."""
    step = STEP[d.state]
    buttons = {o.value for o in step.buttons(d, ctx)}
    if step.kind != Kind.TEXT or value in buttons:
        if not step.answer_button(d, value, ctx):
            raise AssertionError(f"{value!r} is no button of step {d.state!r} (buttons: {sorted(buttons)})")
        return Move(step.name, "tap", value)
    trial = replace(d, unknown=set(d.unknown))
    try:
        step.answer_text(trial, value, ctx)
    except InputError as e:
        raise AssertionError(f"{value!r} is no answer to step {d.state!r} ({e.code})") from e
    for name in vars(d):
        setattr(d, name, getattr(trial, name))
    return Move(step.name, "type", value)


def moves(d: Dispute | None = None, *, to: str = "summary", locale: str = "en", today: date = TODAY,
          paid_in: str | None = None, **answers: str) -> list[Move]:
    """The taps and texts that take ``d`` (a new dispute: ``d`` None) from its step until the bot
    asks ``to``. ``paid_in``: the currency the buyer paid in last time (the bot remembers it)."""
    unknown = set(answers) - set(NAMES)
    if unknown:
        raise TypeError(f"no such steps: {sorted(unknown)}")
    if to != "summary" and to not in STEP:
        raise TypeError(f"no step {to!r}")
    d = replace(d, unknown=set(d.unknown)) if d is not None else Dispute(id=0, user_id=0)
    ctx = Context(locale=language(locale).code, today=today, currency=paid_in)
    played: list[Move] = []
    while d.state != to:
        if d.state not in STEP:
            raise AssertionError(f"the intake reached {d.state!r} without asking {to!r} (path: {d.path()})")
        value = answers.get(d.state, DEFAULTS[d.state])
        played.append(_answer(d, ctx, value if isinstance(value, str) else value(d)))
        if not fire(d, "next"):
            raise AssertionError(f"no next step after {d.state!r}")
    return played


def act(user: Any, move: Move) -> Awaitable[Any]:
    """The buyer's one move: typing the text or tapping the button."""
    return user.send(move.value) if move.kind == "type" else user.choose(move.value)


async def play(user: Any, script: list[Move]) -> Any:
    """Types and taps ``script``; returns what the last move returned (ChatUser: the bot's replies)."""
    replies = None
    for move in script:
        replies = await act(user, move)
    return replies


async def walk(user: Any, to: str = "summary", *, new: bool = True, **answers: str) -> Any:
    """Takes ``user`` (ChatUser or a benchmark buyer: ``.harness`` or ``.h``, ``.id``,
    ``.language_code``) until the bot asks ``to``: a new dispute from /start, or (``new=False``)
    the focused one from where it is. Returns the replies to the last move."""
    harness = getattr(user, "harness", None) or user.h
    store, today = harness.store, harness.clock.now().date()
    replies = await play(user, START) if new else None
    d = await store.focused_dispute(user.id)
    assert d is not None, "no dispute to walk"
    row = await store.get_user(user.id)  # the language the buyer chose, else their client's
    locale = row.locale if row and row.locale else user.language_code
    script = moves(d, to=to, locale=locale, today=today, paid_in=await store.get_currency(user.id),
                   **answers)
    replies = await play(user, script) or replies
    d = await store.focused_dispute(user.id)
    assert d is not None and d.state == to, f"the bot is at {d and d.state!r}, the walk expected {to!r}"
    return replies
