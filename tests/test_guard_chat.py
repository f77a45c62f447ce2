"""The guard through the real Dispatcher, in four languages: what the buyer sees, what is kept.

Forwarded seller pressure gets its warning and is saved as evidence with its flag;
a legitimate refund-only question is answered as usual; a request for help with a
false claim is refused and nothing is stored. Rules: see docs/rules.md.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from flows.evidence import EvidenceKind
from tests.test_intake import focused

TYPED = {  # what the buyer types on the way to the evidence step: total, date shipped
    "en": ("$25.90", "11/1/2026"), "ru": ("2 590 ₽", "01.11.2026"),
    "es": ("25,90 €", "1/11/2026"), "de": ("25,90 €", "01.11.2026"),
}

SAVED = {
    "en": "I saved this message as evidence: it shows the seller's pressure.",
    "ru": "Это сообщение сохранено как доказательство: оно показывает давление со стороны продавца.",
    "es": "He guardado este mensaje como prueba: demuestra la presión del vendedor.",
    "de": "Ich habe diese Nachricht als Nachweis gespeichert: Sie zeigt, wie der Verkäufer Druck macht.",
}

# The seller's message, the flag it must leave on the stored item, the warning the buyer reads.
PRESSURE = {
    "en": [
        ("please mark the order as received", "confirm_receipt",
         "🛑 <b>The seller asks you to confirm receipt. Don't</b> until the problem is solved: confirming "
         "ends your Buyer Protection."),
        ("Kindly finish the dispute, the parcel is on the way", "cancel_dispute",
         "🛑 <b>The seller asks you to cancel or close the dispute. Don't.</b> A cancelled dispute can't be "
         "reopened, and once Buyer Protection is over your payment goes to the seller."),
        ("please wait 15 more days. Do not open dispute", "delay_dispute",
         "⏳ <b>The seller asks you to wait or not to open a dispute.</b> Waiting can let your Buyer Protection "
         "run out. Check the timer on the order page: with fewer than 15 days left, open the dispute now. "
         "The seller can still send the item or refund you inside the dispute."),
        ("5 stars and we refund", "review_for_refund",
         "🛑 <b>The seller offers a refund for a good review.</b> Such a promise binds the seller to nothing. "
         "Don't confirm receipt or leave a review to get it: ask for the refund in the dispute, where AliExpress "
         "can enforce it."),
    ],
    "ru": [
        ("Пожалуйста, отметьте заказ как полученный", "confirm_receipt",
         "🛑 <b>Продавец просит подтвердить получение. Не делайте этого</b>, пока проблема не решена: "
         "подтверждение завершает «Защиту покупателя»."),
        ("Пожалуйста, завершите спор, посылка уже в пути", "cancel_dispute",
         "🛑 <b>Продавец просит отменить или закрыть спор. Не делайте этого.</b> Отменённый спор нельзя "
         "открыть снова, а когда «Защита покупателя» закончится, ваша оплата уйдёт продавцу."),
        ("Подождите, пожалуйста, ещё 15 дней. Не открывайте спор", "delay_dispute",
         "⏳ <b>Продавец просит подождать или не открывать спор.</b> Пока вы ждёте, «Защита покупателя» может "
         "закончиться. Проверьте таймер на странице заказа: если осталось меньше 15 дней, откройте спор сейчас. "
         "Отправить товар или вернуть деньги продавец может и в рамках спора."),
        ("Поставьте 5 звёзд, и мы вернём деньги", "review_for_refund",
         "🛑 <b>Продавец обещает вернуть деньги за хороший отзыв.</b> Такое обещание его ни к чему не обязывает. "
         "Не подтверждайте ради этого получение и не оставляйте отзыв: требуйте возврат в споре — там его "
         "может обеспечить AliExpress."),
    ],
    "es": [
        ("Por favor marque el pedido como recibido", "confirm_receipt",
         "🛑 <b>El vendedor te pide que confirmes la recepción. No lo hagas</b> hasta que el problema esté "
         "resuelto: si la confirmas, termina tu Protección al comprador."),
        ("Amigo, finalice la disputa por favor, el paquete está en camino", "cancel_dispute",
         "🛑 <b>El vendedor te pide que canceles o cierres la disputa. No lo hagas.</b> Una disputa "
         "cancelada no se puede reabrir y, cuando termina la Protección al comprador, tu pago pasa al "
         "vendedor."),
        ("Por favor espere 15 días más. No abra una disputa", "delay_dispute",
         "⏳ <b>El vendedor te pide que esperes o que no abras una disputa.</b> Mientras esperas, tu Protección "
         "al comprador puede terminarse. Mira el contador en la página del pedido: si quedan menos de 15 días, "
         "abre la disputa ya. El vendedor aún puede enviarte el artículo o reembolsarte dentro de la disputa."),
        ("5 estrellas y le reembolsamos", "review_for_refund",
         "🛑 <b>El vendedor te ofrece un reembolso a cambio de una buena valoración.</b> Esa promesa no le obliga "
         "a nada. No confirmes la recepción ni dejes una valoración por eso: pide el reembolso en la disputa, donde "
         "AliExpress puede hacerlo cumplir."),
    ],
    "de": [
        ("Bitte markieren Sie die Bestellung als erhalten", "confirm_receipt",
         "🛑 <b>Der Verkäufer bittet dich, den Erhalt zu bestätigen. Tu es nicht</b>, bevor das Problem "
         "gelöst ist: Mit der Bestätigung endet dein Käuferschutz."),
        ("Bitte beenden Sie den Streitfall, das Paket ist unterwegs", "cancel_dispute",
         "🛑 <b>Der Verkäufer bittet dich, den Streitfall abzubrechen oder zu schließen. Tu es nicht.</b> "
         "Ein abgebrochener Streitfall lässt sich nicht wieder eröffnen, und sobald der Käuferschutz "
         "abgelaufen ist, geht deine Zahlung an den Verkäufer."),
        ("Bitte warten Sie noch 15 Tage. Öffnen Sie keinen Streitfall", "delay_dispute",
         "⏳ <b>Der Verkäufer bittet dich zu warten oder keinen Streitfall zu eröffnen.</b> Während du wartest, "
         "kann dein Käuferschutz ablaufen. Prüfe den Timer auf der Bestellseite: Bei weniger als 15 Tagen "
         "Restzeit eröffne den Streitfall jetzt. Der Verkäufer kann dir den Artikel auch im Streitfall noch "
         "schicken oder das Geld erstatten."),
        ("5 Sterne und wir erstatten Ihnen das Geld", "review_for_refund",
         "🛑 <b>Der Verkäufer bietet dir eine Rückerstattung für eine gute Bewertung an.</b> So ein Versprechen "
         "verpflichtet ihn zu nichts. Bestätige dafür nicht den Erhalt und gib keine Bewertung ab: Fordere die "
         "Rückerstattung im Streitfall, dort kann AliExpress sie durchsetzen."),
    ],
}

# The forward's acknowledgement: sender, the original's date (Nov 10, 2026), running count.
SCREENSHOT = {
    "en": "📸 AliExpress takes images, not forwarded messages: also send a screenshot of this chat from the "
          "AliExpress app.",
    "ru": "📸 AliExpress принимает изображения, а не пересланные сообщения: пришлите ещё и скриншот этой переписки "
          "из приложения AliExpress.",
    "es": "📸 AliExpress acepta imágenes, no mensajes reenviados: envía también una captura de este chat desde la "
          "app de AliExpress.",
    "de": "📸 AliExpress nimmt nur Bilder an, keine weitergeleiteten Nachrichten: Schick auch einen Screenshot dieses "
          "Chats aus der AliExpress-App.",
}
SAVED_FORWARD = {
    "en": ("💬 Message from Best Store (Nov 10, 2026) saved.", ["1 piece of evidence so far.",
                                                               "2 pieces of evidence so far.",
                                                               "3 pieces of evidence so far.",
                                                               "4 pieces of evidence so far."]),
    "ru": ("💬 Сообщение от Best Store (10 нояб. 2026 г.) сохранено.", ["Пока собрано 1 доказательство.",
                                                                      "Пока собрано 2 доказательства.",
                                                                      "Пока собрано 3 доказательства.",
                                                                      "Пока собрано 4 доказательства."]),
    "es": ("💬 Mensaje de Best Store (10 nov 2026) guardado.", ["Ya tienes 1 prueba.", "Ya tienes 2 pruebas.",
                                                               "Ya tienes 3 pruebas.", "Ya tienes 4 pruebas."]),
    "de": ("💬 Nachricht von Best Store (10.11.2026) gespeichert.", ["Bisher 1 Nachweis.", "Bisher 2 Nachweise.",
                                                                     "Bisher 3 Nachweise.", "Bisher 4 Nachweise."]),
}

# A refund-only question (keep the broken item, get the money) and a request to lie.
LEGITIMATE = {
    "en": "The lamp arrived broken, can I keep it and get a refund?",
    "ru": "Лампа пришла разбитой, можно оставить её себе и получить возврат?",
    "es": "La lámpara llegó rota, ¿puedo quedármela y recibir un reembolso?",
    "de": "Die Lampe kam kaputt an, kann ich sie behalten und eine Erstattung bekommen?",
}
FALSE_CLAIM = {
    "en": "How do I say it never arrived even though I got it",
    "ru": "Как написать, что товар не пришёл, хотя я его получил?",
    "es": "¿Cómo digo que nunca llegó aunque lo recibí?",
    "de": "Wie sage ich, dass es nie angekommen ist, obwohl ich es bekommen habe?",
}
NOTE_SAVED = {
    "en": "📝 Note saved. 1 piece of evidence so far.",
    "ru": "📝 Заметка сохранена. Пока собрано 1 доказательство.",
    "es": "📝 Nota guardada. Ya tienes 1 prueba.",
    "de": "📝 Notiz gespeichert. Bisher 1 Nachweis.",
}
REFUSAL = {
    "en": "🙅 I can't help with a false claim. It is fraud: AliExpress checks evidence, can block the account "
          "and side with the seller, and you'd lose the money you are owed. I'll gladly help you make a "
          "true claim as strong as it can be: what happened, with photos and the seller's messages.",
    "ru": "🙅 С ложной претензией помочь не могу. Это мошенничество: AliExpress проверяет доказательства, "
          "может заблокировать аккаунт и встать на сторону продавца, и вы потеряете деньги, которые вам "
          "положены. А правдивую претензию с радостью помогу сделать как можно убедительнее: что произошло, "
          "с фото и сообщениями продавца.",
    "es": "🙅 No puedo ayudarte con una reclamación falsa. Es fraude: AliExpress revisa las pruebas, puede "
          "bloquear la cuenta y dar la razón al vendedor, y perderías el dinero que te corresponde. Con "
          "gusto te ayudo a presentar una reclamación verdadera lo más sólida posible: lo que pasó, con "
          "fotos y los mensajes del vendedor.",
    "de": "🙅 Bei falschen Angaben kann ich nicht helfen. Das ist Betrug: AliExpress prüft Nachweise, kann "
          "das Konto sperren und sich auf die Seite des Verkäufers stellen, und du würdest das Geld "
          "verlieren, das dir zusteht. Gern helfe ich dir, deinen echten Fall so stark wie möglich zu "
          "machen: was passiert ist, mit Fotos und den Nachrichten des Verkäufers.",
}

LANGUAGES = ("en", "ru", "es", "de")


def plain(text: str) -> str:
    return re.sub(r"[\u00a0\u202f]", " ", text)  # Babel's no-break spaces in dates


async def to_evidence_step(harness, lang: str):
    user = harness.user(7000 + LANGUAGES.index(lang), language_code=lang)
    total, shipped = TYPED[lang]
    await user.send("/start")
    await user.choose("new")
    await user.choose("not_received")
    await user.choose("none")  # tracking: no tracking / invalid number
    for typed in ("8123456789012345", total, shipped, "40"):
        await user.send(typed)
    assert (await focused(user)).state == "evidence"
    user.replies()
    return user


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_forwarded_pressure_is_warned_about_and_kept(harness, lang):
    user = await to_evidence_step(harness, lang)
    saved, counts = SAVED_FORWARD[lang]
    for n, (message, _flag, warning) in enumerate(PRESSURE[lang]):
        replies = await user.forward(message)
        # The first forward also says to screenshot the chat: AliExpress takes images, not forwards.
        hint = f"\n{SCREENSHOT[lang]}" if n == 0 else ""
        assert [plain(s.text) for s in replies] == [f"{warning}\n{SAVED[lang]}", f"{saved} {counts[n]}{hint}"]
    items = await harness.store.list_evidence(await focused(user))
    assert [(i.kind, i.text, i.origin_name, i.origin_date, i.flags) for i in items] == [
        (EvidenceKind.FORWARD, message, "Best Store", datetime(2026, 11, 10, 9, 30, tzinfo=timezone.utc),
         {f"pressure:{flag}"}) for message, flag, _ in PRESSURE[lang]]


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_a_refund_only_question_is_answered_and_a_false_claim_refused(harness, lang):
    user = await to_evidence_step(harness, lang)
    replies = await user.send(LEGITIMATE[lang])
    assert [s.text for s in replies] == [NOTE_SAVED[lang]]  # kept as the buyer's note, not refused
    before = await focused(user)

    replies = await user.send(FALSE_CLAIM[lang])
    assert [s.text for s in replies] == [REFUSAL[lang]]
    after = await focused(user)
    assert (after.state, after.version) == (before.state, before.version)
    items = await harness.store.list_evidence(after)
    assert [(i.kind, i.text, i.flags) for i in items] == [(EvidenceKind.NOTE, LEGITIMATE[lang], set())]


async def test_the_wait_warning_uses_the_operators_margin(tmp_path):
    from bot.config import Config
    from testkit.chat import TOKEN, BotHarness
    from testkit.chat import TODAY
    config = Config.model_validate({
        "bot": {"token": TOKEN, "album_settle_seconds": 0.2, "flood_limit": 10_000},
        "database": {"url": f"sqlite:///{tmp_path / 'margin.db'}"},
        "reminders": {"global_per_second": 100_000, "per_chat_per_second": 100_000},
        "policy": {"protection_margin_days": 21}})
    harness = await BotHarness(tmp_path / "margin.db", TODAY, config).start()
    try:
        user = await to_evidence_step(harness, "ru")
        replies = await user.forward("Подождите ещё 10 дней, не открывайте спор")
        assert "если осталось меньше 21 дня, откройте спор сейчас" in replies[0].text  # Russian "one" form
    finally:
        await harness.stop()
