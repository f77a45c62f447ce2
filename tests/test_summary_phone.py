"""The summary fits a phone (docs/rules.md, "What the buyer sees"): every way through the intake, every
verdict, every language, measured as the phone shows it; and a few summaries through the real Dispatcher.

The budget: before any tap, at most SCREEN_LINES lines of PHONE_WIDTH characters (a folded part counts the
FOLDED_LINES it shows) and SCREEN_CHARS characters; the whole message at most MESSAGE_CHARS.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import timedelta
from functools import cache

import pytest

from bot.i18n import make_i18n
from bot.views import (FOLDED_LINES, PHONE_WIDTH, SCREEN_LINES, form_steps, screen_lines, summary_text,
                       verdict_parts)
from flows.choices import DEFECTS, DEFECTS_BY_REASON, defects_for
from flows.dispute import Dispute
from flows.eligibility import Eligibility, Verdict, assess
from flows.evidence import EvidenceItem, EvidenceKind
from flows.policy import Policy
from testkit.answer_paths import TODAY, walk_all
from testkit.chat import as_received
from testkit.phone import over_budget

LANGS = ("en", "ru", "es", "de")
POLICY = Policy()
# What the buyer may have sent: nothing yet, or some of everything (a file breaking the upload rules, notes).
EVIDENCE = ([], [EvidenceItem(EvidenceKind.IMAGE), EvidenceItem(EvidenceKind.IMAGE, flags={"size"}),
                 EvidenceItem(EvidenceKind.VIDEO), EvidenceItem(EvidenceKind.FORWARD, text="We can refund 2 USD."),
                 EvidenceItem(EvidenceKind.NOTE, text="The seller stopped answering on November 12.")])
# The dates that make every verdict: shipped and protection end, days from today (None: "I don't know").
SHIPPED = (None, -3, -20, -70)
PROTECTION = (None, -20, -3, 0, 5, 15, 20, 30, 60)
ETA = (None, 5)


def shape(d: Dispute) -> tuple:
    """What decides the summary's taps and recap lines besides the dates and the sub-reason."""
    return (d.reason, d.received, d.tracking, d.solution, bool(d.order_number), d.several_items, d.refund_full,
            d.detail_lang, d.currency, d.eta is not None)


@cache
def every_path() -> tuple[Dispute, ...]:
    """One dispute per shape of answers walked from the step table; the sub-reasons of each reason in turn."""
    shapes: dict[tuple, Dispute] = {}
    for walk in walk_all(random.Random(13), 100_000):
        shapes.setdefault(shape(walk.dispute), walk.dispute)
    turn = {reason: itertools.cycle(defects_for(reason)) for reason in ("not_as_described", "damaged")}
    return tuple(replace(d, defect=next(turn[d.reason]).value, unknown=set(d.unknown)) if d.received else d
                 for d in shapes.values())


def dated(d: Dispute, shipped: int | None, protection: int | None, eta: int | None) -> Dispute:
    day = {None: None} | {n: TODAY + timedelta(days=n) for n in (shipped, protection, eta) if n is not None}
    return replace(d, unknown=set(d.unknown), shipped_on=day[shipped], protection_ends_on=day[protection],
                   eta=day[eta] if d.tracking in ("moving", "stalled") else None)


def every_verdict(d: Dispute, lang: str) -> list[tuple[Dispute, Eligibility]]:
    """``d`` on the dates that give each verdict (and its notes) its longest wording in ``lang``."""
    longest: dict[tuple, tuple[int, Dispute, Eligibility]] = {}
    for shipped in SHIPPED:
        for protection in PROTECTION:
            for eta in ETA:
                on = dated(d, shipped, protection, eta)
                e = assess(on, POLICY, TODAY)
                kind = (e.verdict, e.tight, e.last_safe_day, e.estimated, e.lag_until is not None, e.days_left == 0)
                size = sum(map(len, verdict_parts(e, lang, TODAY)))
                if kind not in longest or size > longest[kind][0]:
                    longest[kind] = (size, on, e)
    return [(on, e) for _, on, e in longest.values()]


@pytest.mark.parametrize("lang", LANGS)
def test_every_summary_fits_a_phone_screen(lang):
    i18n, problems, verdicts, defects = make_i18n(), [], set(), set()
    paths = every_path()
    with i18n.context(), i18n.use_locale(lang):
        # Every way through the intake, on its own answers' dates, with and without evidence; the longest
        # taps of each reason, status and sub-reason are kept for the next part.
        longest: dict[tuple, tuple[int, Dispute]] = {}
        for d in paths:
            e = assess(d, POLICY, TODAY)
            for items in EVIDENCE:
                text = summary_text(d, items, e, locale=lang, today=TODAY)
                if problem := over_budget(text):
                    problems.append((d.reason, d.tracking, d.defect, problem))
            taps = "\n".join(form_steps(d, lang))
            for defect in defects_for(d.reason) if d.received else (None,):
                group = (d.reason, d.received, d.tracking, defect)
                if group not in longest or len(taps) > longest[group][0]:
                    longest[group] = (len(taps), replace(d, defect=defect and defect.value, unknown=set(d.unknown)))
            defects.add(d.defect)
        # Every verdict on those longest taps, with all the evidence.
        for _, d in longest.values():
            for on, e in every_verdict(d, lang):
                verdicts.add(e.verdict)
                if problem := over_budget(summary_text(on, EVIDENCE[1], e, locale=lang, today=TODAY)):
                    problems.append((e.verdict, d.reason, d.tracking, d.defect, problem))
    assert not problems, problems[:3]
    assert verdicts == set(Verdict) and defects >= {o.value for o in DEFECTS} and len(paths) >= 100
    assert len(longest) == 6 + 2 * 6 + len(DEFECTS_BY_REASON["not_as_described"]) + len(DEFECTS_BY_REASON["damaged"])


def test_a_phone_line_is_counted_as_the_phone_wraps_it():
    # 35 characters a line: 70 letters in words take two lines, 71 three; a folded part shows three lines.
    assert PHONE_WIDTH == 35 and FOLDED_LINES == 3
    assert screen_lines("<b>" + "word " * 7 + "</b>") == 1
    assert screen_lines("abcd " * 14) == 2 and screen_lines("abcd " * 14 + "x") == 3
    assert screen_lines("one\n\ntwo<blockquote expandable>" + "long line\n" * 40 + "</blockquote>") == 3 + 3


def test_what_the_buyer_does_comes_first_and_the_recap_is_folded():
    i18n = make_i18n()
    d = dated(next(d for d in every_path() if d.received and d.order_number), -20, 30, None)  # open it now
    with i18n.context(), i18n.use_locale("en"):
        text = summary_text(d, [], assess(d, POLICY, TODAY), locale="en", today=TODAY)
    received, entities = as_received(text)
    quote = next(e for e in entities if e["type"] == "expandable_blockquote")
    units = received.encode("utf-16-le")  # Telegram's offsets count UTF-16 code units
    shown = units[:2 * quote["offset"]].decode("utf-16-le")
    folded = units[2 * quote["offset"]:2 * (quote["offset"] + quote["length"])].decode("utf-16-le")
    # The verdict right under the title, the taps before the fold, the checklist and the recap inside it.
    assert shown.startswith("📋 Your dispute is ready\n✅ You can open the dispute now.")
    assert "On AliExpress\n1. Account → My Orders → " in shown and shown.rstrip().endswith("Tap Submit.")
    assert folded.startswith("Evidence checklist and your answers\n⬜") and "• Problem:" in folded
    assert "Your answers" not in shown


# A long verdict (protection ended three days ago) on the longest taps: the taps fold under their title.
def test_a_long_verdict_keeps_the_screen_by_folding_the_taps():
    i18n = make_i18n()
    d = next(d for d in every_path() if d.tracking == "delivered" and d.order_number and d.reason == "damaged")
    d = dated(d, -70, -3, None)
    for lang in LANGS:
        with i18n.context(), i18n.use_locale(lang):
            e = assess(d, POLICY, TODAY)
            text = summary_text(d, [], e, locale=lang, today=TODAY)
        assert e.verdict is Verdict.LAST_CHANCE and screen_lines(text) <= SCREEN_LINES
        # The verdict stays open; the taps fold under their title, the checklist and the answers after them.
        head, taps, rest = text.split("<blockquote expandable>")
        assert "15" in head and taps.startswith("<b>") and "1. " in taps and "</b>" in rest, lang

