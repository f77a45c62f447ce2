"""The intake step table (flows/steps.py): tracking status, details, several items, currency, labels.

Domain tests on the table and the explanation, the hidden-path property over many combinations of answers,
and the new steps through the real Dispatcher in all four languages, typed as a buyer would.
"""
from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from flows.choices import DEFECTS, TRACKING, defects_for
from flows.dispute import Dispute
from flows.eligibility import Verdict, assess
from flows.evidence import EvidenceItem, EvidenceKind, checklist, requirements_for
from flows.explanation import (ENGLISH, EXPLANATION_MAX, english_date, english_money, explanation, has_chinese,
                               shows)
from flows.parsing import InputError
from flows.policy import Policy
from flows.steps import SEVERAL, STEP, Context, most_steps, path, progress
from testkit.answer_paths import walk_all
from testkit.chat import ChatUser
from testkit.intake import walk
from testkit.phone import over_budget

TODAY = date(2026, 11, 21)
LANGS = ("en", "ru", "es", "de")


def _days(n: int) -> date:
    return TODAY + timedelta(days=n)


# --------------------------------------------------------------------------------------------
# The verdict, the checklist and the explanation follow the tracking status
# --------------------------------------------------------------------------------------------
def not_received(tracking: str, **facts) -> Dispute:
    d = Dispute(id=1, user_id=1, order_number="8123456789012345", order_total=Decimal("25.90"), currency="USD",
                shipped_on=_days(-30), protection_ends_on=_days(40), **facts)
    d.choose("reason", "not_received")
    assert d.set_tracking(tracking)
    return d


def test_tracking_status_changes_the_verdict():
    policy = Policy()
    # Moving normally, the estimated delivery ahead: wait for it.
    waiting = assess(not_received("moving", eta=_days(5)), policy, TODAY)
    assert waiting.verdict is Verdict.WAIT_DELIVERY and waiting.eta == _days(5)
    # ... unless waiting eats into the protection margin: then open while it is safe.
    short = not_received("moving", eta=_days(30))  # protection ends in 40 days, safe until day 25
    assert assess(short, policy, TODAY).verdict is Verdict.OPEN_NOW
    # The estimate passed, or the parcel isn't moving: open now.
    assert assess(not_received("moving", eta=_days(-1)), policy, TODAY).verdict is Verdict.OPEN_NOW
    assert assess(not_received("stalled", eta=_days(5)), policy, TODAY).verdict is Verdict.OPEN_NOW
    # No tracking yet: Policy.tracking_lag_days (7) after shipping before an invalid number means anything.
    fresh = not_received("none")
    fresh.shipped_on = _days(-3)
    assert assess(fresh, policy, TODAY).lag_until == _days(4)
    assert assess(not_received("none"), policy, TODAY).lag_until is None
    assert assess(fresh, Policy(tracking_lag_days=2), TODAY).lag_until is None


@pytest.mark.parametrize("tracking, key", [
    ("delivered", "carrier_statement"), ("customs", "customs_document"), ("returned", "return_tracking"),
    ("none", "invalid_tracking"), ("moving", None), ("stalled", None),
])
def test_the_checklist_follows_the_tracking_status(tracking, key):
    keys = [line.requirement.key for line in checklist("not_received", [], tracking)]
    assert keys[0] == "tracking" and "order" in keys and "chat" in keys
    assert (key in keys) if key else len(keys) == 3


@pytest.mark.parametrize("lang", LANGS)
def test_every_tracking_status_gives_its_own_advice(lang):
    """The verdict the summary shows differs for each status (and from no status at all), in every language."""
    from bot.i18n import make_i18n
    from bot.views import verdict_text

    i18n = make_i18n()
    advice = {}
    with i18n.context(), i18n.use_locale(lang):
        for status in [o.value for o in TRACKING]:
            # Moving, and the estimated delivery date passed five days ago: open, and say why.
            d = not_received(status, eta=_days(-5) if status == "moving" else None)
            advice[status] = verdict_text(assess(d, Policy(), TODAY), lang, TODAY)
        untracked = not_received("moving")
        untracked.tracking = None
        plain_verdict = verdict_text(assess(untracked, Policy(), TODAY), lang, TODAY)
    assert len(set(advice.values())) == len(TRACKING) and plain_verdict not in advice.values()
    assert all(text.startswith(plain_verdict) for text in advice.values())  # the same verdict, its own advice
    if lang != "en":
        from tests.test_languages import leaks
        assert not [f for text in advice.values() for f in leaks(text)]


# What the explanation must say for each status (and never "does not show delivery" when it shows delivered).
STATUS_FACTS = {
    "moving": "The tracking shows the parcel in transit, but the estimated delivery date, November 16, 2026, "
              "has passed.",
    "stalled": "The tracking has shown no update since November 7, 2026 (14 days).",
    "delivered": "The tracking shows the parcel as delivered, but I have not received it.",
    "returned": "The tracking shows that the parcel was returned to the sender.",
    "customs": "The tracking shows that the parcel is held at customs.",
    "none": "The tracking number shows no information or is not valid.",
}


@pytest.mark.parametrize("tracking", [o.value for o in TRACKING])
def test_the_explanation_says_what_the_tracking_shows(tracking):
    d = not_received(tracking, eta=_days(-5) if tracking == "moving" else None,
                     stalled_since=_days(-14) if tracking == "stalled" else None)
    text = explanation(d, [EvidenceItem(EvidenceKind.IMAGE)], TODAY)
    assert STATUS_FACTS[tracking] in text
    assert "I have not received order 8123456789012345." in text and "October 22, 2026, 30 days ago" in text
    assert "a full refund of 25.90 USD" in text
    if tracking == "delivered":
        assert "does not show delivery" not in text


@pytest.mark.parametrize("reason", ["not_as_described", "damaged"])
def test_the_explanation_for_each_sub_reason_has_the_buyers_facts(reason):
    for defect in defects_for(reason):
        d = Dispute(id=1, user_id=1, order_number="8123456789012345", order_total=Decimal("40"), currency="EUR")
        assert d.choose("reason", reason) and d.choose("received", "yes") and d.choose("defect", defect.value)
        STEP["detail"].answer_text(d, "Listing: 42 cm. Arrived: 38 cm.", Context("en", TODAY))
        d.set_amount(Decimal("15"))
        text = explanation(d, [], TODAY)
        assert f"has a problem: {defect.english}." in text
        assert "Details: Listing: 42 cm. Arrived: 38 cm." in text
        assert "a partial refund of 15.00 EUR (order total 40.00 EUR)" in text


def test_a_detail_in_another_language_is_marked_as_the_buyers_words():
    d = Dispute(id=1, user_id=1)
    d.choose("reason", "not_as_described")
    d.choose("received", "yes")
    d.choose("defect", "color")
    STEP["detail"].answer_text(d, "В описании синий, пришёл зелёный", Context("ru", TODAY))
    assert d.detail_lang == "ru"
    assert "Details: in my own words in Russian: “В описании синий, пришёл зелёный”." in explanation(d, [], TODAY)
    # Spanish typed without accents is still Spanish; English typed by a Spanish speaker goes in verbatim.
    STEP["detail"].answer_text(d, "el anuncio decia azul y llego verde", Context("es", TODAY))
    assert d.detail_lang == "es"
    STEP["detail"].answer_text(d, "The listing said blue, it arrived green", Context("es", TODAY))
    assert d.detail_lang == "en" and "Details: The listing said blue, it arrived green." in explanation(d, [], TODAY)


def test_several_items_cap_the_amount_by_the_items_price():
    d = Dispute(id=1, user_id=1, state="order_total")
    d.choose("reason", "damaged")
    d.choose("received", "yes")
    ctx = Context("en", TODAY)
    assert STEP["order_total"].answer_button(d, SEVERAL, ctx) and d.several_items
    STEP["item_name"].answer_text(d, "Blue rain jacket, size L", ctx)
    STEP["item_price"].answer_text(d, "$18.40", ctx)
    assert d.price() == Decimal("18.40") and d.currency == "USD"
    with pytest.raises(InputError) as too_much:
        STEP["amount"].answer_text(d, "20", ctx)
    assert too_much.value.code == "above_item_price"
    STEP["amount"].answer_text(d, "10", ctx)
    text = explanation(d, [], TODAY)
    assert "The dispute is about one item of the order: Blue rain jacket, size L." in text
    assert "a partial refund of 10.00 USD (item price 18.40 USD)" in text


def test_the_explanation_stays_under_the_limit_and_free_of_cjk():
    d = Dispute(id=1, user_id=1, order_number="8123456789012345", order_total=Decimal("1234.5"), currency="RUB",
                shipped_on=_days(-20), several_items=True, item_name="Очень длинное название товара " * 2,
                item_price=Decimal("1000"))
    d.choose("reason", "not_as_described")
    d.choose("received", "yes")
    d.choose("defect", "size")
    d.detail, d.detail_lang = "слишком маленький размер " * 8, "ru"
    d.include_notes = True
    notes = [EvidenceItem(EvidenceKind.NOTE, text="Продавец не отвечает уже неделю. " * 10) for _ in range(5)]
    text = explanation(d, notes, TODAY)
    assert len(text) <= EXPLANATION_MAX and not has_chinese(text)
    assert d.detail.strip() in text  # the notes went, the detail stayed whole


# --------------------------------------------------------------------------------------------
# The hidden-path property: every combination of answers reaches the summary, with every fact
# --------------------------------------------------------------------------------------------
def facts_in(d: Dispute, text: str) -> list[str]:
    """The facts the buyer gave that the explanation lacks."""
    missing = []
    wanted = []
    if d.order_number:
        wanted.append(d.order_number)
    if d.shipped_on:
        wanted.append(english_date(d.shipped_on))
    if d.received is False:
        if d.tracking == "moving" and d.eta:
            wanted.append(english_date(d.eta))
        if d.tracking == "stalled" and d.stalled_since:
            wanted.append(english_date(d.stalled_since))
        wanted.append({"moving": "in transit", "stalled": "no update", "delivered": "as delivered",
                       "returned": "returned to the sender", "customs": "held at customs",
                       "none": "no information"}[d.tracking])
        if d.tracking == "delivered" and "does not show delivery" in text:
            missing.append("'does not show delivery' although the tracking shows delivery")
    else:
        defect = next(o for o in DEFECTS if o.value == d.defect)
        wanted.append(defect.english)
        if d.detail:
            wanted.append(d.detail.rstrip("."))
    if d.several_items and d.item_name:
        wanted.append(d.item_name)
    refund = d.refund_amount()
    if refund is not None:
        wanted.append(english_money(refund, d.currency))
    if d.wants_return():
        wanted.append("return the item")
    missing += [w for w in wanted if w not in text]
    return missing


NOTE = "The seller stopped answering on November 12"


def labelled_evidence(d: Dispute) -> list[EvidenceItem]:
    """One upload labelled for each checklist line, a forwarded seller message and a typed note."""
    lines = requirements_for(*d.evidence_case())
    return [*(EvidenceItem(kind=next(iter(r.accepts)), label=r.key, id=n) for n, r in enumerate(lines, 1)),
            EvidenceItem(kind=EvidenceKind.FORWARD, text="ok", id=90), EvidenceItem(kind=EvidenceKind.NOTE, text=NOTE, id=91)]


def test_every_combination_of_answers_reaches_the_summary_with_every_fact():
    disputes = [walk.dispute for walk in walk_all(random.Random(11), 100_000, defects=None, every_currency=True)]
    assert len(disputes) >= 15_000
    problems = []
    seen = set()
    for d in disputes:
        assert d.is_complete() and all(step in path(d) for step in ("reason", "evidence"))
        seen.add((d.reason, d.received, d.tracking, d.several_items, d.solution, d.defect, d.currency))
        text = explanation(d, [], TODAY)
        if len(text) > EXPLANATION_MAX or has_chinese(text):
            problems.append(("limit", len(text)))
        if missing := facts_in(d, text):
            problems.append((d.reason, d.tracking, d.defect, missing, text))
        # The same answers with evidence: every upload named by its label, the note the buyer let in.
        items = labelled_evidence(d)
        with_evidence = explanation(replace(d, include_notes=True), items, TODAY)
        wanted = [shows(i.label, 1, ENGLISH.ngettext) for i in items if i.label] + [f"My notes: {NOTE}."]
        if missing := [w for w in wanted + facts_in(d, "") if w not in with_evidence]:
            problems.append(("evidence", d.reason, d.tracking, missing, with_evidence))
        if len(with_evidence) > EXPLANATION_MAX:
            problems.append(("limit with evidence", len(with_evidence)))
    assert not problems, problems[:3]
    # Every reason, status, sub-reason, solution and currency button was walked.
    assert {s[2] for s in seen} >= {o.value for o in TRACKING}
    assert {s[0] for s in seen} == {"not_received", "not_as_described", "damaged"}
    assert {(s[0], s[5]) for s in seen if s[5]} == {(r, o.value) for r in ("not_as_described", "damaged")
                                                   for o in defects_for(r)}
    assert {s[3] for s in seen} == {True, False} and {s[4] for s in seen} >= {"refund_only", "return_and_refund"}
    assert {s[6] for s in seen} >= {"USD", "GBP", "CAD", "AUD", "EUR"}


# --------------------------------------------------------------------------------------------
# "Step N of at most M": M never changes while the buyer answers
# --------------------------------------------------------------------------------------------
def test_the_step_counter_keeps_its_promise_on_every_path():
    """Along every way through the intake (every reason, received or not, every tracking status, skips,
    several items, a bare amount that asks the currency) M is the same on every question, N rises by one,
    and the last question is at most M. The reason question, which decides M, shows no counter."""
    walks = walk_all(random.Random(11), 100_000, visit=progress)
    assert len(walks) >= 4_000
    longest: dict[str, int] = {}
    for way in walks:
        first, *counted = way.seen
        assert first is None
        assert [n for n, _ in counted] == list(range(2, len(counted) + 2)), way.seen
        totals = {m for _, m in counted}
        assert len(totals) == 1, way.seen
        assert counted[-1][0] <= counted[-1][1]
        longest[way.dispute.reason] = max(longest.get(way.dispute.reason, 0), counted[-1][0])
    # M is no wider than it has to be: some way through asks exactly M questions.
    assert longest == {reason: most_steps(reason) for reason in longest} and len(longest) == 3


COUNTER = {"en": "Step {n} of at most {m}", "ru": "Шаг {n} (всего не более {m})",
           "es": "Paso {n} de {m} como máximo", "de": "Schritt {n} von höchstens {m}"}


@pytest.mark.parametrize("lang", LANGS)
async def test_the_step_counter_changes_only_when_the_buyer_changes_an_answer(harness, lang):
    user = harness.user(8300 + LANGS.index(lang), language_code=lang)
    await user.send("/start")
    replies = await user.choose("new")
    assert COUNTER[lang].split("{n}")[0] not in user.texts(replies)  # the reason decides M: no counter yet
    replies = await user.choose("damaged")
    assert COUNTER[lang].format(n=2, m=14) in user.texts(replies)
    # "No": the tracking questions come instead of the defect ones, M stays.
    replies = await user.choose("no")
    assert COUNTER[lang].format(n=3, m=14) in user.texts(replies)
    replies = await user.choose("moving")  # the estimated delivery date is asked too: still of 14
    assert COUNTER[lang].format(n=4, m=14) in user.texts(replies)
    # Back to the reason, and another one picked: now M may change.
    for _ in range(3):
        await user.choose("back")
    replies = await user.choose("not_received")
    assert COUNTER[lang].format(n=2, m=12) in user.texts(replies)
    assert (await harness.store.focused_dispute(user.id)).state == "tracking"


# --------------------------------------------------------------------------------------------
# Labels fit a phone, and the sub-reasons use the form's own words
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_every_keyboard_label_fits_a_phone(lang):
    from bot.i18n import make_i18n
    from bot.views import ROW_LABEL_MAX, question, summary_keyboard

    i18n = make_i18n()
    too_long = []
    with i18n.context(), i18n.use_locale(lang):
        for reason in ("not_received", "not_as_described", "damaged"):
            for tracking in [o.value for o in TRACKING] if reason == "not_received" else [None]:
                d = Dispute(id=1, user_id=1, order_total=Decimal("25.90"), currency="EUR")
                d.choose("reason", reason)
                if reason != "not_received":
                    d.choose("received", "yes")
                    d.choose("defect", defects_for(reason)[0].value)
                else:
                    d.set_tracking(tracking)
                for step in path(d):
                    d.state = step
                    markups = [question(d, [], locale=lang, today=TODAY).markup]
                    for markup in markups:
                        for row in markup.inline_keyboard:
                            for b in row:
                                if (len(row) > 1 and len(b.text) > ROW_LABEL_MAX) or len(b.text) > 40:
                                    too_long.append((step, len(row), b.text))
                d.state, d.several_items = "summary", True
                for row in summary_keyboard(d).inline_keyboard:
                    too_long += [("summary", len(row), b.text) for b in row
                                 if (len(row) > 1 and len(b.text) > ROW_LABEL_MAX) or len(b.text) > 40]
        # "What does it show?" after a photo and for an album: two labels a row, so each fits half a phone.
        from aiogram.utils.i18n import gettext
        from flows.evidence import SHORT_LABELS
        too_long += [("label", 2, gettext(text)) for text in [*SHORT_LABELS.values(), "🔀 Different things"]
                     if len(gettext(text)) > ROW_LABEL_MAX]
    assert not too_long, too_long


def test_sub_reason_buttons_use_the_forms_words():
    assert all(o.label == o.form for o in DEFECTS)
    assert "Damaged in transit" in {o.label for o in DEFECTS}
    assert {"wrong_item", "counterfeit", "missing_parts", "short_quantity", "empty_parcel"} <= {o.value for o in DEFECTS}


# --------------------------------------------------------------------------------------------
# Through the real Dispatcher, in four languages
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
async def test_the_form_steps_name_the_sub_reason_as_its_button_did(harness, lang):
    """"Pick this in the form" uses the button's own words; the ru/es/de wording of the form is the bot's
    (no public source gives it, docs/rules.md), so the English name stands beside it."""
    user = harness.user(8400 + LANGS.index(lang), language_code=lang)
    await walk(user, to="defect", reason="damaged", received="yes")
    button = next(text for text, data in user.last_with_buttons().buttons() if data.endswith(":damaged_in_transit"))
    summary = (await walk(user, to="summary", new=False, defect="damaged_in_transit", detail="?",
                          solution="refund_only", order_number="8123456789012345",
                          order_total="$25.90" if lang == "en" else "25,90 EUR",
                          shipped_on="11/1/2026" if lang == "en" else "1/11/2026" if lang == "es" else "01.11.2026",
                          protection="30", amount="full", evidence="done"))[-2].text
    assert button == "Damaged in transit" or lang != "en"
    # The recap and "what is wrong" say the button's words; in ru/es/de the English name stands beside them once.
    assert summary.count(button) == 2
    assert summary.count("Damaged in transit") == (2 if lang == "en" else 1)


# (status button, since-when typed, estimated delivery typed, bare total, currency, what the summary shows)
CHAT = {
    "en": ("No updates", "11/7/2026", "11/16/2026", "25.90", "GBP", "£25.90", "Held at customs"),
    "ru": ("Давно без обновлений", "07.11.2026", "16.11.2026", "2 590", "KZT", "2 590,00 KZT", "Задержана на таможне"),
    "es": ("Sin novedades", "7/11/2026", "16/11/2026", "25,90", "MXN", "25,90 MXN", "Retenido en aduana"),
    "de": ("Länger keine Updates", "07.11.2026", "16.11.2026", "25,90", "CHF", "25,90 CHF", "Beim Zoll festgehalten"),
}
DETAIL_TYPED = {
    "en": "Listing: dark blue. Arrived: light grey.",
    "ru": "В описании тёмно-синий, пришёл светло-серый",
    "es": "El anuncio decía azul oscuro, llegó gris claro",
    "de": "Im Angebot dunkelblau, angekommen hellgrau",
}
ITEM_TYPED = {"en": "Blue rain jacket", "ru": "Синяя куртка", "es": "Chaqueta azul", "de": "Blaue Regenjacke"}
LANGUAGE_IN_ENGLISH = {"ru": "Russian", "es": "Spanish", "de": "German"}


def plain(text: str) -> str:
    return re.sub(r"[\u00a0\u202f]", " ", text)


@pytest.mark.parametrize("lang", LANGS)
async def test_not_received_with_a_stalled_tracking_in_every_language(harness, lang):
    status, since, eta, total, currency, shown, _customs = CHAT[lang]
    user = harness.user(8100 + LANGS.index(lang), language_code=lang)
    await walk(user, to="tracking", reason="not_received")
    await user.press(status)
    # since when and the estimated delivery date on the order page: typed as the buyer's dates
    await walk(user, to="order_total", new=False, stalled_since=since, eta=eta, order_number="8123456789012345")
    replies = await user.send(total)  # a bare number: which currency?
    assert any(v.endswith(f":{currency}") for _, v in replies[-1].buttons())
    replies = await walk(user, to="summary", new=False, currency=currency, shipped_on=since, protection="30",
                         evidence="done")
    summary, english = plain(replies[-2].text), replies[-1].text
    assert shown in summary
    # On a phone: the first screen holds the verdict and the taps, the recap is folded (docs/rules.md).
    assert over_budget(replies[-2].text) is None and "<blockquote expandable>" in summary
    assert "The tracking has shown no update since November 7, 2026 (14 days)." in english
    assert "The tracking shows the parcel in transit" not in english
    assert f"25.90 {currency}" in english or f"2,590.00 {currency}" in english
    d = await harness.store.focused_dispute(user.id)
    assert d.tracking == "stalled" and d.stalled_since == date(2026, 11, 7) and d.eta == date(2026, 11, 16)
    assert d.currency == currency and d.refund_full
    # The currency is remembered: the next dispute's bare number asks nothing.
    await user.send("/new")
    await user.choose("not_received")
    await user.press(_customs)
    await user.send("8123456789012345")
    replies = await user.send(total)
    assert not any(":currency:" in v for _, v in replies[-1].buttons())
    assert (await harness.store.focused_dispute(user.id)).currency == currency


@pytest.mark.parametrize("lang", LANGS)
async def test_received_with_a_detail_and_several_items_in_every_language(harness, lang):
    user = harness.user(8200 + LANGS.index(lang), language_code=lang)
    replies = await walk(user, to="solution", reason="not_as_described", received="yes", defect="color",
                         detail=DETAIL_TYPED[lang])
    pasted = user.texts(replies)
    if lang == "en":
        assert "<code>Details: Listing: dark blue. Arrived: light grey.</code>" in pasted
    else:
        assert f"in my own words in {LANGUAGE_IN_ENGLISH[lang]}: “{DETAIL_TYPED[lang]}”" in pasted
    await walk(user, to="amount", new=False, solution="refund_only", order_number="8123456789012345",
               order_total="several", item_name=ITEM_TYPED[lang], item_price="18.40 EUR" if lang != "en" else "$18.40",
               shipped_on="01.10.2026" if lang in ("ru", "de") else "10/1/2026" if lang == "en" else "1/10/2026",
               protection="30")
    replies = await user.send("25")  # more than the item's price: refused, the step stays
    assert (await harness.store.focused_dispute(user.id)).state == "amount"
    assert replies[0].text.startswith("⚠️") and "18" in replies[0].text
    await user.choose("full")
    replies = await user.choose("done")
    summary, english = replies[-2].text, replies[-1].text
    assert ITEM_TYPED[lang] in summary and over_budget(summary) is None
    # What the explanation says in the buyer's language is folded under the text to copy.
    assert ("<blockquote expandable>" in english) == (lang != "en")
    assert "The dispute is about one item of the order" in english and ITEM_TYPED[lang] in english
    assert "a full refund of 18.40" in english and "the color is not as described" in english
    assert DETAIL_TYPED[lang].rstrip(".") in english
    assert not has_chinese(english)


async def test_a_chinese_detail_is_refused_and_the_step_stays(user):
    await walk(user, to="detail", reason="damaged", received="yes", defect="does_not_work")
    replies = await user.send("不能开机")
    assert "refuses Chinese characters" in ChatUser.texts(replies)
    d = await user.harness.store.focused_dispute(user.id)
    assert d.state == "detail" and d.detail is None


async def test_a_photo_is_labelled_from_the_open_checklist_lines(user, harness):
    replies = await walk(user, to="evidence", reason="not_received", tracking="delivered",
                         order_number="8123456789012345", order_total="$25.90", shipped_on="11/1/2026",
                         protection="40")
    assert "A statement from the carrier or post office" in user.texts(replies)
    replies = await user.send_photo("statement-1")
    labels = [t for t, _ in replies[-1].buttons()]
    assert labels[:5] == ["📍 Tracking history", "📄 Carrier statement", "🧾 Order page", "💬 Seller chat",
                          "➕ Something else"] and "✅ Done" in labels
    replies = await user.press("Carrier statement")
    assert user.alerts(replies) == ["Noted: 📄 Carrier statement"]
    d = await harness.store.focused_dispute(user.id)
    assert [i.label for i in await harness.store.list_evidence(d)] == ["carrier_statement"]
    # The next photo isn't offered the line the first one filled.
    replies = await user.send_photo("chat-1")
    assert "📄 Carrier statement" not in [t for t, _ in replies[-1].buttons()]
    await user.press("Seller chat")
    replies = await user.press("Done")
    summary = replies[-2].text
    assert "✅ A statement from the carrier" in summary and "✅ Screenshots of your chat" in summary
    assert "⬜ Screenshot of the tracking history" in summary  # labelled photos didn't fill it by guessing
    assert "does not show delivery" not in replies[-1].text


async def test_notes_from_the_evidence_step_are_offered_for_the_explanation(user):
    await walk(user, to="evidence", reason="not_received", tracking="customs", order_number="8123456789012345",
               order_total="$25.90", shipped_on="11/1/2026", protection="40")
    await user.send("The customs office says they never received the parcel from the seller")
    replies = await user.press("Done")
    # The offer sits with the explanation, above its "Add my notes" button, not on the summary's screen.
    assert "You wrote 1 note" in replies[-1].text and "My notes" not in replies[-1].text
    assert "You wrote" not in replies[-2].text
    replies = await user.press("Add my notes")
    english = replies[-1].text
    assert "You wrote 1 note" not in english
    assert "My notes: The customs office says they never received the parcel from the seller." in english
    assert "Remove my notes" in [t for t, _ in replies[-1].buttons()][1]
    replies = await user.press("Remove my notes")
    assert "My notes" not in replies[-1].text


# The status sentence each tracking status puts in the English text, through the Dispatcher.
STATUS_SENTENCE = {
    "moving": "The tracking shows the parcel in transit, but it has not reached me.",
    "stalled": "The tracking has shown no update for a long time.",
    "delivered": "The tracking shows the parcel as delivered, but I have not received it.",
    "returned": "The tracking shows that the parcel was returned to the sender.",
    "customs": "The tracking shows that the parcel is held at customs.",
    "none": "The tracking number shows no information or is not valid.",
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("status", [o.value for o in TRACKING])
async def test_every_tracking_status_in_every_language(harness, lang, status):
    from bot.i18n import make_i18n

    i18n = make_i18n()
    user = harness.user(8300 + LANGS.index(lang) * 10 + [o.value for o in TRACKING].index(status),
                        language_code=lang)
    replies = await walk(user, to="summary", reason="not_received", tracking=status,
                         stalled_since="?", eta="?",  # "I don't know": since when, the estimated delivery
                         order_number="8123456789012345",
                         order_total={"en": "$25.90", "ru": "25,90 ₽"}.get(lang, "25,90 €"),
                         shipped_on="01.11.2026" if lang in ("ru", "de") else "11/1/2026" if lang == "en"
                         else "1/11/2026", protection="40", evidence="done")
    summary, english = replies[-2].text, replies[-1].text
    label = next(o.label for o in TRACKING if o.value == status)
    assert i18n.gettext(label, locale=lang) in summary
    assert STATUS_SENTENCE[status] in english
    if status == "delivered":
        assert "does not show delivery" not in english
        extra = "A statement from the carrier or post office that you did not receive it"
        assert i18n.gettext(extra, locale=lang) in summary


async def test_the_currency_can_be_typed_and_a_future_update_date_is_refused(harness):
    user = harness.user(8400, language_code="es")
    await walk(user, to="stalled_since", reason="not_received", tracking="stalled")
    replies = await user.send("24/12/2026")  # in the future: a hint about the last update, the step stays
    assert "última actualización" in ChatUser.texts(replies)
    assert (await harness.store.focused_dispute(user.id)).state == "stalled_since"
    await user.send("7/11/2026")
    await user.choose("?")
    await user.send("8123456789012345")
    replies = await user.send("$ 450")  # a Spanish speaker's "$" may be pesos: asked
    assert any(v.endswith(":MXN") for _, v in replies[-1].buttons())
    replies = await user.send("libras")
    assert "No conozco esa moneda" in ChatUser.texts(replies)
    await user.send("mxn")
    d = await harness.store.focused_dispute(user.id)
    assert d.currency == "MXN" and d.state == "shipped_on" and d.order_total == Decimal("450")


async def test_a_parcel_that_never_came_gets_the_not_received_checklist_whatever_the_reason(harness):
    """"Not as described", then "No, I haven't received it": there is no item to photograph; the checklist is the
    not-received one, with what the tracking status needs."""
    user = harness.user(8500)
    replies = await walk(user, to="evidence", reason="not_as_described", received="no", tracking="delivered",
                         order_number="8123456789012345", order_total="$25.90", shipped_on="11/1/2026",
                         protection="40")
    text = replies[-1].text
    assert "Screenshot of the tracking history" in text and "A statement from the carrier or post office" in text
    assert "Clear photos of the item you received" not in text and "listing" not in text
    replies = await user.send_photo("statement")
    assert "carrier_statement" in [d.rsplit(":", 1)[-1] for _, d in replies[-1].buttons()]
    await user.choose("carrier_statement")
    replies = await user.choose("done")
    assert "Attached: 1 statement from the carrier or post office." in replies[-1].text
