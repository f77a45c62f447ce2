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
        assert d.choose(step, value)
        assert fire(d, "next")
    return d


def test_one_machine_holds_no_models():
    # Disputes are loaded per update; the shared machine must not collect them.
    d = walk(Dispute(id=1, user_id=1), ("reason", "damaged"))
    assert MACHINE.models == [] and d.state == "received"


def test_not_received_skips_the_received_defect_and_solution_steps():
    d = walk(Dispute(id=1, user_id=1), ("reason", "not_received"))
    assert d.state == "order_number" and d.received is False and d.solution == "refund_only" and d.refund_full
    assert d.path() == ["reason", "order_number", "order_total", "shipped_on", "protection", "amount", "evidence"]


def test_received_no_for_another_reason_also_skips_defect():
    d = walk(Dispute(id=1, user_id=1), ("reason", "damaged"), ("received", "no"))
    assert d.state == "order_number" and d.defect is None and d.solution == "refund_only"


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
    d = complete(walk(Dispute(id=1, user_id=1), ("reason", "not_received")))
    assert d.state == "summary" and d.is_complete()
    assert "received" not in edit_events(d) and "defect" not in edit_events(d)
    assert fire(d, "edit_amount") and d.editing
    assert fire(d, "back") and d.state == "summary" and not d.editing


def test_lowering_the_total_below_the_partial_amount_asks_the_amount_again():
    d = Dispute(id=1, user_id=1, order_total=Decimal("50"), currency="USD")
    d.set_amount(Decimal("40"))
    d.set_order_total(Decimal("30"), "USD")
    assert not d.answered("amount")


@pytest.mark.parametrize("shipped, ends, verdict", [
    (TODAY - timedelta(days=5), None, Verdict.TOO_EARLY),
    (TODAY - timedelta(days=11), TODAY + timedelta(days=40), Verdict.OPEN_NOW),
    (TODAY - timedelta(days=30), TODAY + timedelta(days=14), Verdict.URGENT),
    (TODAY - timedelta(days=30), TODAY, Verdict.URGENT),
    (TODAY - timedelta(days=90), TODAY - timedelta(days=1), Verdict.TOO_LATE),
    (None, None, Verdict.UNKNOWN),
    (TODAY - timedelta(days=20), None, Verdict.OPEN_NOW),  # estimated: shipped + 60 days
])
def test_eligibility(shipped, ends, verdict):
    d = Dispute(id=1, user_id=1, shipped_on=shipped, protection_ends_on=ends)
    e = assess(d, Policy(), TODAY)
    assert e.verdict is verdict
    if verdict is Verdict.TOO_EARLY:
        assert e.opens_on == shipped + timedelta(days=11)
    assert e.estimated == (ends is None and shipped is not None)


def test_policy_values_drive_the_verdict():
    d = Dispute(id=1, user_id=1, shipped_on=TODAY - timedelta(days=8))
    assert assess(d, Policy(earliest_open_day=7), TODAY).verdict is not Verdict.TOO_EARLY


def test_explanation_is_english_and_free_of_chinese():
    d = walk(Dispute(id=1, user_id=1, order_number="8123456789012345", order_total=Decimal("1234.5"),
                     currency="RUB", shipped_on=date(2026, 10, 1)), ("reason", "not_as_described"),
             ("received", "yes"), ("defect", "color"), ("solution", "return_and_refund"))
    d.set_amount(Decimal("600"))
    items = [EvidenceItem(EvidenceKind.IMAGE), EvidenceItem(EvidenceKind.IMAGE), EvidenceItem(EvidenceKind.VIDEO)]
    text = explanation(d, items, TODAY)
    assert text == ("The item I received in order 8123456789012345 has a problem: the color is not as described. "
                    "The seller shipped it on October 1, 2026. I am ready to return the item and request a partial "
                    "refund of 600.00 RUB (order total 1,234.50 RUB). Attached: 2 photos and 1 video. Thank you.")
    assert text.isascii() and not has_chinese(text)
    assert has_chinese("退款") and has_chinese("，") and not has_chinese("Привет, ¿qué tal? Größe")


def test_checklist_fills_slots_in_order():
    items = [EvidenceItem(EvidenceKind.IMAGE)] * 3 + [EvidenceItem(EvidenceKind.FORWARD)]
    lines = {line.requirement.key: line for line in checklist("not_as_described", items)}
    assert lines["item_photos"].done and lines["listing"].done and not lines["order"].done and lines["chat"].done


def test_flow_diagram_is_up_to_date():
    assert OUTPUT.read_text(encoding="utf-8") == document(), "run: python -m flows.diagram"


def test_flows_import_neither_aiogram_nor_the_database():
    code = ("import sys, flows.machine, flows.parsing, flows.images, flows.explanation, flows.eligibility;"
            "bad = [m for m in ('aiogram', 'aiosqlite', 'sqlite3', 'bot') if m in sys.modules];"
            "print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
