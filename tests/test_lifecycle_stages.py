"""After opening, as it happens on AliExpress: the seller's refusal, a return's real stages, rulings,
appeals only after a decision against the buyer, and dates that contradict each other.

Through the real Dispatcher; texts in all four languages where the buyer reads them.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from testkit.chat import ChatUser
from tests.test_guidance import LANGS, language_user, plain, to_dates


async def opened(user: ChatUser, lang: str = "en", *, reason: str = "not_received",
                 solution: str = "refund_only", shipped: date = date(2026, 11, 1)) -> None:
    await to_dates(user, lang, shipped=shipped, protection="40", reason=reason, solution=solution)
    if reason != "not_received":  # not received: a full refund, no amount step
        await user.choose("full")
    await user.choose("done")
    await user.choose("open_on_aliexpress")
    await user.choose("d0")


def labels(user: ChatUser) -> list[str]:
    return [label for label, _ in user.last_with_buttons().buttons()]


def events(user: ChatUser) -> list[str]:
    return [data.rsplit(":", 1)[-1] for _, data in user.last_with_buttons().buttons() if data.startswith("nav:")]


async def state(harness, user: ChatUser) -> str:
    return (await harness.store.focused_dispute(user.id)).state


REFUSED = {"en": "The seller refused your request", "ru": "Продавец отклонил вашу заявку",
           "es": "El vendedor rechazó tu solicitud", "de": "Der Verkäufer hat deine Anfrage abgelehnt"}


@pytest.mark.parametrize("lang", LANGS)
async def test_the_seller_refused_says_escalate_now(harness, lang):
    user = language_user(harness, lang)
    await opened(user, lang)
    assert "seller_refused" in events(user)
    text = plain(user.texts(await user.choose("seller_refused")))
    assert REFUSED[lang] in text
    assert await state(harness, user) == "refused"
    assert {"escalate", "modify", "aliexpress_stepped_in", "withdraw"} <= set(events(user))
    await user.choose("escalate")
    assert await state(harness, user) == "escalated"


async def test_escalating_and_aliexpress_stepping_in_are_two_buttons(user, harness):
    await opened(user)
    assert "⚖️ I escalated to AliExpress" in labels(user) and "🏛 AliExpress stepped in" in labels(user)
    await user.choose("aliexpress_stepped_in")
    assert await state(harness, user) == "escalated"


async def test_the_counter_offer_screen_offers_accepting_it_not_the_seller_accepting(user, harness):
    await opened(user)
    await user.choose("seller_offer")
    assert "accept_offer" in events(user) and "seller_accepted" not in events(user)


RETURN_SENT = {"en": "Your return is on its way", "ru": "Возврат в пути",
               "es": "Tu devolución está en camino", "de": "Deine Rücksendung ist unterwegs"}
MISS_THE_DATE = {"en": "If you miss this date, the money goes to the seller.",
                 "ru": "Если не успеете, деньги получит продавец.",
                 "es": "Si se te pasa esa fecha, el dinero se lo queda el vendedor.",
                 "de": "Verpasst du die Frist, bekommt der Verkäufer das Geld."}


@pytest.mark.parametrize("lang", LANGS)
async def test_a_return_goes_agreed_shipped_confirmed_refund(harness, lang):
    user = language_user(harness, lang)
    await opened(user, lang, reason="damaged", solution="return_and_refund")
    text = plain(user.texts(await user.choose("seller_accepted")))
    assert MISS_THE_DATE[lang] in text
    assert await state(harness, user) == "return_shipping"
    text = plain(user.texts(await user.choose("item_returned")))
    assert RETURN_SENT[lang] in text and await state(harness, user) == "return_sent"
    await user.choose("seller_confirmed_return")
    assert await state(harness, user) == "refund_pending"


async def test_a_ruling_that_requires_a_return(user, harness):
    await opened(user, reason="damaged", solution="return_and_refund")
    await user.choose("escalate")
    text = user.texts(await user.choose("decision_return"))
    assert "Ship the item back by Nov 30, 2026 (in 9 days)." in text
    d = await harness.store.focused_dispute(user.id)
    assert d.state == "return_shipping" and d.decision == "return"
    assert d.return_agreed_at == datetime(2026, 11, 21, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("decision, appeal", [("decision_full", False), ("decision_partial", True),
                                              ("decision_rejected", True)])
async def test_an_appeal_is_offered_only_after_a_decision_against_the_buyer(user, harness, decision, appeal):
    await opened(user)
    await user.choose("escalate")
    text = user.texts(await user.choose(decision))
    assert ("appeal" in events(user)) is appeal
    assert ("appeal until" in text) is appeal
    d = await harness.store.focused_dispute(user.id)
    kinds = {r.kind for r in await harness.store.list_reminders(d.id, status="pending")}
    assert ("appeal" in kinds) is appeal


@pytest.mark.parametrize("reason, offered", [("not_received", True), ("damaged", False)])
async def test_goods_after_a_refund_only_when_they_had_not_arrived(user, reason, offered):
    await opened(user, reason=reason)
    await user.choose("seller_accepted")
    assert ("📦 The goods came after the refund" in labels(user)) is offered


CONTRADICTION = {"en": "By the shipping date you gave", "ru": "По дате отправки, которую вы указали",
                 "es": "Según la fecha de envío que indicaste", "de": "Nach dem Versanddatum, das du angegeben hast"}


@pytest.mark.parametrize("lang", LANGS)
async def test_an_opening_day_before_the_first_possible_one_is_questioned(harness, lang):
    user = language_user(harness, lang)
    # Shipped Nov 14: a dispute can be opened from Nov 25, next week.
    await to_dates(user, lang, shipped=date(2026, 11, 14), protection="40")
    await user.choose("done")
    await user.choose("open_on_aliexpress")
    text = plain(user.texts(await user.choose("d1")))
    assert CONTRADICTION[lang] in text
    assert await state(harness, user) == "opening"
    await user.choose("reopen_question")  # "Another day": the question again
    assert await state(harness, user) == "opening" and "d0" in [d.rsplit(":", 1)[-1] for _, d in
                                                                user.last_with_buttons().buttons()]
    await user.choose("d1")
    await user.press("✅")  # "Yes, it's open"
    d = await harness.store.focused_dispute(user.id)
    assert d.state == "negotiating" and d.opened_at.date() == date(2026, 11, 20)


async def test_a_typed_opening_day_is_questioned_too(user, harness):
    await to_dates(user, "en", shipped=date(2026, 11, 14), protection="40")
    await user.choose("done")
    await user.choose("open_on_aliexpress")
    text = user.texts(await user.send("11/19/2026"))
    assert "You opened it on Nov 19, 2026?" in text and "is Nov 25, 2026" in text
    assert await state(harness, user) == "opening"


async def test_an_opening_day_after_the_first_possible_one_is_taken_at_once(user, harness):
    await opened(user)  # shipped Nov 1, first day Nov 12, opened today (Nov 21)
    assert await state(harness, user) == "negotiating"


# --- /disputes: each dispute as the buyer knows it ----------------------------------------------------

DISPUTES = {  # (reason label, stage in words, next deadline's title, its date)
    "en": ("Item not received", "Waiting for the seller", "The seller's time to answer the dispute ends",
           "in 5 days (Nov 26, 2026)"),
    "ru": ("Товар не получен", "Ждём ответа продавца", "Истекает срок ответа продавца по спору",
           "через 5 дней (26 нояб. 2026 г.)"),
    "es": ("Artículo no recibido", "Esperando al vendedor",
           "Termina el plazo del vendedor para responder a la disputa", "dentro de 5 días (26 nov 2026)"),
    "de": ("Artikel nicht erhalten", "Warten auf den Verkäufer", "Antwortfrist des Verkäufers im Streitfall endet",
           "in 5 Tagen (26.11.2026)"),
}


@pytest.mark.parametrize("lang", LANGS)
async def test_disputes_lists_each_as_the_buyer_knows_it(harness, lang):
    from flows.machine import STATES

    other = harness.user(9000, language_code=lang)
    await other.send("/new")  # another buyer's dispute takes the first id
    user = language_user(harness, lang)
    await opened(user, lang)
    await user.send("/new")
    text = plain(user.texts(await user.send("/disputes")))
    reason, stage, deadline, when = DISPUTES[lang]
    # Numbered per buyer, newest first: the new draft #2, then the opened dispute #1.
    assert text.index("<b>#2</b>") < text.index("<b>#1</b> · 8123456789012345 · ")
    assert reason in text and stage in text and f"{deadline}: {when}" in text
    internal = [s["name"] for s in STATES if "_" in s["name"] or s["name"] == "negotiating"]
    assert not [name for name in internal if name in text]
    assert "#1" in [label for label, _ in user.last_with_buttons().buttons()][-1]


# --- /timezone and /language -------------------------------------------------------------------------

ZONE_SET = {"en": "Time zone set: Berlin (Europe/Berlin)", "ru": "Часовой пояс: Берлин (Europe/Berlin)",
            "es": "Zona horaria: Berlín (Europe/Berlin)", "de": "Zeitzone: Berlin (Europe/Berlin)"}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("typed", ["europe/berlin", "EUROPE/BERLIN", "Berlin"])
async def test_timezone_accepts_any_case_and_shows_the_city_in_the_buyers_language(harness, lang, typed):
    user = language_user(harness, lang)
    await user.send("/start")
    text = plain(user.texts(await user.send(f"/timezone {typed}")))
    assert ZONE_SET[lang].split(":")[1].strip() in text
    assert (await harness.store.get_user(user.id)).timezone == "Europe/Berlin"


async def test_timezone_buttons_are_cities_in_the_buyers_language(harness):
    user = language_user(harness, "ru")
    await user.send("/start")
    await user.send("/timezone")
    assert "Москва" in labels(user) and "Екатеринбург" in labels(user)
    replies = await user.send("/timezone москва")
    assert "Москва (Europe/Moscow)" in user.texts(replies)
    replies = await user.send("/timezone Mars/Olympus")
    assert (await harness.store.get_user(user.id)).timezone == "Europe/Moscow"


QUESTION = {"en": "What does the tracking on the order page show now?",
            "ru": "Что сейчас показывает отслеживание на странице заказа?",
            "es": "¿Qué muestra ahora el seguimiento en la página del pedido?",
            "de": "Was zeigt die Sendungsverfolgung auf der Bestellseite gerade?"}


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
async def test_language_switch_shows_the_current_question_again_in_the_new_language(harness, lang):
    user = language_user(harness, "en")
    await user.send("/start")
    await user.choose("new")
    await user.choose("not_received")
    await user.send("/language")
    replies = await user.choose(lang)
    text = plain(user.texts(replies))
    assert QUESTION[lang].split("?")[0] in text and QUESTION["en"] not in text
    assert (await harness.store.focused_dispute(user.id)).state == "tracking"


async def test_a_typed_seller_answer_is_kept_and_the_stage_buttons_come_with_it(user, harness):
    await opened(user)
    replies = await user.send("the seller refused")
    assert "Note saved" in user.texts(replies) and "tap it below" in user.texts(replies)
    assert "seller_refused" in events(user)
    await user.choose("seller_refused")
    assert await state(harness, user) == "refused"


async def test_lowering_the_total_below_the_refund_asks_only_the_amount_again(user, harness):
    await to_dates(user, "en", shipped=date(2026, 11, 1), protection="40", reason="damaged")
    await user.send("10")  # a partial refund of $10
    await user.choose("done")
    await user.choose("edit_order_total")
    replies = await user.send("$5")  # now below the refund
    d = await harness.store.focused_dispute(user.id)
    assert d.state == "amount" and d.amount is None and "How much do you ask for" in user.texts(replies)
    replies = await user.send("4")
    d = await harness.store.focused_dispute(user.id)
    assert d.state == "summary" and d.amount == 4 and d.shipped_on == date(2026, 11, 1)
