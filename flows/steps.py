"""The intake steps as one table: each step once, with everything the bot needs to run it.

A step has a name, a kind (buttons, typed text, or the evidence step), the
condition that puts it on the dispute's path, how a button or a typed answer is
applied, whether "I don't know" answers it, what the recap shows, and which
extra facts it stores. The machine (flows/machine.py) builds its next/back/edit
transitions from this table, the bot's question renderer, text handler, summary
and storage read it. Adding a step means adding a row here (and its texts to
the catalogs), nothing else.

Nothing here knows about Telegram or SQL: prompts and labels are msgids marked
with ``N_``; answers raise ``InputError`` codes the bot turns into hints.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache
from itertools import product

from babel.numbers import get_currency_symbol

from flows.choices import DEFECTS, N_, REASONS, RECEIVED, SOLUTIONS, TRACKING, Option, defects_for, option
from flows.dispute import Dispute
from flows.languages import LANGUAGES, babel_locale, language
from flows.parsing import (InputError, parse_amount, parse_currency, parse_date, parse_days_left, parse_money,
                           parse_order_number)
from flows.policy import Policy


class Kind(StrEnum):
    CHOICE = "choice"      # answered with a button; typed text gets "tap a button"
    TEXT = "text"          # typed (buttons may offer presets, "I don't know", ...)
    EVIDENCE = "evidence"  # photos, videos, forwards and notes, then "Done"


@dataclass(frozen=True)
class Context:
    """What answering a step may need besides the dispute."""
    locale: str
    today: date
    policy: Policy = field(default_factory=lambda: Policy.model_validate({}))
    # The currency this buyer paid in last time (remembered per buyer), if any.
    currency: str | None = None


# Values of button answers that aren't options of the step (kept short: they travel in callback data).
UNKNOWN = "?"
DONE = "done"
FULL_REFUND = "full"
SEVERAL = "several"
SINGLE = "single"
NOTES = "notes"  # at the summary: the buyer's notes in (or out of) the explanation
DAYS_AGO = {"d0": 0, "d1": 1, "d2": 2, "d7": 7, "d14": 14, "d30": 30}

# Longest typed detail and item name (the explanation must stay under the form's limit).
DETAIL_MAX = 200
ITEM_NAME_MAX = 60


Recap = tuple[str, dict[str, object]]


def _text(value: str | None) -> Recap | None:
    return ("{text}", {"text": value}) if value else None


@dataclass(frozen=True)
class Step:
    name: str
    title: str                                   # msgid: the recap's label and the edit button
    kind: Kind
    prompt: Callable[[Dispute], str]             # msgid; may use {example} and {total}
    is_answered: Callable[[Dispute], bool]
    shows: Callable[[Dispute], bool] = lambda d: True
    options: Callable[[Dispute, Context], tuple[Option, ...]] = lambda d, c: ()
    pick: Callable[[Dispute, str, Context], bool] = lambda d, v, c: False
    parse: Callable[[Dispute, str, Context], None] | None = None
    # The recap line's value: a msgid (translated) and its parameters, formatted by type (Decimal: money in
    # the dispute's currency, date: the buyer's date format, str: the buyer's own text, escaped).
    recap: Callable[[Dispute], Recap | None] = lambda d: None
    skippable: bool = False
    # "amount" or "date": what {example} in the prompt shows.
    example: str | None = None
    # Buttons per row when every label fits (at most 24 characters); else one per row.
    columns: int = 1
    # Extra facts this step stores (field name -> "str", "date", "bool"): storage keeps them in one column.
    facts: dict[str, str] = field(default_factory=dict)

    def buttons(self, d: Dispute, ctx: Context) -> tuple[Option, ...]:
        skip = (Option(UNKNOWN, N_("🤷 I don't know"), ""),) if self.skippable else ()
        return (*self.options(d, ctx), *skip)

    def answer_button(self, d: Dispute, value: str, ctx: Context) -> bool:
        """Applies a button answer; False when the value isn't one of the step's."""
        if value == UNKNOWN:
            return self.skippable and d.mark_unknown(self.name)
        return self.pick(d, value, ctx)

    def answer_text(self, d: Dispute, text: str, ctx: Context) -> None:
        """Applies a typed answer; raises InputError (a hint code) and leaves the dispute as it was."""
        if self.parse is None:
            raise InputError("use_buttons")
        self.parse(d, text, ctx)


# --- the parts of the rows ------------------------------------------------------------------------

def _const(msgid: str) -> Callable[[Dispute], str]:
    return lambda d: msgid


def _days_ago(value: str, ctx: Context) -> date | None:
    return ctx.today - timedelta(days=DAYS_AGO[value]) if value in DAYS_AGO else None


def _received(d: Dispute) -> bool:
    return d.received is True


def _not_received(d: Dispute) -> bool:
    return d.received is False


def _known(step: str, value: Callable[[Dispute], object]) -> Callable[[Dispute], bool]:
    return lambda d: step in d.unknown or value(d) is not None


# Reason and received ------------------------------------------------------------------------------

def _pick_received(d: Dispute, value: str, ctx: Context) -> bool:
    return d.choose("received", value)


def _recap_option(options: tuple[Option, ...], value: Callable[[Dispute], str | None]):
    def recap(d: Dispute) -> Recap | None:
        o = option(options, value(d))
        return (o.label, {}) if o else None
    return recap


# Tracking -------------------------------------------------------------------------------------------

def _pick_date(attr: str) -> Callable[[Dispute, str, Context], bool]:
    def pick(d: Dispute, value: str, ctx: Context) -> bool:
        day = _days_ago(value, ctx)
        if day is None:
            return False
        setattr(d, attr, day)
        d.unknown.discard(attr)
        return True
    return pick


def _parse_past(attr: str) -> Callable[[Dispute, str, Context], None]:
    def parse(d: Dispute, text: str, ctx: Context) -> None:
        try:
            setattr(d, attr, parse_date(text, ctx.locale, today=ctx.today))
        except InputError as e:
            if e.code == "future_date":
                raise InputError("future_update", **e.params) from None
            raise
        d.unknown.discard(attr)
    return parse


def _parse_eta(d: Dispute, text: str, ctx: Context) -> None:
    d.eta = parse_date(text, ctx.locale, today=ctx.today, allow_future=True)
    d.unknown.discard("eta")


def _date_recap(attr: str) -> Callable[[Dispute], Recap | None]:
    def recap(d: Dispute) -> Recap | None:
        day = getattr(d, attr)
        return ("{date}", {"date": day}) if day else None
    return recap


# Defect and its detail --------------------------------------------------------------------------------

_DETAIL_PROMPTS = {
    "color": N_("What colour did the listing show, and what colour arrived? "
                "For example: “Listing: dark blue. Arrived: light grey.”"),
    "size": N_("What size did the listing say, and what arrived? Give measurements if you can. "
               "For example: “Listing: XL, chest 60 cm. Arrived: chest 52 cm.”"),
    "model": N_("Which model did the listing say, and which one arrived? "
                "For example: “Listing: model X200. Arrived: X100.”"),
    "short_quantity": N_("How many did you order, and how many arrived? For example: “Ordered 10, got 6.”"),
    "does_not_work": N_("What doesn't work? For example: “It does not turn on, even after charging for 8 hours.”"),
}
_DETAIL_DEFAULT = N_("In one or two lines: what did the listing say, and what arrived? "
                     "For example: “Listing: leather. Arrived: plastic.”")

# Words that make an ASCII-only detail English rather than, say, Spanish written without accents.
_ENGLISH_WORDS = frozenset("""the a an is was are it its but and not no of in on with listing arrived ordered
got received says said shows instead only does doesn't don't work works working broken size colour color
model instead should be than has have from to for got pieces piece""".split())
_WORD = re.compile(r"[a-z']+")


def looks_english(text: str, locale: str) -> bool:
    """Whether a typed detail can go into the English explanation verbatim."""
    if not text.isascii():
        return False
    if locale == "en":
        return True
    words = _WORD.findall(text.lower())
    return not words or sum(w in _ENGLISH_WORDS for w in words) * 3 >= len(words)


# Words of the bot's languages (Latin with accents, Cyrillic) and numbers.
_WORDS = re.compile(r"[A-Za-z\u00c0-\u024f\u0400-\u04ff]{2,}|[0-9]+")


def _clean_line(text: str, limit: int, code: str) -> str:
    """A short line of words: one word of 4+ letters, or two words or numbers ("TV 55", "Ordered 10, got 6")."""
    line = " ".join(text.split()).strip()
    words = _WORDS.findall(line)
    meaningful = any(len(w) >= 4 and not w.isdigit() for w in words) or len(words) >= 2
    if len(line) > limit or not meaningful:
        raise InputError(code, limit=limit)
    return line


def _parse_detail(d: Dispute, text: str, ctx: Context) -> None:
    line = _clean_line(text, DETAIL_MAX, "detail_length")
    d.detail, d.detail_lang = line, "en" if looks_english(line, ctx.locale) else language(ctx.locale).code
    d.unknown.discard("detail")


# Money ---------------------------------------------------------------------------------------------------

def _total_options(d: Dispute, ctx: Context) -> tuple[Option, ...]:
    return (Option(SEVERAL, N_("🧺 Several items"), ""),)


def _pick_total(d: Dispute, value: str, ctx: Context) -> bool:
    # One dispute per product: with several items the price of the one in dispute is asked next.
    if value != SEVERAL:
        return False
    d.several_items = True
    d.unknown.discard("order_total")
    if d.amount is not None and d.item_price is None:
        d.amount = None
    return True


def _parse_money_into(d: Dispute, text: str, ctx: Context, attr: str) -> None:
    money = parse_money(text, ctx.locale)
    given = money.currency or ctx.currency
    setattr(d, attr, money.amount)
    d.unknown.discard(attr if attr == "item_price" else "order_total")
    if given:
        d.currency, d.currency_given = given, True
    price = d.price()
    if d.amount is not None and price is not None and d.amount > price:
        d.amount = None  # a partial refund can't exceed the new price: asked again


def _parse_total(d: Dispute, text: str, ctx: Context) -> None:
    _parse_money_into(d, text, ctx, "order_total")
    d.several_items, d.item_name, d.item_price = False, None, None
    d.unknown -= {"item_name", "item_price"}


def _parse_item_price(d: Dispute, text: str, ctx: Context) -> None:
    money = parse_money(text, ctx.locale)
    if d.order_total is not None and money.amount > d.order_total:
        raise InputError("above_total", maximum=d.order_total)
    _parse_money_into(d, text, ctx, "item_price")


def _total_recap(d: Dispute) -> Recap | None:
    if d.several_items:
        return N_("several items"), {}
    return ("{money}", {"money": d.order_total}) if d.order_total is not None else None


def _currency_options(d: Dispute, ctx: Context) -> tuple[Option, ...]:
    codes = language(ctx.locale).currencies
    loc = babel_locale(ctx.locale)
    return tuple(Option(code, _currency_label(code, loc), code) for code in codes)


def _currency_label(code: str, loc: str) -> str:
    symbol = get_currency_symbol(code, locale=loc)
    return code if symbol == code else f"{symbol} {code}"


def _pick_currency(d: Dispute, value: str, ctx: Context) -> bool:
    # Any language's currency: the buttons are the buyer's language's (the language may change meanwhile).
    if not any(value in lang.currencies for lang in LANGUAGES.values()):
        return False
    d.currency = value
    return True


def _parse_currency(d: Dispute, text: str, ctx: Context) -> None:
    d.currency = parse_currency(text, ctx.locale)


def _amount_prompt(d: Dispute) -> str:
    if d.wants_return():
        return N_("A return means a full refund: tap “Full refund”. (For a partial refund you keep the item: "
                  "go back and pick “Refund only”.)")
    return N_("How much do you ask for? Tap “Full refund”, or type a smaller amount, like {example}.")


def _amount_options(d: Dispute, ctx: Context) -> tuple[Option, ...]:
    if d.price() is not None:
        return (Option(FULL_REFUND, N_("💯 Full refund: {total}"), ""),)
    return (Option(FULL_REFUND, N_("💯 Full refund"), ""),)


def _pick_amount(d: Dispute, value: str, ctx: Context) -> bool:
    if value != FULL_REFUND:
        return False
    d.set_amount(None)
    return True


def _parse_amount(d: Dispute, text: str, ctx: Context) -> None:
    try:
        money = parse_amount(text, ctx.locale, maximum=d.price())
    except InputError as e:
        if e.code == "above_total" and d.several_items:
            raise InputError("above_item_price", **e.params) from None  # one dispute per product
        raise
    if money.currency and d.currency and money.currency != d.currency:
        raise InputError("currency_mismatch")
    if d.wants_return() and money.amount != d.price():
        raise InputError("return_is_full_refund")  # a return means a full refund: docs/rules.md
    if d.currency is None:
        d.currency = money.currency or ctx.currency or ctx.policy.currency_for(ctx.locale)
    d.set_amount(money.amount)


def _amount_recap(d: Dispute) -> Recap:
    amount = d.refund_amount()
    if amount is None:
        return (N_("full refund {money}") if d.refund_full else N_("partial refund {money}")), {"money": ""}
    return (N_("full refund {money}") if d.refund_full else N_("partial refund {money}")), {"money": amount}


# Other order facts ------------------------------------------------------------------------------------

def _parse_order_number(d: Dispute, text: str, ctx: Context) -> None:
    d.set_order_number(parse_order_number(text))


def _parse_item_name(d: Dispute, text: str, ctx: Context) -> None:
    d.item_name = _clean_line(text, ITEM_NAME_MAX, "item_name_length")
    d.unknown.discard("item_name")


def _pick_shipped(d: Dispute, value: str, ctx: Context) -> bool:
    day = _days_ago(value, ctx) if value in ("d0", "d1", "d7") else None
    if day is None:
        return False
    d.set_shipped_on(day)
    return True


def _parse_shipped(d: Dispute, text: str, ctx: Context) -> None:
    d.set_shipped_on(parse_date(text, ctx.locale, today=ctx.today))


def _parse_protection(d: Dispute, text: str, ctx: Context) -> None:
    try:
        d.set_protection_ends_on(ctx.today + timedelta(days=parse_days_left(text)))
    except InputError:
        d.set_protection_ends_on(parse_date(text, ctx.locale, today=ctx.today, allow_future=True))


def _pick_done(d: Dispute, value: str, ctx: Context) -> bool:
    if value != DONE:
        return False
    d.finish_evidence()
    return True


# --- the table ---------------------------------------------------------------------------------------

STEPS: tuple[Step, ...] = (
    Step("reason", N_("Problem"), Kind.CHOICE, _const(N_("What went wrong with your order?")),
         is_answered=lambda d: d.reason is not None,
         options=lambda d, c: REASONS, pick=lambda d, v, c: d.choose("reason", v),
         recap=_recap_option(REASONS, lambda d: d.reason)),
    Step("received", N_("Received"), Kind.CHOICE,
         _const(N_("Have you received the item? AliExpress's form asks this first.")),
         is_answered=lambda d: d.received is not None, shows=lambda d: not d.reason_settles_receipt(),
         options=lambda d, c: RECEIVED, pick=_pick_received, columns=2,
         recap=_recap_option(RECEIVED, lambda d: None if d.received is None else ("yes" if d.received else "no"))),
    Step("tracking", N_("Tracking"), Kind.CHOICE,
         _const(N_("What does the tracking on the order page show now?")),
         is_answered=lambda d: d.tracking is not None, shows=_not_received,
         options=lambda d, c: TRACKING, pick=lambda d, v, c: d.set_tracking(v),
         recap=_recap_option(TRACKING, lambda d: d.tracking)),
    Step("stalled_since", N_("No updates since"), Kind.TEXT,
         _const(N_("Since when has the tracking shown no new update? Tap a button or type the date of the "
                   "last update, like {example}.")),
         is_answered=_known("stalled_since", lambda d: d.stalled_since),
         shows=lambda d: _not_received(d) and d.tracking == "stalled", skippable=True, example="date",
         options=lambda d, c: (Option("d7", N_("A week ago"), ""), Option("d14", N_("2 weeks ago"), ""),
                               Option("d30", N_("A month ago"), "")),
         columns=3, pick=_pick_date("stalled_since"), parse=_parse_past("stalled_since"),
         recap=_date_recap("stalled_since"), facts={"stalled_since": "date"}),
    Step("eta", N_("Estimated delivery"), Kind.TEXT,
         _const(N_("What estimated delivery date does the order page show? Type it like {example}, "
                   "or tap “I don't know”.")),
         is_answered=_known("eta", lambda d: d.eta),
         shows=lambda d: _not_received(d) and d.tracking in ("moving", "stalled"), skippable=True,
         example="date", parse=_parse_eta, recap=_date_recap("eta"), facts={"eta": "date"}),
    Step("defect", N_("What's wrong"), Kind.CHOICE,
         _const(N_("What exactly is wrong? Pick the closest match: the form has the same list.")),
         is_answered=lambda d: d.defect is not None, shows=_received,
         options=lambda d, c: defects_for(d.reason), pick=lambda d, v, c: d.choose("defect", v), columns=2,
         recap=_recap_option(DEFECTS, lambda d: d.defect)),
    Step("detail", N_("Details"), Kind.TEXT,
         lambda d: _DETAIL_PROMPTS.get(d.defect or "", _DETAIL_DEFAULT),
         is_answered=_known("detail", lambda d: d.detail), shows=_received,
         skippable=True, parse=_parse_detail, recap=lambda d: _text(d.detail),
         facts={"detail": "str", "detail_lang": "str"}),
    Step("solution", N_("Solution"), Kind.CHOICE,
         _const(N_("What do you want?\n"
                   "• <b>Refund only</b>: you keep the item and get money back.\n"
                   "• <b>Return and refund</b>: you send the item back, then get the refund.")),
         is_answered=lambda d: d.solution is not None, shows=_received,
         options=lambda d, c: SOLUTIONS, pick=lambda d, v, c: d.choose("solution", v),
         recap=_recap_option(SOLUTIONS, lambda d: d.solution)),
    Step("order_number", N_("Order number"), Kind.TEXT,
         _const(N_("What is the order number? It is in My Orders → the order → Order details. "
                   "Type it, or tap “I don't know”.")),
         is_answered=_known("order_number", lambda d: d.order_number), skippable=True,
         parse=_parse_order_number, recap=lambda d: _text(d.order_number)),
    Step("order_total", N_("Order total"), Kind.TEXT,
         _const(N_("How much did you pay for the whole order? For example: {example}\n"
                   "Several items in the order? Tap “Several items”: one dispute covers one product.")),
         is_answered=lambda d: "order_total" in d.unknown or d.order_total is not None or d.several_items,
         skippable=True, example="amount", options=_total_options, pick=_pick_total, parse=_parse_total,
         recap=_total_recap, columns=2, facts={"several_items": "bool", "currency_given": "bool"}),
    Step("item_name", N_("Item in dispute"), Kind.TEXT,
         _const(N_("Which item of the order is the dispute about? Type its name in a few words, "
                   "as on the order page.")),
         is_answered=_known("item_name", lambda d: d.item_name), shows=lambda d: d.several_items,
         skippable=True, parse=_parse_item_name, recap=lambda d: _text(d.item_name), facts={"item_name": "str"}),
    Step("item_price", N_("Item price"), Kind.TEXT,
         _const(N_("What did you pay for that item? The refund can't be more than its price. "
                   "For example: {example}")),
         is_answered=_known("item_price", lambda d: d.item_price), shows=lambda d: d.several_items,
         skippable=True, example="amount", parse=_parse_item_price,
         recap=lambda d: ("{money}", {"money": d.item_price}) if d.item_price is not None else None,
         facts={"item_price": "decimal"}),
    Step("currency", N_("Currency"), Kind.TEXT,
         _const(N_("Which currency did you pay in? The order page shows it next to the price.")),
         is_answered=lambda d: d.currency is not None,
         shows=lambda d: d.price() is not None and not d.currency_given,
         options=_currency_options, pick=_pick_currency, parse=_parse_currency, columns=2,
         recap=lambda d: _text(d.currency)),
    Step("shipped_on", N_("Shipping date"), Kind.TEXT,
         _const(N_("When did the seller ship the order? Tap a button or type the date, like {example}.")),
         is_answered=_known("shipped_on", lambda d: d.shipped_on), skippable=True, example="date",
         options=lambda d, c: (Option("d0", N_("Today"), ""), Option("d1", N_("Yesterday"), ""),
                               Option("d7", N_("A week ago"), "")),
         columns=3, pick=_pick_shipped, parse=_parse_shipped, recap=_date_recap("shipped_on")),
    Step("protection", N_("Buyer Protection"), Kind.TEXT,
         _const(N_("How long is left on the Buyer Protection timer? It is on the order's page.\n"
                   "Type the days left (for example 23) or the end date (like {example}).")),
         is_answered=_known("protection", lambda d: d.protection_ends_on), skippable=True, example="date",
         parse=_parse_protection,
         recap=lambda d: (N_("ends {date}"), {"date": d.protection_ends_on}) if d.protection_ends_on else None),
    # Not received is a full refund (the form asks no amount): the step is only for a received item.
    Step("amount", N_("Refund"), Kind.TEXT, _amount_prompt,
         is_answered=lambda d: d.refund_full or d.amount is not None, shows=_received, example="amount",
         options=_amount_options, pick=_pick_amount, parse=_parse_amount, recap=_amount_recap),
    Step("evidence", N_("Evidence"), Kind.EVIDENCE, _const(""),
         is_answered=lambda d: d.evidence_done,
         options=lambda d, c: (Option(DONE, N_("✅ Done"), ""),), pick=_pick_done,
         facts={"include_notes": "bool"}),
)

STEP: dict[str, Step] = {s.name: s for s in STEPS}
NAMES: tuple[str, ...] = tuple(STEP)
# Facts the table adds to a dispute, stored together (bot/storage/records.py): field -> "str" | "date" | "bool".
FACTS: dict[str, str] = {name: kind for s in STEPS for name, kind in s.facts.items()}


def toggle_notes(d: Dispute, value: str) -> bool:
    """The summary's one answer button: the buyer's notes go into the explanation, or out again."""
    if d.state != "summary" or value != NOTES:
        return False
    d.include_notes = not d.include_notes
    return True


def path(d: Dispute) -> list[str]:
    """The steps this dispute goes through, given the answers so far."""
    return [s.name for s in STEPS if s.shows(d)]


@cache
def most_steps(reason: str) -> int:
    """The most questions a dispute with this reason can ask: whatever the buyer answers next (received or
    not, any tracking status, several items, a bare amount that asks the currency), never more."""
    longest = 0
    for received, tracking, several, currency_given in product(
            [o.value for o in RECEIVED], [o.value for o in TRACKING], (True, False), (True, False)):
        h = Dispute(id=0, user_id=0)
        h.choose("reason", reason)
        if STEP["received"].shows(h):
            h.choose("received", received)
        h.set_tracking(tracking)
        h.several_items, h.currency_given = several, currency_given
        h.order_total = h.item_price = Decimal(1)
        longest = max(longest, len(path(h)))
    return longest


def progress(d: Dispute) -> tuple[int, int] | None:
    """"Step N of M" for the current question, or None on the first one (the reason, which decides M).

    M is the most questions the chosen reason can ask, so it never grows while the buyer answers: it changes
    only when the buyer goes back and picks another reason. N counts the questions actually asked, so the
    last one (the evidence) may come before M."""
    steps = path(d)
    if d.reason is None or d.state not in steps or d.state == "reason":
        return None
    return steps.index(d.state) + 1, most_steps(d.reason)


def following(d: Dispute, *, back: bool = False) -> str | None:
    """The step after (or before) the dispute's state on its path; None past either end."""
    if d.state not in STEP:
        return None
    if d.editing and not back:
        # Changing one answer from the summary asks only what that change left unanswered
        # (a lower total drops a partial amount: the amount, not the dates again).
        missing = [name for name in path(d) if name != d.state and not d.answered(name)]
        if missing:
            return missing[0]
    here = NAMES.index(d.state)
    on_path = set(path(d))
    order = reversed(NAMES[:here]) if back else NAMES[here + 1:]
    return next((name for name in order if name in on_path), None)


# --- conditions the machine's table names ----------------------------------------------------------------
# transitions resolves a condition by name on the model, so each step gets its own small methods on Dispute.

def _install_conditions() -> None:
    def goes(target: str | None, back: bool) -> Callable[..., bool]:
        return lambda self, **_: following(self, back=back) == target

    conditions: dict[str, Callable[..., bool]] = {"next_is_summary": goes(None, False)}
    for name in NAMES:
        conditions[f"next_is_{name}"] = goes(name, False)
        conditions[f"back_is_{name}"] = goes(name, True)
        conditions[f"has_step_{name}"] = lambda self, _name=name, **_: _name in path(self)
    for condition, check in conditions.items():
        setattr(Dispute, condition, check)


_install_conditions()

