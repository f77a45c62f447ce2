"""The explanation the buyer pastes into AliExpress's dispute form.

The form gets English, whatever the buyer's language: short and factual
(docs/rules.md). The same builder, given the buyer's language, makes the copy the
buyer reads to know what they are submitting. Built only from chosen options,
digits and dates, so no Chinese character can reach it (the form refuses them);
``has_chinese`` guards anything typed.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from babel import Locale
from babel.lists import format_list
from babel.numbers import format_decimal

from flows.choices import DEFECTS, N_, option
from flows.dispute import Dispute
from flows.evidence import OTHER, EvidenceItem, EvidenceKind, counts
from flows.languages import babel_locale
from flows.steps import looks_english

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


# The longest explanation the bot writes (docs/rules.md). AliExpress's description box counts characters; the
# bot keeps its text under this limit: the buyer's notes go first, then a long detail is shortened. A detail
# (200) and an item name (60) always fit whole.
EXPLANATION_MAX = 1000


def evidence_phrase(items: list[EvidenceItem], lang: Language = ENGLISH) -> str | None:
    """What the buyer will upload to AliExpress: photos and videos, each group named by what the buyer said it
    shows, and screenshots of the seller's chat for the forwarded messages (a Telegram forward can't be uploaded)."""
    ngettext = lang.ngettext
    media = [i for i in items if i.kind in (EvidenceKind.IMAGE, EvidenceKind.VIDEO)]
    shown = Counter(i.label for i in media if i.label not in (None, OTHER))
    parts = [shows(key, n, ngettext) for key, n in shown.items()]
    rest = counts([i for i in media if i.label in (None, OTHER)])
    if n := rest[EvidenceKind.IMAGE]:
        parts.append(ngettext("{n} other photo", "{n} other photos", n).format(n=n) if shown
                     else ngettext("{n} photo", "{n} photos", n).format(n=n))
    if n := rest[EvidenceKind.VIDEO]:
        parts.append(ngettext("{n} other video", "{n} other videos", n).format(n=n) if shown
                     else ngettext("{n} video", "{n} videos", n).format(n=n))
    if any(i.kind is EvidenceKind.FORWARD for i in items) and "chat" not in shown:
        parts.append(lang.gettext("screenshots of my chat with the seller"))
    return lang.join(parts) if parts else None


def shows(key: str, n: int, ngettext: Callable[[str, str, int], str]) -> str:
    """``n`` uploads the buyer labelled with a checklist line, as the "Attached:" line names them."""
    if key == "tracking":
        text = ngettext("{n} screenshot of the tracking history", "{n} screenshots of the tracking history", n)
    elif key == "order":
        text = ngettext("{n} screenshot of the order page", "{n} screenshots of the order page", n)
    elif key == "chat":
        text = ngettext("{n} screenshot of my chat with the seller", "{n} screenshots of my chat with the seller",
                        n)
    elif key == "item_photos":
        text = ngettext("{n} photo of the item I received", "{n} photos of the item I received", n)
    elif key == "listing":
        text = ngettext("{n} screenshot of the listing", "{n} screenshots of the listing", n)
    elif key == "damage_photos":
        text = ngettext("{n} photo of the damage", "{n} photos of the damage", n)
    elif key == "video":
        text = ngettext("{n} video of the defect or the unboxing", "{n} videos of the defect or the unboxing", n)
    elif key == "carrier_statement":
        text = ngettext("{n} statement from the carrier or post office",
                        "{n} statements from the carrier or post office", n)
    elif key == "customs_document":
        text = ngettext("{n} customs document", "{n} customs documents", n)
    elif key == "return_tracking":
        text = ngettext("{n} screenshot of the tracking showing the return",
                        "{n} screenshots of the tracking showing the return", n)
    elif key == "invalid_tracking":
        text = ngettext("{n} screenshot of the carrier's site finding no such number",
                        "{n} screenshots of the carrier's site finding no such number", n)
    else:  # a label this checklist no longer has (the reason changed): counted, not named
        text = ngettext("{n} other file", "{n} other files", n)
    return text.format(n=n)


# The bot's languages named in English, marked for the buyer's own-language copy ("in my own words in …").
LANGUAGE_NAMES = (N_("English"), N_("Russian"), N_("Spanish"), N_("German"))


def language_name(code: str | None) -> str:
    """The English name of the buyer's language ("Russian"), for "in my own words"."""
    name = Locale.parse(babel_locale(code)).get_display_name("en") or str(code)
    return name.split(" (")[0]


def buyer_words(text: str, text_lang: str | None, lang: Language) -> str:
    """The buyer's own words: verbatim when English, else quoted and marked with their language."""
    text = text.strip().rstrip(".")
    if text_lang in (None, "en"):
        return text
    return lang.gettext("in my own words in {language}: “{text}”").format(
        language=lang.gettext(language_name(text_lang)), text=text)


def _words_language(text: str, locale: str) -> str:
    """"en" when the buyer's words can go into the English text verbatim, else their language."""
    return "en" if looks_english(text, locale) else locale


def _tracking_line(d: Dispute, today: date, lang: Language) -> str:
    _, ngettext = lang.gettext, lang.ngettext
    t, eta = d.tracking, d.eta
    if t == "moving":
        if eta is not None and eta < today:
            return _("The tracking shows the parcel in transit, but the estimated delivery date, {date}, has "
                     "passed.").format(date=lang.date(eta))
        if eta is not None:
            return _("The tracking shows the parcel in transit; the estimated delivery date is {date}.").format(
                date=lang.date(eta))
        return _("The tracking shows the parcel in transit, but it has not reached me.")
    if t == "stalled":
        if d.stalled_since is not None:
            days = (today - d.stalled_since).days
            return ngettext("The tracking has shown no update since {date} ({n} day).",
                            "The tracking has shown no update since {date} ({n} days).", days).format(
                date=lang.date(d.stalled_since), n=days)
        return _("The tracking has shown no update for a long time.")
    if t == "delivered":
        return _("The tracking shows the parcel as delivered, but I have not received it.")
    if t == "returned":
        return _("The tracking shows that the parcel was returned to the sender.")
    if t == "customs":
        return _("The tracking shows that the parcel is held at customs.")
    if t == "none":
        return _("The tracking number shows no information or is not valid.")
    return _("The tracking does not show delivery to me.")


def notes(items: list[EvidenceItem]) -> list[str]:
    """The buyer's typed notes (not forwarded seller messages)."""
    return [i.text.strip() for i in items if i.kind is EvidenceKind.NOTE and i.text and i.text.strip()]


def explanation(dispute: Dispute, items: list[EvidenceItem], today: date, lang: Language = ENGLISH,
                locale: str = "en") -> str:
    """The text for the form. ``locale`` is the buyer's language: their notes are marked as written in it."""
    _, ngettext = lang.gettext, lang.ngettext
    number = dispute.order_number
    head: list[str] = []
    if dispute.received is False:
        head.append(_("I have not received order {number}.").format(number=number) if number
                    else _("I have not received my order."))
        if dispute.shipped_on:
            days = (today - dispute.shipped_on).days
            head.append(ngettext("The seller shipped it on {date}, {n} day ago.",
                                 "The seller shipped it on {date}, {n} days ago.", days).format(
                date=lang.date(dispute.shipped_on), n=days))
        head.append(_tracking_line(dispute, today, lang))
    else:
        defect = option(DEFECTS, dispute.defect)
        problem = _(defect.english if defect else N_("it is not as described"))
        head.append(_("The item I received in order {number} has a problem: {problem}.").format(
            number=number, problem=problem) if number
            else _("The item I received has a problem: {problem}.").format(problem=problem))
        if dispute.shipped_on:
            head.append(_("The seller shipped it on {date}.").format(date=lang.date(dispute.shipped_on)))

    value = dispute.price()
    price = lang.money(value, dispute.currency) if value is not None else None
    if dispute.several_items:
        if dispute.item_name:
            head.append(_("The dispute is about one item of the order: {item}.").format(
                item=buyer_words(dispute.item_name, _words_language(dispute.item_name, locale), lang)))
        else:
            head.append(_("The dispute is about one item of the order."))

    refund = dispute.refund_amount()
    money = lang.money(refund, dispute.currency) if refund is not None else None
    if dispute.refund_full:
        ask = _("a full refund of {money}").format(money=money) if money else _("a full refund")
    elif price and money and dispute.several_items:
        ask = _("a partial refund of {money} (item price {total})").format(money=money, total=price)
    elif price and money:
        ask = _("a partial refund of {money} (order total {total})").format(money=money, total=price)
    else:
        ask = _("a partial refund of {money}").format(money=money) if money else _("a partial refund")
    tail: list[str] = []
    if dispute.solution == "return_and_refund":
        tail.append(_("I am ready to return the item and request {ask}.").format(ask=ask))
    else:
        tail.append(_("I request {ask}.").format(ask=ask))
    attached = evidence_phrase(items, lang)
    if attached:
        tail.append(_("Attached: {evidence}.").format(evidence=attached))
    tail.append(_("Thank you."))

    def details(text: str) -> str:
        return explanation_details(dispute, text, lang)

    def notes_line(texts: list[str]) -> str:
        joined = "; ".join(t.rstrip(".") for t in texts)
        return _("My notes: {notes}.").format(notes=buyer_words(joined, _words_language(joined, locale), lang))

    written = notes(items) if dispute.include_notes else []
    detail = dispute.detail if dispute.received else None

    def compose(detail_text: str | None, note_texts: list[str]) -> str:
        middle = ([details(detail_text)] if detail_text else []) + ([notes_line(note_texts)] if note_texts else [])
        return " ".join([*head, *middle, *tail])

    text = compose(detail, written)
    # Under the form's limit: drop notes from the last, then shorten the detail.
    while len(text) > EXPLANATION_MAX and written:
        written = written[:-1]
        text = compose(detail, written)
    if len(text) > EXPLANATION_MAX and detail:
        room = len(detail) - (len(text) - EXPLANATION_MAX) - 1
        text = compose(detail[:max(room, 20)].rstrip() + "…", [])
    # Defence in depth for the form's copy: typed text is checked for CJK before it is stored,
    # and AliExpress rejects the whole submission over one CJK character.
    return _CHINESE.sub("", text) if lang is ENGLISH else text


def explanation_details(dispute: Dispute, text: str | None = None, lang: Language = ENGLISH) -> str:
    """The sentence the buyer's detail becomes in the explanation (shown to them when they type it)."""
    return lang.gettext("Details: {details}.").format(
        details=buyer_words(text if text is not None else dispute.detail or "", dispute.detail_lang, lang))


def explanation_fits(text: str) -> bool:
    return len(text) <= EXPLANATION_MAX and not has_chinese(text)
