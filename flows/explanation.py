"""The explanation the buyer pastes into AliExpress's dispute form.

The form gets English, whatever the buyer's language: short and factual
(docs/rules.md). The same builder, given the buyer's language, makes the copy the
buyer reads to know what they are submitting. Built only from chosen options,
digits and dates, so no Chinese character can reach it (the form refuses them);
``has_chinese`` guards anything typed.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel.lists import format_list
from babel.numbers import format_decimal

from flows.choices import DEFECTS, N_, option
from flows.dispute import Dispute
from flows.evidence import EvidenceItem, EvidenceKind, counts

# CJK ideographs, kana, CJK and full-width punctuation.
_CHINESE = re.compile(r"[\u2e80-\u2fff\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


def has_chinese(text: str) -> bool:
    return bool(_CHINESE.search(text))


def english_money(amount: Decimal, currency: str | None) -> str:
    # "25.90 USD": unambiguous for the Dispute Team, whatever the currency.
    number = format_decimal(amount, format="#,##0.00", locale="en_US")
    return f"{number} {currency}" if currency else number


def english_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


@dataclass(frozen=True)
class Language:
    """How to word and format the explanation in one language."""
    gettext: Callable[[str], str]
    ngettext: Callable[[str, str, int], str]
    date: Callable[[date], str]
    money: Callable[[Decimal, str | None], str]
    join: Callable[[list[str]], str]


ENGLISH = Language(
    gettext=lambda message: message,
    ngettext=lambda singular, plural, n: singular if n == 1 else plural,
    date=english_date,
    money=english_money,
    join=lambda parts: format_list(parts, locale="en_US"),
)


def evidence_phrase(items: list[EvidenceItem], lang: Language = ENGLISH) -> str | None:
    c, ngettext = counts(items), lang.ngettext
    parts = []
    if n := c[EvidenceKind.IMAGE]:
        parts.append(ngettext("{n} photo", "{n} photos", n).format(n=n))
    if n := c[EvidenceKind.VIDEO]:
        parts.append(ngettext("{n} video", "{n} videos", n).format(n=n))
    if n := c[EvidenceKind.FORWARD]:
        parts.append(ngettext("{n} message from my chat with the seller", "{n} messages from my chat with the seller",
                        n).format(n=n))
    return lang.join(parts) if parts else None


def explanation(dispute: Dispute, items: list[EvidenceItem], today: date, lang: Language = ENGLISH) -> str:
    _, ngettext = lang.gettext, lang.ngettext
    number = dispute.order_number
    lines: list[str] = []
    if dispute.received is False:
        lines.append(_("I have not received order {number}.").format(number=number) if number
                     else _("I have not received my order."))
        if dispute.shipped_on:
            days = (today - dispute.shipped_on).days
            lines.append(ngettext("The seller shipped it on {date}, {n} day ago, and the tracking does not show "
                            "delivery to me.",
                            "The seller shipped it on {date}, {n} days ago, and the tracking does not show "
                            "delivery to me.", days).format(date=lang.date(dispute.shipped_on), n=days))
    else:
        defect = option(DEFECTS, dispute.defect)
        problem = _(defect.english if defect else N_("it is not as described"))
        lines.append(_("The item I received in order {number} has a problem: {problem}.").format(
            number=number, problem=problem) if number
            else _("The item I received has a problem: {problem}.").format(problem=problem))
        if dispute.shipped_on:
            lines.append(_("The seller shipped it on {date}.").format(date=lang.date(dispute.shipped_on)))

    refund = dispute.refund_amount()
    money = lang.money(refund, dispute.currency) if refund is not None else None
    total = lang.money(dispute.order_total, dispute.currency) if dispute.order_total is not None else None
    if dispute.refund_full:
        ask = _("a full refund of {money}").format(money=money) if money else _("a full refund")
    elif total and money:
        ask = _("a partial refund of {money} (order total {total})").format(money=money, total=total)
    else:
        ask = _("a partial refund of {money}").format(money=money) if money else _("a partial refund")
    if dispute.solution == "return_and_refund":
        lines.append(_("I am ready to return the item and request {ask}.").format(ask=ask))
    else:
        lines.append(_("I request {ask}.").format(ask=ask))

    attached = evidence_phrase(items, lang)
    if attached:
        lines.append(_("Attached: {evidence}.").format(evidence=attached))
    lines.append(_("Thank you."))
    text = " ".join(lines)
    # Defence in depth for the form's copy: nothing typed reaches this text,
    # but AliExpress rejects the whole submission over one CJK character.
    return _CHINESE.sub("", text) if lang is ENGLISH else text
