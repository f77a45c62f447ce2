"""The English explanation the buyer pastes into AliExpress's dispute form.

Always English, whatever the buyer's language; short and factual (DOMAIN §6).
Built only from chosen options, digits and dates, so no Chinese character can
reach it (the form refuses them); ``has_chinese`` guards anything typed.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from babel.numbers import format_decimal

from flows.choices import DEFECTS, SOLUTIONS, option
from flows.dispute import Dispute
from flows.evidence import EvidenceItem, EvidenceKind, counts

# CJK ideographs, kana, CJK and full-width punctuation.
_CHINESE = re.compile(r"[\u2e80-\u2fff\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


def has_chinese(text: str) -> bool:
    return bool(_CHINESE.search(text))


def english_money(amount: Decimal, currency: str | None) -> str:
    number = format_decimal(amount, format="#,##0.00", locale="en_US")
    return f"{number} {currency}" if currency else number


def english_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def evidence_phrase(items: list[EvidenceItem]) -> str | None:
    c = counts(items)
    parts = []
    if c[EvidenceKind.IMAGE]:
        parts.append(_plural(c[EvidenceKind.IMAGE], "photo"))
    if c[EvidenceKind.VIDEO]:
        parts.append(_plural(c[EvidenceKind.VIDEO], "video"))
    if c[EvidenceKind.FORWARD]:
        parts.append(_plural(c[EvidenceKind.FORWARD], "message") + " from my chat with the seller")
    if not parts:
        return None
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def explanation(dispute: Dispute, items: list[EvidenceItem], today: date) -> str:
    order = f"order {dispute.order_number}" if dispute.order_number else "my order"
    lines: list[str] = []
    if dispute.received is False:
        shipped = ""
        if dispute.shipped_on:
            days = (today - dispute.shipped_on).days
            shipped = f" The seller shipped it on {english_date(dispute.shipped_on)}, {_plural(days, 'day')} ago,"
            shipped += " and the tracking does not show delivery to me."
        lines.append(f"I have not received {order}.{shipped}")
    else:
        defect = option(DEFECTS, dispute.defect)
        problem = defect.english if defect else "it is not as described"
        lines.append(f"The item I received in {order} has a problem: {problem}.")
        if dispute.shipped_on:
            lines.append(f"The seller shipped it on {english_date(dispute.shipped_on)}.")

    refund = dispute.refund_amount()
    money = english_money(refund, dispute.currency) if refund is not None else None
    solution = option(SOLUTIONS, dispute.solution)
    if dispute.refund_full:
        ask = f"a full refund of {money}" if money else "a full refund"
    else:
        ask = f"a partial refund of {money}" if money else "a partial refund"
        if dispute.order_total is not None:
            ask += f" (order total {english_money(dispute.order_total, dispute.currency)})"
    if solution and solution.value == "return_and_refund":
        lines.append(f"I am ready to return the item and request {ask}.")
    else:
        lines.append(f"I request {ask}.")

    attached = evidence_phrase(items)
    if attached:
        lines.append(f"Attached: {attached}.")
    lines.append("Thank you.")
    text = " ".join(lines)
    # Defence in depth: nothing typed reaches this text, but the form rejects
    # the whole submission over a single CJK character.
    return _CHINESE.sub("", text)
