"""After opening on AliExpress: stages, reminders day by day, calendar, guard.

The clock is injected (testkit/chat.py FixedClock); ``harness.pass_days`` moves
it forward hour by hour and lets the real reminder engine deliver.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from aiogram.methods import SendDocument
from icalendar import Calendar

from testkit.chat import ChatUser
from testkit.intake import walk
from tests.test_intake import focused
from tests.conftest import both_backends

pytestmark = both_backends  # every conversation here, on SQLite and on PostgreSQL


async def open_dispute(user: ChatUser) -> list:
    await user.choose("open_on_aliexpress")
    return await user.choose("d0")


async def reminders(harness, user, status=None):
    d = await focused(user)
    return await harness.store.list_reminders(d.id, status=status)


def sent_texts(replies) -> list[str]:
    return [s.text for s in replies if s.text]


async def test_protection_reminders_before_opening(user, harness):
    await walk(user, protection="10")  # ends Dec 1, 2026; "Open Dispute" may be there until Dec 16
    pending = await reminders(harness, user, "pending")
    # 7, 3, 1 days before and on the last day at 10:00 in New York (the default zone for English), the
    # morning after it ends, then 3 days before and on the last day "Open Dispute" may still be there.
    # (The margin day, Nov 16, was already past when the timer was typed.)
    assert [(r.kind, r.due_at.isoformat()) for r in pending] == [
        ("protection", "2026-11-24T15:00:00+00:00"), ("protection", "2026-11-28T15:00:00+00:00"),
        ("protection", "2026-11-30T15:00:00+00:00"), ("protection", "2026-12-01T15:00:00+00:00"),
        ("protection", "2026-12-02T14:00:00+00:00"),
        ("last_chance", "2026-12-13T15:00:00+00:00"), ("last_chance", "2026-12-16T15:00:00+00:00")]
    user.replies()
    await harness.pass_days(3.2)
    texts = sent_texts(user.replies())
    assert len(texts) == 1 and "Buyer Protection ends on Dec 1, 2026 (7 days left)" in texts[0]
    await harness.pass_days(7)
    texts = sent_texts(user.replies())
    assert [t.split(".")[0] for t in texts] == [
        "🔥 Urgent: Buyer Protection ends on Dec 1, 2026 (3 days left)",
        "🔥 Urgent: Buyer Protection ends on Dec 1, 2026 (1 day left)",
        "🔥 Urgent: Buyer Protection ends on Dec 1, 2026 (today)"]
    await harness.pass_days(1)
    (after,) = sent_texts(user.replies())
    assert after.startswith("⚠️ <b>Buyer Protection ended on Dec 1, 2026, but you may still be able to open the "
                            "dispute: look for “Open Dispute” on the order page today.</b>")
    assert "until Dec 16, 2026 (in 14 days) at the latest" in after
    # (The first plan, from the estimated protection end, was cancelled when the timer was typed.)
    assert {r.status for r in await reminders(harness, user) if r.status not in ("cancelled", "pending")} == {"sent"}


async def test_too_early_gets_a_can_open_reminder(user, harness):
    await walk(user, to="reason")
    await user.choose("not_received")
    await user.choose("none")  # tracking: no tracking / invalid number
    await user.send("8123456789012345")
    await user.send("$25.90")
    await user.send("11/18/2026")  # opens on Nov 29
    await user.choose("?")
    kinds = {(r.kind, r.due_at.date().isoformat()) for r in await reminders(harness, user, "pending")}
    assert ("can_open", "2026-11-29") in kinds


async def test_opening_replaces_protection_reminders_with_the_seller_window(user, harness):
    await walk(user)
    replies = await user.choose("open_on_aliexpress")
    assert "When did you open the dispute" in sent_texts(replies)[-1]
    replies = await open_dispute_today(user)
    text = sent_texts(replies)[-1]
    assert "The seller has until Nov 26, 2026 (in 5 days) to answer." in text
    d = await focused(user)
    assert d.state == "negotiating" and d.opened_at == datetime(2026, 11, 21, 12, tzinfo=timezone.utc)
    rows = await reminders(harness, user)
    assert {r.status for r in rows if r.kind == "protection"} == {"cancelled"}
    assert [(r.kind, r.due_at.isoformat()) for r in rows if r.status == "pending"] == [
        ("seller_window", "2026-11-25T15:00:00+00:00"), ("seller_window", "2026-11-26T14:00:00+00:00")]
    user.replies()
    await harness.pass_days(5.2)
    texts = sent_texts(user.replies())
    assert "The seller's time to answer ends tomorrow (Nov 26, 2026)" in texts[0]
    assert "The seller's time to answer ended today." in texts[1] and "What did the seller do?" in texts[1]
    buttons = [label for label, _ in user.last_with_buttons().buttons()]
    assert "👍 The seller accepted" in buttons and "⚖️ I escalated to AliExpress" in buttons
    assert "👎 The seller refused" in buttons and "🏛 AliExpress stepped in" in buttons
    assert "⏰ Remind me tomorrow" in buttons and "🔕 Stop reminders" in buttons


async def open_dispute_today(user: ChatUser) -> list:
    return await user.choose("d0")


async def test_opened_days_ago_by_typed_date(user, harness):
    await walk(user)
    await user.choose("open_on_aliexpress")
    replies = await user.send("11/19/2026")
    assert "The seller has until Nov 24, 2026 (in 3 days)" in sent_texts(replies)[-1]
    d = await focused(user)
    assert d.opened_at == datetime(2026, 11, 19, 17, tzinfo=timezone.utc)  # noon in New York


async def test_seller_accepts_then_refund_arrives(user, harness):
    await walk(user)
    await open_dispute(user)
    replies = await user.choose("seller_accepted")
    text = sent_texts(replies)[-1]
    assert "The refund is on its way" in text and "3–20 business days" in text
    d = await focused(user)
    assert d.state == "refund_pending"
    (check,) = await reminders(harness, user, "pending")
    # 20 business days from Sat Nov 21 skipping Thanksgiving (Nov 26): Dec 21, the end of the day in New York.
    assert check.kind == "refund_check" and check.deadline_at.isoformat() == "2026-12-22T04:59:00+00:00"
    assert "expect it by Dec 21, 2026 (in 30 days)" in text
    user.replies()
    await harness.pass_days(31.5)
    texts = sent_texts(user.replies())
    assert len(texts) == 1 and "The refund should have arrived" in texts[0]
    replies = await user.choose("refunded")
    assert "Your money is back" in sent_texts(replies)[-1]
    replies = await user.press("The goods came after the refund")
    assert "send the money back" in sent_texts(replies)[-1]
    assert (await focused(user)).state == "refunded"


async def test_refund_missing_leads_to_bank_check_and_chargeback(user, harness):
    await walk(user)
    await open_dispute(user)
    await user.choose("seller_accepted")
    replies = await user.choose("not_arrived")
    assert "USD account" in sent_texts(replies)[-1]
    replies = await user.choose("chargeback")
    text = sent_texts(replies)[-1]
    assert ("card networks usually allow 120 days, counted from the expected delivery date or the day you "
            "received the item, not from the payment; PayPal allows 180 days from the payment") in text
    assert "To be safe, call your bank before Mar 1, 2027 (in 100 days)." in text  # Nov 1 + 120 days
    assert "A chargeback usually freezes the order and the dispute on AliExpress" in text
    assert (await focused(user)).state == "chargeback"
    assert await reminders(harness, user, "pending") == []


async def test_counter_offer_accepted(user):
    await walk(user)
    await open_dispute(user)
    replies = await user.choose("seller_offer")
    assert "offered another solution" in sent_texts(replies)[-1]
    await user.choose("accept_offer")
    assert (await focused(user)).state == "refund_pending"


async def test_modify_restarts_the_seller_window(user, harness):
    await walk(user)
    await open_dispute(user)
    await harness.pass_days(2)
    replies = await user.choose("modify")
    assert "The seller has until Nov 28, 2026 (in 5 days)" in sent_texts(replies)[-1]


async def test_return_and_refund_has_a_shipping_deadline(user, harness):
    await walk(user, reason="damaged", solution="return_and_refund")
    await open_dispute(user)
    replies = await user.choose("seller_accepted")
    text = sent_texts(replies)[-1]
    assert "Ship the item back by Nov 30, 2026 (in 9 days)." in text
    assert "enter the tracking number in the dispute before that date" in text
    assert "If you miss this date, the money goes to the seller." in text
    pending = await reminders(harness, user, "pending")
    assert [r.kind for r in pending] == ["return_shipping", "return_shipping"]
    # Shipped back: the seller must confirm receipt; the bot checks in three weeks later.
    replies = await user.choose("item_returned")
    assert "Your return is on its way" in sent_texts(replies)[-1] and "Dec 12, 2026" in sent_texts(replies)[-1]
    assert (await focused(user)).state == "return_sent"
    assert [(r.kind, r.due_at.isoformat()) for r in await reminders(harness, user, "pending")] == [
        ("return_check", "2026-12-12T14:00:00+00:00")]
    buttons = [label for label, _ in user.last_with_buttons().buttons()]
    assert "👍 The seller got the return" in buttons and "⚖️ I escalated to AliExpress" in buttons
    await user.choose("seller_confirmed_return")
    assert (await focused(user)).state == "refund_pending"
    assert [r.kind for r in await reminders(harness, user, "pending")] == ["refund_check"]


async def test_escalation_rejection_appeal_windows(user, harness):
    await walk(user)
    await open_dispute(user)
    await user.choose("escalate")
    replies = await user.choose("decision_rejected")
    text = sent_texts(replies)[-1]
    assert "You can appeal until Nov 27, 2026 (in 6 days)" in text and "until Dec 5, 2026 (in 14 days)" in text
    kinds = [r.kind for r in await reminders(harness, user, "pending")]
    assert kinds == ["appeal", "appeal", "survey"]
    user.replies()
    await harness.pass_days(7)
    texts = sent_texts(user.replies())
    assert any("The appeal window ends in 5 days" in t for t in texts)
    assert any("The appeal window ends tomorrow" in t for t in texts)
    await user.choose("appeal")
    await user.choose("decision_full")
    d = await focused(user)
    assert d.state == "refund_pending" and d.decision == "full"


async def test_withdrawing_warns_first(user, harness):
    await walk(user)
    await open_dispute(user)
    replies = await user.choose("withdraw")
    assert "can't be reopened" in sent_texts(replies)[-1]
    await user.press("Not yet, keep it open")
    assert (await focused(user)).state == "negotiating"
    await user.send("/cancel")
    await user.press("Yes, I cancelled it")
    assert (await focused(user)).state == "withdrawn"
    assert await reminders(harness, user, "pending") == []


async def test_stop_and_resume_reminders(user, harness):
    await walk(user)
    await open_dispute(user)
    replies = await user.press("Stop reminders")
    assert "No more reminders for this dispute" in sent_texts(replies)[-1]
    assert await reminders(harness, user, "pending") == []
    user.replies()
    await harness.pass_days(4.5)  # past the "1 day before" reminder
    assert sent_texts(user.replies()) == []
    await user.press("Turn reminders on")
    assert len(await reminders(harness, user, "pending")) >= 1


async def test_remind_me_tomorrow(user, harness):
    await walk(user)
    await open_dispute(user)
    await harness.pass_days(4.2)  # the "1 day before" reminder went out
    replies = await user.press("Remind me tomorrow")
    assert user.alerts(replies) == ["OK, I'll remind you tomorrow."]
    snoozed = [r for r in await reminders(harness, user, "pending") if r.snoozed]
    assert len(snoozed) == 1 and snoozed[0].due_at.isoformat() == "2026-11-26T15:00:00+00:00"


async def test_overdue_reminders_after_downtime_collapse_into_one(user, harness):
    await walk(user, protection="8")  # ends Nov 29: reminders Nov 22 (7d), 26, 28, 29
    user.replies()
    harness.clock.current = datetime(2026, 11, 28, 16, tzinfo=timezone.utc)  # the bot was down for a week
    await harness.engine.tick()
    texts = sent_texts(user.replies())
    assert len(texts) == 1 and "Buyer Protection ends on Nov 29, 2026 (1 day left)" in texts[0]
    statuses = sorted(r.status for r in await reminders(harness, user) if r.status not in ("cancelled", "pending"))
    assert statuses == ["sent", "skipped", "skipped"]


async def test_a_reminder_whose_claim_ran_out_while_waiting_is_sent_by_the_sender_that_took_it_only(user, harness):
    """Two senders (workers, or a process and the next one): the first claimed the reminder and waited
    for its turn past the lease; the second claimed it then. Only one of them sends it."""
    await walk(user, protection="8")  # ends Nov 29: the 7-day reminder is due Nov 22
    user.replies()
    harness.clock.current = datetime(2026, 11, 22, 16, tzinfo=timezone.utc)
    (stale,) = await harness.store.claim_reminders(harness.clock.now(), lease=60, limit=1)
    harness.clock.current += timedelta(minutes=2)  # its claim ran out while it waited
    await harness.engine.tick()  # another sender claims it again and sends it
    assert len(sent_texts(user.replies())) == 1
    await harness.engine._deliver(stale)  # the first sender's turn comes at last
    assert sent_texts(user.replies()) == []  # not sent twice
    sent = [r for r in await reminders(harness, user) if r.status == "sent"]
    assert [(r.id, r.attempts) for r in sent] == [(stale.id, stale.attempts + 1)]


async def test_quiet_hours_hold_a_reminder_until_morning(user, harness):
    await walk(user, protection="8")
    user.replies()
    harness.clock.current = datetime(2026, 11, 23, 6, tzinfo=timezone.utc)  # 01:00 in New York
    await harness.engine.tick()
    assert sent_texts(user.replies()) == []
    await harness.pass_days(0.5)
    texts = sent_texts(user.replies())
    assert len(texts) == 1
    sent = [r for r in await reminders(harness, user) if r.status == "sent"]
    assert len(sent) == 1


async def test_timezone_moves_reminders(user, harness):
    await walk(user, protection="10")
    replies = await user.send("/timezone Europe/Moscow")
    assert "Time zone set: Moscow (Europe/Moscow)" in sent_texts(replies)[-1]
    first = (await reminders(harness, user, "pending"))[0]
    assert first.due_at.isoformat() == "2026-11-24T07:00:00+00:00"  # 10:00 in Moscow
    replies = await user.send("/timezone Mars/Olympus")
    assert "don't know the time zone" in sent_texts(replies)[-1]


def calendar_events(replies) -> dict:
    (doc,) = [s for s in replies if isinstance(s.method, SendDocument)]
    calendar = Calendar.from_ical(doc.method.document.data)
    return {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}


async def test_calendar_holds_only_the_deadlines_ahead_in_this_stage_as_all_day_events(user, harness):
    await walk(user, protection="40")
    await open_dispute(user)
    events = calendar_events(await user.press("Add to calendar"))
    # Opened: no "you can open it" and no protection end; the seller's deadline, with the order number.
    title = "The seller's time to answer the dispute ends · Order 8123456789012345"
    assert list(events) == [title]
    seller = events[title]
    assert seller.decoded("DTSTART") == date(2026, 11, 26) and seller.decoded("DTEND") == date(2026, 11, 27)
    assert "Dispute #1" in str(seller["DESCRIPTION"])
    assert [a["TRIGGER"].dt for a in seller.walk("VALARM")] == [-timedelta(hours=14), timedelta(hours=10)]
    first_uid, first_sequence = str(seller["UID"]), int(seller["SEQUENCE"])
    # Sent again later: the same event (UID), a higher SEQUENCE, so the calendar updates it.
    harness.clock.current += timedelta(hours=2)
    again = calendar_events(await user.press("Add to calendar"))[title]
    assert str(again["UID"]) == first_uid and int(again["SEQUENCE"]) > first_sequence
    # The seller answered: their deadline is gone, the refund estimate is the one date ahead.
    await user.choose("seller_accepted")
    events = calendar_events(await user.press("Add to calendar"))
    assert list(events) == ["The refund should have arrived · Order 8123456789012345"]


async def test_calendar_after_a_rejection_has_the_appeal_and_survey_days(user, harness):
    await walk(user, protection="40")
    await open_dispute(user)
    await user.choose("escalate")
    harness.clock.current = datetime(2026, 11, 22, 7, 51, tzinfo=timezone.utc)  # 02:51 in New York
    await user.choose("decision_rejected")
    events = calendar_events(await user.press("Add to calendar"))
    days = {title.split(" · ")[0]: e.decoded("DTSTART") for title, e in events.items()}
    assert days == {"Last day to appeal AliExpress's decision": date(2026, 11, 28),
                    "Last day for the dispute survey": date(2026, 12, 6)}
    assert "T0251" not in user.harness.session.sent[-1].method.document.data.decode()


async def test_seller_pressure_typed_during_negotiation_is_flagged_and_kept(user, harness):
    await walk(user)
    await open_dispute(user)
    replies = await user.send("Seller says: please cancel the dispute and we refund you by PayPal")
    text = sent_texts(replies)[-1]
    assert "Don't." in text and "outside AliExpress" in text and "Note saved" in text
    items = await harness.store.list_evidence(await focused(user))
    assert {"pressure:cancel_dispute", "pressure:off_platform"} <= items[-1].flags


async def test_reminders_follow_the_users_language(harness):
    user = harness.user(6060, language_code="de")
    await user.send("/new")
    await user.choose("not_received")
    await user.choose("none")  # tracking: no tracking / invalid number
    for text in ("8123456789012345", "25,90 €", "01.11.2026", "10"):
        await user.send(text)
    user.replies()
    await harness.pass_days(3.2)
    texts = sent_texts(user.replies())
    assert len(texts) == 1 and "Käuferschutz" in texts[0] and "01.12.2026" in texts[0]


async def test_the_bot_never_coaches_a_false_claim(user, harness):
    await walk(user, to="reason")
    await user.choose("not_received")
    await user.choose("none")  # tracking: no tracking / invalid number
    before = await focused(user)
    replies = await user.send("Can I lie that it never arrived so I get my money back and keep it?")
    assert "I can't help with a false claim" in sent_texts(replies)[-1]
    after = await focused(user)
    assert (after.state, after.version) == (before.state, before.version)


async def test_seller_silent_and_processed_as_requested(user, harness):
    await walk(user)
    await open_dispute(user)
    await harness.pass_days(5.2)
    replies = await user.choose("processed_as_requested")
    assert "The refund is on its way" in sent_texts(replies)[-1]
    d = await focused(user)
    assert d.state == "refund_pending" and d.refund_started_at is not None


async def test_old_reminder_buttons_are_outdated_after_a_change(user, harness):
    await walk(user)
    await open_dispute(user)
    await harness.pass_days(4.2)
    reminder = user.last_with_buttons()
    await user.send("/disputes")
    await user.press("Open #")
    await user.choose("seller_offer")
    replies = await user.press("The seller accepted", on=reminder)
    assert user.alerts(replies) == ["This button is outdated."]
    assert (await focused(user)).state == "counter_offer"
