"""The intake conversation through the real dispatcher: what the buyer sees, what is stored."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.keyboards import StepAnswer, StepNav
from flows.explanation import has_chinese
from testkit.chat import ChatUser
from testkit.intake import walk
from tests.conftest import both_backends

pytestmark = both_backends  # every conversation here, on SQLite and on PostgreSQL


async def focused(user: ChatUser):
    return await user.harness.store.focused_dispute(user.id)


async def test_start_explains_in_two_lines_and_offers_a_button(user):
    replies = await user.send("/start")
    text = user.texts(replies)
    assert "AliExpress" in text and len(text.splitlines()) == 2
    assert [t for t, _ in replies[-1].buttons()] == ["🚀 Start a dispute"]


async def test_not_received_happy_path(user, harness):
    await walk(user, to="reason")
    replies = await user.press("Item not received")
    # Not received settles the form's "received?" question: the tracking status comes next.
    assert "Step 2 of at most 12" in user.texts(replies) and "What does the tracking" in user.texts(replies)
    replies = await user.press("Moving normally")
    assert "Step 3 of at most 12" in user.texts(replies) and "estimated delivery date" in user.texts(replies)
    replies = await walk(user, to="evidence", new=False, eta="11/15/2026", order_number="8123456789012345",
                         order_total="$25.90", shipped_on="11/1/2026", protection="45")
    text = user.texts(replies)
    assert "You can open the dispute now" in text and "Jan 5, 2027" in text and "45 days left" in text
    # Not received is a full refund: no amount step, straight to the evidence.
    assert "Screenshot of the tracking history" in text
    await user.send_photo("tracking-1")
    await user.press("Tracking history")  # what it shows: only a labelled photo ticks a line
    await user.forward("Sorry, the parcel is lost. Please wait 30 more days.", sender="Best Store")
    replies = await user.press("Done")
    summary, explanation = replies[-2].text, replies[-1].text
    assert "Your dispute is ready" in summary
    assert "Item not received" in summary and "$25.90" in summary and "Nov 1, 2026" in summary
    assert "“Have you received the item?”: <b>No</b>" in summary
    assert "Tracking: 🚚 Moving normally" in summary and "Estimated delivery: Nov 15, 2026" in summary
    assert "full refund $25.90" in summary
    assert "✅ Screenshot of the tracking history" in summary and "⬜ Screenshot of the order page" in summary
    # A forward is kept, but AliExpress takes images: the chat is still to screenshot.
    assert "⬜ Screenshots of your chat with the seller" in summary
    assert "<pre>" in explanation
    assert "I have not received order 8123456789012345." in explanation
    assert "November 1, 2026, 20 days ago" in explanation
    assert "The tracking shows the parcel in transit, but the estimated delivery date, November 15, 2026, " \
           "has passed." in explanation
    assert "a full refund of 25.90 USD" in explanation
    assert "Attached: 1 screenshot of the tracking history and screenshots of my chat with the seller." in explanation
    assert not has_chinese(explanation)
    d = await focused(user)
    assert d.state == "summary" and d.received is False and d.solution == "refund_only"
    assert d.order_total == Decimal("25.90") and d.currency == "USD" and d.refund_full
    assert d.shipped_on == date(2026, 11, 1) and d.protection_ends_on == date(2027, 1, 5)
    assert d.tracking == "moving" and d.eta == date(2026, 11, 15)
    items = await harness.store.list_evidence(d)
    assert [i.kind.value for i in items] == ["image", "forward"]
    assert items[1].origin_name == "Best Store" and items[1].origin_date.date() == date(2026, 11, 10)
    assert items[1].text.startswith("Sorry, the parcel is lost")


async def test_the_simplest_path_takes_nine_taps(user):
    """/start to the summary for "not received", refund only: at most 9 messages and taps, as before."""
    taps = 0
    for action in (lambda: user.send("/start"), lambda: user.press("Start a dispute"),
                   lambda: user.press("Item not received"), lambda: user.press("Held at customs"),
                   lambda: user.send("8123456789012345"), lambda: user.send("$25.90"),
                   lambda: user.send("11/1/2026"), lambda: user.send("40"), lambda: user.press("Done")):
        replies = await action()
        taps += 1
    assert taps == 9 and "Your dispute is ready" in replies[-2].text


async def test_not_as_described_happy_path_with_partial_refund(user):
    replies = await walk(user, to="defect", reason="not_as_described", received="yes")
    assert "Step 3 of at most 14" in user.texts(replies)
    buttons = [t for t, _ in replies[-1].buttons()]
    assert "Size not as described" in buttons and "Damaged in shipping" not in buttons
    await user.press("Size not as described")
    replies = await user.send("Listing: XXL, chest 60 cm. Arrived: chest 52 cm.")
    # The buyer sees exactly what goes into the form's text.
    assert "<code>Details: Listing: XXL, chest 60 cm. Arrived: chest 52 cm.</code>" in user.texts(replies)
    await walk(user, to="amount", new=False, solution="refund_only", protection="30")
    replies = await user.send("12,50")
    assert "Step 11 of at most 14" in user.texts(replies)
    await user.send_photo("item-1")
    await user.press("The item")
    await user.send_photo("item-2")
    await user.press("The item")
    await user.send("The label says XL, the listing promised XXL.")
    replies = await user.press("Done")
    summary, explanation = replies[-2].text, replies[-1].text
    assert "What is wrong: “Size not as described”" in summary
    assert "Solution: “Refund only”" in summary and "partial refund $12.50" in summary
    assert "✅ Clear photos of the item you received (2/2)" in summary
    assert "the size is not as described" in explanation
    assert "Details: Listing: XXL, chest 60 cm. Arrived: chest 52 cm." in explanation
    assert "a partial refund of 12.50 USD (order total 25.90 USD)" in explanation
    assert "Attached: 2 photos of the item I received." in explanation
    d = await focused(user)
    assert d.amount == Decimal("12.50") and not d.refund_full and d.defect == "size"


async def test_damaged_happy_path_with_return(user, harness):
    await walk(user, to="amount", reason="damaged", received="yes", defect="does_not_work", detail="?",
               solution="return_and_refund", protection="30")
    await user.press("Full refund")
    replies = await user.send(video={"file_id": "vid-1", "file_unique_id": "v1", "width": 640, "height": 480,
                                     "duration": 12, "file_size": 5_000_000})
    assert "Video saved" in user.texts(replies) and "1 piece of evidence so far" in user.texts(replies)
    await user.press("Defect or unboxing")
    replies = await user.press("Done")
    summary, explanation = replies[-2].text, replies[-1].text
    assert "Solution: “Return &amp; Refund”" in summary
    assert "✅ A video showing the defect or the unboxing" in summary
    assert "it does not work properly" in explanation
    assert "I am ready to return the item and request a full refund of 25.90 USD." in explanation
    assert (await focused(user)).solution == "return_and_refund"


@pytest.mark.parametrize("typed", ["abc", "-5", "0", "259", "12.505", "😀", "   "])
async def test_bad_amounts_are_refused_and_the_step_stays(user, typed):
    await walk(user, to="amount", reason="damaged", protection="30")  # not received asks no amount
    before = await focused(user)
    replies = await user.send(typed)
    text = user.texts(replies)
    assert text.startswith("⚠️") and "How much do you ask for?" in text
    after = await focused(user)
    assert after.state == "amount" and after.version == before.version and after.amount is None


@pytest.mark.parametrize("typed, expected", [
    ("12,50", Decimal("12.50")), ("12.50", Decimal("12.50")), ("$12.50", Decimal("12.50")),
    ("12.50 USD", Decimal("12.50")), ("1 234,56", Decimal("1234.56")), ("1.234,56", Decimal("1234.56")),
])
async def test_amount_formats_are_understood(user, typed, expected):
    await walk(user, to="amount", reason="damaged", order_total="$2000", protection="30")
    await user.send(typed)
    d = await focused(user)
    assert d.state == "evidence" and d.amount == expected


async def test_amounts_follow_the_users_locale(harness):
    user = harness.user(2002, language_code="de-AT")
    await user.send("/new")
    await walk(user, to="order_total", new=False, reason="damaged", received="yes", defect="does_not_work",
               detail="?", solution="refund_only", order_number="8123456789012345")
    replies = await user.send("2.000")  # a bare number: German speakers pay in EUR or CHF
    assert [t for t, _ in replies[-1].buttons()][:2] == ["€ EUR", "CHF"]
    await walk(user, to="amount", new=False, currency="EUR", shipped_on="01.11.2026", protection="30")
    await user.send("1.234")  # German: a thousands separator
    d = await focused(user)
    assert d.order_total == Decimal("2000") and d.currency == "EUR" and d.amount == Decimal("1234")


async def test_dates_buttons_typed_and_future(user):
    await walk(user, to="shipped_on", reason="not_received", tracking="none", order_number="8123456789012345",
               order_total="$25.90")
    replies = await user.send("12/24/2026")
    assert "is in the future" in user.texts(replies) and (await focused(user)).state == "shipped_on"
    replies = await user.send("yesterday-ish")
    assert "couldn't read that date" in user.texts(replies)
    await user.press("A week ago")
    d = await focused(user)
    assert d.shipped_on == date(2026, 11, 14) and d.state == "protection"
    replies = await user.send("2026-12-01")
    assert "Too early" in user.texts(replies) and "Nov 25, 2026 (in 4 days)" in user.texts(replies)


async def test_eligibility_urgent_and_too_late(user):
    replies = await walk(user, to="evidence", reason="not_received", tracking="none", protection="3")
    assert "Urgent" in user.texts(replies)
    d = await focused(user)
    assert d.protection_ends_on == date(2026, 11, 24)
    await user.press("Back")  # to protection
    replies = await user.send("11/20/2026")
    assert "Buyer Protection ended on Nov 20, 2026" in user.texts(replies)
    assert "chargeback" in user.texts(replies)
    await user.press("Back")
    replies = await user.send("3")
    assert "Urgent" in user.texts(replies) and "3 days left" in user.texts(replies)


async def test_every_order_fact_can_be_skipped(user):
    replies = await walk(user, to="evidence", reason="not_received", tracking="none",  # then "I don't know" x4:
                         order_number="?", order_total="?", shipped_on="?", protection="?")
    # Not received is a full refund: no amount step.
    assert "Step 7 of at most 12" in user.texts(replies)
    replies = await user.press("Done")
    assert "Check the Buyer Protection timer" in replies[-2].text
    assert "I have not received my order." in replies[-1].text
    d = await focused(user)
    assert d.unknown == {"order_number", "order_total", "shipped_on", "protection"}


async def test_typing_where_a_button_is_expected_re_asks(user):
    await walk(user, to="reason")
    replies = await user.send("my parcel never came!!")
    text = user.texts(replies)
    assert "Please tap one of the buttons" in text and "What went wrong" in text
    assert (await focused(user)).state == "reason"


@pytest.mark.parametrize("fields", [
    {"sticker": {"file_id": "st", "file_unique_id": "st", "type": "regular", "width": 512, "height": 512,
                 "is_animated": False, "is_video": False}},
    {"voice": {"file_id": "vo", "file_unique_id": "vo", "duration": 3}},
    {"location": {"latitude": 55.75, "longitude": 37.62}},
    {"contact": {"phone_number": "+100000", "first_name": "Bob"}},
    {"text": "/frobnicate", "entities": [{"type": "bot_command", "offset": 0, "length": 11}]},
])
async def test_unexpected_input_gets_a_hint_and_the_same_question(user, fields):
    await walk(user, to="order_number", reason="not_received", tracking="none")
    before = await focused(user)
    replies = await user.send(**fields)
    text = user.texts(replies)
    assert ("can't use that here" in text or "don't know that command" in text) and "order number" in text
    after = await focused(user)
    assert (after.state, after.version) == (before.state, before.version)


async def test_chinese_characters_are_refused(user):
    await walk(user, to="order_number", reason="not_received", tracking="none")
    replies = await user.send("订单 8123456789012345")
    assert "refuses Chinese characters" in user.texts(replies)
    assert (await focused(user)).state == "order_number"


async def test_user_text_is_escaped_when_echoed(user):
    await walk(user, to="order_number", reason="not_received", tracking="none")
    replies = await user.send("<b>&*_[")
    assert "<b>&" not in user.texts(replies).replace("<b>→", "")
    await user.send("8123456789012345")
    await user.send("$25.90")
    await user.send("11/1/2026")
    await user.send("30")
    replies = await user.forward("<script>alert(1)</script> close the dispute", sender="<Evil & Co>")
    assert "&lt;Evil &amp; Co&gt;" in user.texts(replies)


async def test_back_walks_every_step_to_the_start(user):
    await walk(user, to="evidence", reason="damaged", received="yes", defect="does_not_work", detail="?",
               solution="refund_only", protection="30", amount="full")
    seen = [(await focused(user)).state]
    for _ in range(10):
        replies = await user.press("Back")
        seen.append((await focused(user)).state)
        # Every question has its counter but the reason's, which decides how many there are.
        assert ("Step" in user.texts(replies)) == (seen[-1] != "reason")
    assert seen == ["evidence", "amount", "protection", "shipped_on", "order_total", "order_number",
                    "solution", "detail", "defect", "received", "reason"]
    assert not any("Back" in text for text, _ in user.last_with_buttons().buttons())
    d = await focused(user)
    assert (d.reason, d.defect, d.order_number) == ("damaged", "does_not_work", "8123456789012345")


async def test_cancel_asks_first_then_discards(user):
    await walk(user, to="order_number", reason="not_received", tracking="none")
    replies = await user.press("Cancel")
    assert "Cancel this dispute?" in user.texts(replies)
    replies = await user.press("No, continue")
    assert "order number" in user.texts(replies) and (await focused(user)).state == "order_number"
    await user.send("/cancel")
    await user.press("Yes, cancel it")
    replies = await user.send("/disputes")
    assert "no disputes yet" in user.texts(replies)


async def test_resume_after_restart(user, harness):
    await walk(user, to="defect", reason="not_as_described", received="yes")
    await harness.restart()
    replies = await user.send("/disputes")
    assert "Step 3 of at most 14: What's wrong" in user.texts(replies)
    replies = await user.press("Open #")
    assert "What exactly is wrong?" in user.texts(replies)
    await user.press("Wrong item")
    assert (await focused(user)).state == "detail"


async def test_disputes_lists_the_newest_twenty(user, harness):
    for _ in range(23):
        await user.send("/new")
    replies = await user.send("/disputes")
    text = user.texts(replies)
    numbers = [d.number for d in await harness.store.list_disputes(user.id)]
    assert numbers == list(range(23, 0, -1))
    assert "<b>#23</b>" in text and "<b>#4</b>" in text and "<b>#3</b>" not in text
    assert len(replies[-1].buttons()) == 20


async def test_double_tap_advances_once(user):
    await walk(user, to="reason")
    question = user.last_with_buttons()
    await user.press("Item not received", on=question)
    replies = await user.press("Item not received", on=question)
    assert user.alerts(replies) == ["This button is outdated."]
    d = await focused(user)
    assert d.state == "tracking" and d.version == 1


async def test_forged_callback_for_another_users_dispute(harness):
    alice, mallory = harness.user(1), harness.user(2)
    await walk(alice, to="reason")
    d = await harness.store.focused_dispute(1)
    forged = StepAnswer(dispute_id=d.id, version=d.version, step="reason", value="damaged").pack()
    await walk(mallory, to="reason")
    replies = await mallory.tap(forged)
    assert mallory.alerts(replies) == ["This button is outdated."]
    replies = await mallory.tap(StepNav(dispute_id=d.id, version=d.version, action="cancel").pack())
    assert mallory.alerts(replies) == ["This button is outdated."]
    assert (await harness.store.get_dispute(1, d.id)).reason is None
    for junk in ["ans:zzz", "nav:1", "", "x" * 64]:
        replies = await mallory.tap(junk)
        assert mallory.alerts(replies) == ["This button is outdated."]


async def test_change_an_answer_from_the_summary(user):
    await walk(user, to="summary", reason="not_received", tracking="none", protection="30", evidence="done")
    replies = await user.press("✏️ Order total")
    assert "How much did you pay" in user.texts(replies)
    replies = await user.send("30")
    assert "Your dispute is ready" in user.texts(replies) and "$30.00" in user.texts(replies)
    # Switching the reason opens steps that must be answered before the summary.
    await user.press("✏️ Problem")
    await user.press("Damaged")
    replies = await user.press("Yes, I have it")
    assert "What exactly is wrong?" in user.texts(replies)
    await user.press("Damaged in transit")
    await user.choose("?")  # no detail
    replies = await user.press("Refund only")
    assert "Your dispute is ready" in user.texts(replies)
    d = await focused(user)
    assert d.reason == "damaged" and d.received and d.state == "summary" and not d.editing


async def test_several_disputes_and_switching(user):
    await walk(user, to="order_number", reason="not_received", tracking="none")
    await user.send("/new")
    await user.press("Not as described")
    replies = await user.send("/disputes")
    assert user.texts(replies).count("#") >= 2
    await user.press("Open #1")
    assert (await focused(user)).id == 1


async def test_forget_deletes_everything(user, harness):
    await walk(user, to="order_number", reason="not_received", tracking="none")
    await user.send_photo()
    await user.send("/forget")
    await user.press("Yes, delete everything")
    assert await harness.store.get_user(user.id) is None
    assert await harness.store.list_disputes(user.id) == []


async def test_a_handler_failure_tells_the_user_and_keeps_the_answer(user, harness, monkeypatch):
    await walk(user, to="order_number", reason="not_received", tracking="none")
    import bot.conversation

    async def broken_show(*args, **kwargs):
        raise RuntimeError("simulated bug while rendering")

    monkeypatch.setattr(bot.conversation, "show", broken_show)
    replies = await user.send("8123456789012345")
    assert "Something went wrong on my side. Your answers are saved" in user.texts(replies)
    d = await focused(user)
    assert d.order_number == "8123456789012345" and d.state == "order_total"


async def test_group_messages_get_one_line_and_nothing_is_stored(harness):
    await harness.feed({"message": {"message_id": 1, "date": 0, "chat": {"id": -100, "type": "group", "title": "G"},
                                    "from": {"id": 77, "is_bot": False, "first_name": "G"}, "text": "/start"}})
    (sent,) = [s for s in harness.session.sent if s.chat_id == -100]
    assert "private chat" in sent.text
    assert await harness.store.get_user(77) is None
