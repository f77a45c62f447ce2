"""Table-driven tests for flows/guard.py: seller pressure in en/ru/es/de."""
from __future__ import annotations

import time

import pytest

from flows.guard import GuardFinding, Pressure, inspect_seller_message

CANCEL, CONFIRM = Pressure.CANCEL_DISPUTE, Pressure.CONFIRM_RECEIPT
OFF, PROMISE = Pressure.OFF_PLATFORM, Pressure.PROMISE_FOR_CANCEL
DELAY, REVIEW = Pressure.DELAY_DISPUTE, Pressure.REVIEW_FOR_REFUND

# (message, exactly the kinds it must raise)
POSITIVE = [
    # --- cancel / close / withdraw the dispute
    ("Hello friend, please cancel the dispute.", {CANCEL}),
    ("Can you close the case please", {CANCEL}),
    ("Pls withdraw ur claim, the parcel is on the way", {CANCEL}),
    ("Kindly close dispute, item will arrive soon", {CANCEL}),
    ("Please cancel the refund request, it is still in transit", {CANCEL}),
    ("HELLO DEAR, CANCEL THE DISPUTE PLZ", {CANCEL}),
    ("Dispute cancel please, item is coming", {CANCEL}),
    ("Уважаемый покупатель, пожалуйста, отмените спор. Посылка уже в пути.", {CANCEL}),
    ("Закройте спор пожалуйста, товар скоро придёт", {CANCEL}),
    ("Спор отмените, пожалуйста", {CANCEL}),
    ("Прошу снять претензию", {CANCEL}),
    ("Por favor cancela la disputa, el paquete está en camino", {CANCEL}),
    ("Amigo, cierre la disputa por favor", {CANCEL}),
    ("¿Puede retirar su reclamo?", {CANCEL}),
    ("Por favor cancele la solicitud de reembolso", {CANCEL}),
    ("Bitte schließen Sie den Streitfall, das Paket kommt bald.", {CANCEL}),
    ("Können Sie den Streitfall zurückziehen?", {CANCEL}),
    ("Bitte ziehen Sie die Reklamation zurück", {CANCEL}),
    ("Bitte den Streitfall stornieren", {CANCEL}),
    ("Bitte brechen Sie den Streit ab", {CANCEL}),
    ("bitte schliesen sie den streitfall", {CANCEL}),  # ß typed as s
    # --- confirm receipt
    ("Please confirm receipt, thank you", {CONFIRM}),
    ("Dear, pls confirm order received", {CONFIRM}),
    ("Please click confirm button on the order page", {CONFIRM}),
    ("kindly confirm that you have received the goods", {CONFIRM}),
    ("Please give confirmation of receipt", {CONFIRM}),
    ("Пожалуйста, подтвердите получение заказа", {CONFIRM}),
    ("Нажмите «Подтвердить получение»", {CONFIRM}),
    ("Подтвердите, что получили товар", {CONFIRM}),
    ("Por favor confirme la recepción del pedido", {CONFIRM}),
    ("Amigo, confirmar recibido por favor", {CONFIRM}),
    ("confirme que ha recibido el paquete", {CONFIRM}),
    ("Bitte bestätigen Sie den Erhalt der Ware", {CONFIRM}),
    ("Bitte Empfang bestaetigen", {CONFIRM}),
    ("Bestätigen Sie bitte, dass Sie die Ware erhalten haben", {CONFIRM}),
    # --- money outside the platform
    ("Send me your PayPal and I refund you", {OFF}),
    ("We can pay by Western Union", {OFF}),
    ("I can refund via bank transfer", {OFF}),
    ("give me your card number", {OFF}),
    ("we pay you in USDT crypto", {OFF}),
    ("I will transfer money via WeChat", {OFF}),
    ("We can send you a gift card", {OFF}),
    ("Переведу деньги на карту", {OFF}),
    ("Вернём деньги на киви", {OFF}),
    ("Скиньте номер карты Сбербанка", {OFF}),
    ("Te devuelvo por PayPal", {OFF}),
    ("Te hago una transferencia bancaria", {OFF}),
    ("Te devuelvo el dinero por Bizum", {OFF}),
    ("Wir zahlen Ihnen das Geld per PayPal zurück", {OFF}),
    ("Wir machen eine Überweisung, bitte senden Sie Ihre IBAN", {OFF}),
    ("Ich kann Ihnen das Geld per Ueberweisung geben", {OFF}),
    # --- a promise in exchange for cancelling (always comes with CANCEL)
    ("Dear friend, pls cancel the dispute, we will send you new one", {CANCEL, PROMISE}),
    ("I'll send you a new one if you cancel", {CANCEL, PROMISE}),
    ("Please close the dispute and we give you coupon 5$", {CANCEL, PROMISE}),
    ("Refund after you close the dispute.", {CANCEL, PROMISE}),
    ("We will re-send the item once you cancel the claim", {CANCEL, PROMISE}),
    ("Отмените спор, и мы вышлем новый товар", {CANCEL, PROMISE}),
    ("После отмены спора мы вернем вам деньги", {CANCEL, PROMISE}),
    ("Закройте спор, дадим скидку 20%", {CANCEL, PROMISE}),
    ("Por favor cancela la disputa y te enviamos otro", {CANCEL, PROMISE}),
    ("Si cancelas la disputa te damos un cupón de descuento", {CANCEL, PROMISE}),
    ("Cierre la disputa y le reembolsamos", {CANCEL, PROMISE}),
    ("Hola, cancelá la disputa porfa y le hacemos un descuento", {CANCEL, PROMISE}),
    ("Bitte schließen Sie den Streitfall, wir senden Ihnen ein neues Paket", {CANCEL, PROMISE}),
    ("Wenn Sie den Streitfall zurückziehen, bekommen Sie einen Gutschein", {CANCEL, PROMISE}),
    ("Nach Stornierung des Streitfalls erstatten wir den Betrag", {CANCEL, PROMISE}),
    # --- several kinds in one message
    ("please close dispute and we refund you by paypal", {CANCEL, PROMISE, OFF}),
    ("Уважаемый покупатель, пожалуйста, отмените спор, мы вернем деньги на карту", {CANCEL, PROMISE, OFF}),
    ("Bitte schließen Sie den Streitfall, wir erstatten per PayPal", {CANCEL, PROMISE, OFF}),
    ("Please confirm order received and cancel the dispute, then we send u a gift card",
     {CONFIRM, CANCEL, PROMISE, OFF}),
    ("Por favor confirme la recepción y cancele la disputa, le devolvemos por PayPal",
     {CONFIRM, CANCEL, PROMISE, OFF}),
    ("Подтвердите получение и закройте спор, переведу на карту", {CONFIRM, CANCEL, PROMISE, OFF}),
    ("Bitte Erhalt bestätigen und Streitfall schließen, Geld kommt per Überweisung",
     {CONFIRM, CANCEL, OFF}),
    # --- don't open a dispute / wait N more days (DOMAIN §8)
    ("please wait 15 more days. Do not open dispute", {DELAY}),
    ("Dear, don't open a dispute, we will send again", {DELAY}),
    ("Пожалуйста, подождите ещё 15 дней", {DELAY}),
    ("Не открывайте спор, мы отправим повторно", {DELAY}),
    ("Por favor espere 15 días más, no abra una disputa", {DELAY}),
    ("No abras disputa, te lo enviamos de nuevo", {DELAY}),
    ("Bitte warten Sie noch 15 Tage", {DELAY}),
    ("Bitte öffnen Sie keinen Streitfall, wir senden erneut", {DELAY}),
    # --- a good review in exchange for the money (DOMAIN §8)
    ("5 stars and we refund", {REVIEW}),
    ("Please leave positive feedback, then we will refund you 50%", {REVIEW}),
    ("Поставьте 5 звёзд и мы вернём деньги", {REVIEW}),
    ("Вернём деньги после хорошего отзыва", {REVIEW}),
    ("Deje 5 estrellas y le hacemos el reembolso", {REVIEW}),
    ("Le devolvemos el dinero después de una valoración positiva", {REVIEW}),
    ("5 Sterne und wir erstatten Ihnen das Geld", {REVIEW}),
    ("Nach einer positiven Bewertung erstatten wir den Betrag", {REVIEW}),
    # --- documented choice: negation is not understood, so a refusal is flagged too
    ("I will not cancel the dispute", {CANCEL}),
]

NEGATIVE = [
    "We have received your dispute and will reply soon.",
    "The dispute was opened on 12 May.",
    "I shipped it via DHL, tracking number LP00123456789CN",
    "Please provide photos of the damaged item.",
    "The refund will be processed by AliExpress.",
    "Thank you for your order! We will ship within 3 days.",
    "Please confirm your shipping address.",
    "We confirm receipt of your message, we are checking.",
    "Please cancel the order if you no longer need it",
    "The case for your phone is back in stock",
    "Dear friend, we will send you a new one tomorrow.",
    "Вы открыли спор, мы рассмотрим",
    "Спасибо за заказ! Отправим в течение 3 дней.",
    "Посылка на таможне, пожалуйста, подождите.",
    "Извините за плохой перевод, я использую переводчик",
    "Мы подтвердили ваш заказ",
    "hemos recibido tu disputa",
    "Gracias por su pedido, en caso de problema contáctenos",
    "El paquete está en camino, por favor espere",
    "wir prüfen den Streitfall",
    "Wir prüfen den Streitfall und melden uns zurück",
    "Der Streitfall wurde von AliExpress storniert",
    "Vielen Dank für Ihre Bestellung, auf jeden Fall senden wir morgen",
    "Wir bestätigen den Empfang Ihrer Nachricht",
    "The dispute is closed",
    "Ваш спор закрыт",
    "Мы отправим новый товар",
]


@pytest.mark.parametrize("text, kinds", POSITIVE)
def test_pressure_is_found(text, kinds):
    finding = inspect_seller_message(text)
    assert finding.kinds == frozenset(kinds)
    assert finding.alarming


@pytest.mark.parametrize("text", NEGATIVE)
def test_neutral_messages_are_quiet(text):
    finding = inspect_seller_message(text)
    assert finding.kinds == frozenset() and not finding.alarming


def test_every_kind_has_eight_examples_in_four_languages():
    for kind in Pressure:
        assert sum(kind in kinds for _, kinds in POSITIVE) >= 8, kind


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\u00a0\u202f", "...!!!"])
def test_empty_input_is_no_finding(text):
    assert inspect_seller_message(text) == GuardFinding(frozenset())


def test_finding_is_frozen_and_kinds_are_strings():
    finding = inspect_seller_message("please cancel the dispute")
    with pytest.raises(AttributeError):
        finding.kinds = frozenset()  # type: ignore[misc]
    assert {str(k) for k in finding.kinds} == {"cancel_dispute"}


NEUTRAL_10K = (" ".join(NEGATIVE) + " ") * 20
WORST_CASES = {
    "neutral": NEUTRAL_10K[:10_000],
    "one letter": "a" * 10_000,
    "verbs without objects": ("cancel close confirm send " * 500)[:10_000],
    "objects without verbs": ("спор streitfall disputa dispute " * 400)[:10_000],
    "reviews without money": ("5 stars good review 5 звезд positive feedback " * 250)[:10_000],
    "waits without days": ("please wait more do not open подождите еще " * 250)[:10_000],
    "pressure at the very end": NEUTRAL_10K[:9_974] + " please cancel the dispute",
}


@pytest.mark.parametrize("name", WORST_CASES)
def test_ten_thousand_chars_are_fast(name):
    text = WORST_CASES[name]
    assert len(text) == 10_000
    best = min(_seconds(text) for _ in range(3))  # best of 3 shields against a busy CI box
    assert best < 0.05, f"{name}: {best * 1000:.1f} ms"


def test_pressure_at_the_end_of_a_long_paste_is_still_found():
    assert CANCEL in inspect_seller_message(WORST_CASES["pressure at the very end"]).kinds


def _seconds(text: str) -> float:
    start = time.perf_counter()
    inspect_seller_message(text)
    return time.perf_counter() - start


@pytest.mark.parametrize("name", WORST_CASES)
def test_false_claim_check_of_ten_thousand_chars_is_fast(name):
    from flows.guard import asks_for_false_claim
    text = WORST_CASES[name] + " i say never arrived even though " * 10
    start = time.perf_counter()
    asks_for_false_claim(text)
    assert time.perf_counter() - start < 0.05


@pytest.mark.parametrize("text", [
    "Can I say it's a fake brand to get a refund and keep the item?",
    "how do I lie that it never arrived so I get my money back",
    "Как обмануть продавца и получить возврат денег?",
    "¿Puedo mentir que no llegó para tener reembolso?",
    "Kann ich lügen, damit ich eine Erstattung bekomme?",
])
def test_false_claim_requests_are_recognised(text):
    from flows.guard import asks_for_false_claim
    assert asks_for_false_claim(text)


@pytest.mark.parametrize("text", [
    "The item is a fake, the listing said original brand", "The seller lied about the size",
    "Я получил подделку вместо оригинала", "El vendedor mintió sobre la talla", "Es ist eine Fälschung",
    "Where is my refund?", "I want a refund",
    # Keeping the item and getting the money back is "Refund only" (DOMAIN §8), not a false claim.
    "I want to keep the item and get a full refund", "Хочу оставить товар и вернуть деньги",
    "quiero quedarme con el producto y el reembolso", "Ich will die Ware behalten und das Geld zurück",
])
def test_honest_complaints_are_not_refused(text):
    from flows.guard import asks_for_false_claim
    assert not asks_for_false_claim(text)
