"""A typed answer answers the question that was on screen when it was typed (docs/rules.md).

A buyer on a bad network sends the shipping date twice, or types while the bot is down and the
queued messages arrive after a restart: the second copy must not become the answer to the next
question (a shipping date stored as Buyer Protection's end makes every deadline wrong). Telegram
numbers a private chat's messages in one sequence for both sides, so a message numbered below
the question's was typed before the question was shown.
"""
from __future__ import annotations

import pytest

from testkit.chat import BotHarness, ChatUser
from testkit.intake import walk

HINT = {"en": "That message was sent before this question", "ru": "Это сообщение пришло раньше этого вопроса",
        "es": "Ese mensaje se envió antes de esta pregunta", "de": "Diese Nachricht kam vor dieser Frage"}
PROTECTION_QUESTION = {"en": "Buyer Protection timer", "ru": "«Защиты покупателя»", "es": "Protección al comprador",
                       "de": "Käuferschutz"}
SHIPPED = {"en": "11/01/2026", "ru": "01.11.2026", "es": "01/11/2026", "de": "01.11.2026"}
TOTAL = {"en": "$25.90", "ru": "25,90 ₽", "es": "25,90 €", "de": "25,90 €"}


async def to_shipped_on(harness: BotHarness, lang: str) -> ChatUser:
    user = harness.user(language_code=lang)
    await walk(user, to="shipped_on", order_total=TOTAL[lang])
    user.replies()
    return user


@pytest.mark.parametrize("lang", ["en", "ru", "es", "de"])
async def test_an_answer_sent_twice_does_not_answer_the_next_question(harness: BotHarness, lang: str):
    user = await to_shipped_on(harness, lang)
    first, again = user._message(text=SHIPPED[lang]), user._message(text=SHIPPED[lang])  # typed one after the other
    await harness.feed({"message": first})
    d = await harness.store.focused_dispute(user.id)
    assert d.state == "protection" and d.shipped_on.isoformat() == "2026-11-01"
    user.replies()

    await harness.feed({"message": again})  # arrives after the protection question was sent
    d = await harness.store.focused_dispute(user.id)
    assert d.state == "protection" and d.protection_ends_on is None  # not read as the protection's end
    text = user.texts(user.replies())
    assert HINT[lang] in text and PROTECTION_QUESTION[lang] in text, text

    await user.send("45")  # typed after the question: it answers it
    d = await harness.store.focused_dispute(user.id)
    assert d.state == "evidence" and d.protection_ends_on is not None


async def test_the_question_shown_again_after_a_hint_is_the_one_answered(harness: BotHarness):
    user = await to_shipped_on(harness, "en")
    await user.send("not a date")  # a hint and the question again: the next answer is for it
    await user.send(SHIPPED["en"])
    assert (await harness.store.focused_dispute(user.id)).state == "protection"


async def test_an_answer_typed_while_the_same_question_was_shown_again_still_answers_it(harness: BotHarness):
    """Showing the same question again (after a hint, /disputes, a restart) doesn't move the mark: a buyer
    typing faster than the bot may send would otherwise never catch up (seen in a chaos run)."""
    user = await to_shipped_on(harness, "en")
    typo, answer = user._message(text="not a date"), user._message(text=SHIPPED["en"])  # typed one after the other
    await harness.feed({"message": typo})  # a hint and the same question again, numbered after both
    await harness.feed({"message": answer})
    d = await harness.store.focused_dispute(user.id)
    assert d.state == "protection" and d.shipped_on.isoformat() == "2026-11-01"
