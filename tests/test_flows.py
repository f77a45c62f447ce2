"""The domain alone: machine routing, answer rules, eligibility, the English text."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal

import pytest

from flows.diagram import OUTPUT, document
from flows.dispute import Dispute
from flows.eligibility import Verdict, assess
from flows.evidence import EvidenceItem, EvidenceKind, checklist
from flows.explanation import explanation, has_chinese
from flows.machine import MACHINE, edit_events, fire
from flows.policy import Policy

TODAY = date(2026, 11, 21)


def walk(d: Dispute, *answers: tuple[str, str]) -> Dispute:
    for step, value in answers:
        assert d.state == step
        assert d.mark_unknown(step) if value == "?" else d.choose(step, value)
        assert fire(d, "next")
    return d


def test_one_machine_holds_no_models():
    # Disputes are loaded per update; the shared machine must not collect them.
    d = walk(Dispute(id=1, user_id=1), ("reason", "damaged"))
    assert MACHINE.models == [] and d.state == "received"


def test_not_received_skips_the_received_defect_and_solution_steps():
    d = walk(Dispute(id=1, user_id=1), ("reason", "not_received"))
    # Not received asks what the tracking shows, and no amount (a full refund).
    assert d.state == "tracking" and d.received is False and d.solution == "refund_only" and d.refund_full
    assert d.path() == ["reason", "tracking", "order_number", "order_total", "shipped_on", "protection", "evidence"]
    walk(d, ("tracking", "moving"))
    assert d.state == "eta" and "eta" in d.path()


def test_received_no_for_another_reason_also_skips_defect():
    d = walk(Dispute(id=1, user_id=1), ("reason", "damaged"), ("received", "no"))
    assert d.state == "tracking" and d.defect is None and d.solution == "refund_only"


def test_return_and_refund_only_when_received():
    d = walk(Dispute(id=1, user_id=1), ("reason", "not_received"))
    d.state = "solution"  # even if a stale button reached the solution step
    assert not d.choose("solution", "return_and_refund")


def test_defects_are_limited_to_the_reason():
    d = walk(Dispute(id=1, user_id=1), ("reason", "damaged"), ("received", "yes"))
    assert not d.choose("defect", "color") and d.choose("defect", "does_not_work")


def test_invalid_events_do_nothing():
    d = Dispute(id=1, user_id=1)
    assert not fire(d, "back") and not fire(d, "edit_amount") and not fire(d, "no_such_event")
    assert d.state == "reason"


def complete(d: Dispute) -> Dispute:
    for step in ("order_number", "order_total", "shipped_on", "protection"):
        d.mark_unknown(step)
        assert fire(d, "next")
    d.set_amount(None)
    fire(d, "next")
    d.finish_evidence()
    fire(d, "next")
    return d


def test_edits_from_the_summary_follow_the_conditions():
    d = complete(walk(Dispute(id=1, user_id=1), ("reason", "not_received"), ("tracking", "none")))
    assert d.state == "summary" and d.is_complete()
    assert "received" not in edit_events(d) and "defect" not in edit_events(d)
    assert "amount" not in edit_events(d)  # not received is a full refund: no amount to change
    assert fire(d, "edit_order_total") and d.editing
    assert fire(d, "back") and d.state == "summary" and not d.editing


def test_lowering_the_total_below_the_partial_amount_asks_the_amount_again():
    d = Dispute(id=1, user_id=1, order_total=Decimal("50"), currency="USD")
    d.set_amount(Decimal("40"))
    d.set_order_total(Decimal("30"), "USD")
    assert not d.answered("amount")


def _days(n: int) -> date:
    return TODAY + timedelta(days=n)


# Every threshold of docs/rules.md "Opening a dispute", on and beside its boundary.
@pytest.mark.parametrize("shipped, ends, verdict", [
    (_days(-5), None, Verdict.TOO_EARLY),
    # Day 10 / 11 after shipping: the 11th day is the first.
    (_days(-10), _days(40), Verdict.TOO_EARLY),
    (_days(-11), _days(40), Verdict.OPEN_NOW),
    # The 15-day margin: exactly 15 days left is still safe, 14 is urgent.
    (_days(-30), _days(15), Verdict.OPEN_NOW),
    (_days(-30), _days(14), Verdict.URGENT),
    # Protection end ±1 day: its last day is urgent, the day after may still allow a dispute.
    (_days(-30), _days(1), Verdict.URGENT),
    (_days(-30), TODAY, Verdict.URGENT),
    (_days(-90), _days(-1), Verdict.LAST_CHANCE),
    # End + 15 ±1 day: the last day "Open Dispute" may be there, then too late.
    (_days(-90), _days(-14), Verdict.LAST_CHANCE),
    (_days(-90), _days(-15), Verdict.LAST_CHANCE),
    (_days(-90), _days(-16), Verdict.TOO_LATE),
    # The timer ends before the first day to open: waiting loses the claim.
    (_days(-5), _days(3), Verdict.ENDS_FIRST),
    (_days(-5), _days(5), Verdict.ENDS_FIRST),
    (_days(-5), _days(6), Verdict.TOO_EARLY),   # ends on the first day itself: open that day
    (None, None, Verdict.UNKNOWN),
    (None, _days(40), Verdict.OPEN_NOW),
    # Estimated end (shipped + 60 days): never "ended", however long ago.
    (_days(-20), None, Verdict.OPEN_NOW),
    (_days(-50), None, Verdict.URGENT),
    (_days(-60), None, Verdict.URGENT),
    (_days(-61), None, Verdict.CHECK_TIMER),
    (_days(-200), None, Verdict.CHECK_TIMER),
])
def test_eligibility(shipped, ends, verdict):
    d = Dispute(id=1, user_id=1, shipped_on=shipped, protection_ends_on=ends)
    e = assess(d, Policy(), TODAY)
    assert e.verdict is verdict
    if shipped is not None:
        assert e.opens_on == shipped + timedelta(days=11)
    assert e.estimated == (ends is None and shipped is not None)
    assert e.protection_over == (verdict in (Verdict.LAST_CHANCE, Verdict.TOO_LATE))
    if ends is not None:
        assert e.dates.open_until == ends + timedelta(days=15)
        assert e.dates.safe_until == ends - timedelta(days=15)


def test_too_early_is_tight_when_the_timer_ends_within_the_margin_of_the_first_day():
    shipped = _days(-5)  # first day: _days(6)
    tight = assess(Dispute(id=1, user_id=1, shipped_on=shipped, protection_ends_on=_days(20)), Policy(), TODAY)
    roomy = assess(Dispute(id=1, user_id=1, shipped_on=shipped, protection_ends_on=_days(21)), Policy(), TODAY)
    assert tight.verdict is roomy.verdict is Verdict.TOO_EARLY
    assert tight.tight and not roomy.tight


def test_policy_values_drive_the_verdict():
    d = Dispute(id=1, user_id=1, shipped_on=TODAY - timedelta(days=8))
    assert assess(d, Policy(earliest_open_day=7), TODAY).verdict is not Verdict.TOO_EARLY


def test_explanation_is_english_and_free_of_chinese():
    d = walk(Dispute(id=1, user_id=1, order_number="8123456789012345", order_total=Decimal("1234.5"),
                     currency="RUB", shipped_on=date(2026, 10, 1)), ("reason", "not_as_described"),
             ("received", "yes"), ("defect", "color"), ("detail", "?"), ("solution", "return_and_refund"))
    d.set_amount(Decimal("600"))
    items = [EvidenceItem(EvidenceKind.IMAGE), EvidenceItem(EvidenceKind.IMAGE), EvidenceItem(EvidenceKind.VIDEO)]
    text = explanation(d, items, TODAY)
    assert text == ("The item I received in order 8123456789012345 has a problem: the color is not as described. "
                    "The seller shipped it on October 1, 2026. I am ready to return the item and request a partial "
                    "refund of 600.00 RUB (order total 1,234.50 RUB). Attached: 2 photos and 1 video. Thank you.")
    assert text.isascii() and not has_chinese(text)
    assert has_chinese("退款") and has_chinese("，") and not has_chinese("Привет, ¿qué tal? Größe")


def test_checklist_ticks_only_what_the_buyer_labelled():
    unlabelled = [EvidenceItem(EvidenceKind.IMAGE)] * 3 + [EvidenceItem(EvidenceKind.FORWARD)]
    lines = {line.requirement.key: line for line in checklist("not_as_described", unlabelled)}
    # Nothing is guessed from the order photos came in; a forward is kept, but the chat needs a screenshot.
    assert not any(line.have for line in lines.values())
    labelled = [*unlabelled, *(EvidenceItem(EvidenceKind.IMAGE, label=key) for key in
                               ("item_photos", "item_photos", "item_photos", "chat", "other"))]
    lines = {line.requirement.key: line for line in checklist("not_as_described", labelled)}
    assert lines["item_photos"].have == 2 and lines["item_photos"].done  # a third one is extra, not counted
    assert lines["chat"].done and not lines["order"].done and not lines["listing"].done  # "other" fills none


def test_flow_diagram_is_up_to_date():
    assert OUTPUT.read_text(encoding="utf-8") == document(), "run: python -m flows.diagram"


def test_flows_import_neither_aiogram_nor_the_database():
    code = ("import sys, flows.machine, flows.parsing, flows.images, flows.explanation, flows.eligibility;"
            "bad = [m for m in ('aiogram', 'aiosqlite', 'sqlite3', 'bot') if m in sys.modules];"
            "print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
