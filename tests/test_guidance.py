"""The rules of docs/rules.md "Opening a dispute" and "Reminders", as a buyer meets them.

Each case runs through the real Dispatcher in all four languages with the
clock fixed on Sat Nov 21, 2026, 12:00 UTC, and checks the words the buyer
reads and the reminders planned (local date and time in the buyer's default
zone). Pure boundary tables for the same rules are in tests/test_flows.py.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from testkit.chat import ChatUser
from testkit.intake import walk
from testkit.phone import over_budget

LANGS = ("en", "ru", "es", "de")
# The default reminder zone per language (flows.calendar.DEFAULT_TIMEZONE), written out to pin it.
ZONES = {"en": "America/New_York", "ru": "Europe/Moscow", "es": "Europe/Madrid", "de": "Europe/Berlin"}
# What the buyer reads, per verdict, in each language.
SAYS = {
    "last_chance": {"en": "look for “Open Dispute” on the order page today",
                    "ru": "сегодня же поищите кнопку «Открыть спор»",
                    "es": "busca hoy «Abrir disputa»",
                    "de": "Such heute auf der Bestellseite nach „Streitfall eröffnen“"},
    "too_late": {"en": "What you can still do: contact AliExpress customer service",
                 "ru": "Что ещё можно сделать: написать в поддержку AliExpress",
                 "es": "Lo que todavía puedes hacer: contactar con el servicio de atención al cliente",
                 "de": "Was du noch tun kannst: den AliExpress-Kundenservice"},
    "check_timer": {"en": "Check the Buyer Protection timer on the order page now",
                    "ru": "Проверьте прямо сейчас таймер «Защиты покупателя»",
                    "es": "Mira ahora el contador de la Protección al comprador",
                    "de": "Sieh jetzt auf der Bestellseite nach dem Käuferschutz-Timer"},
    "ends_first": {"en": "Don't wait: Buyer Protection ends on",
                   "ru": "Не ждите: «Защита покупателя» заканчивается",
                   "es": "No esperes: la Protección al comprador termina el",
                   "de": "Warte nicht: Der Käuferschutz endet am"},
    "too_early": {"en": "Too early", "ru": "Пока рано", "es": "Aún es pronto", "de": "Noch zu früh"},
    "open_now": {"en": "You can open the dispute now", "ru": "Спор уже можно открыть",
                 "es": "Ya puedes abrir la disputa", "de": "Du kannst den Streitfall jetzt eröffnen"},
    "last_safe_day": {"en": "Open it today: from tomorrow fewer than 15 days remain",
                      "ru": "Откройте его сегодня: с завтрашнего дня останется меньше безопасного запаса (15 дней)",
                      "es": "Ábrela hoy: a partir de mañana quedarán menos de 15 días",
                      "de": "Eröffne ihn heute: Ab morgen bleiben weniger als 15 Tage"},
    "urgent": {"en": "Urgent", "ru": "Срочно", "es": "Urgente", "de": "Dringend"},
    "return_is_full": {"en": "With “Return and refund” you get the full price back",
                       "ru": "При «Возврате товара и средств» вам возвращают полную стоимость",
                       "es": "Con «Devolución y reembolso» recibes el precio completo",
                       "de": "Bei „Rücksendung und Rückerstattung“ bekommst du den vollen Preis zurück"},
}
# Words that would tell the buyer protection is over.
ENDED = {"en": "ended", "ru": "закончилась", "es": "terminó", "de": "endete"}
TODAY = date(2026, 11, 21)


def typed(day: date, lang: str) -> str:
    """A date as a buyer of that language types it."""
    if lang == "en":
        return f"{day.month}/{day.day}/{day.year}"
    if lang == "es":
        return f"{day.day}/{day.month}/{day.year}"
    return f"{day:%d.%m.%Y}"


def shown(day: date, lang: str) -> str:
    """A date as the bot shows it (Babel's medium format), written out to pin it."""
    months = {"en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
              "ru": "янв. февр. мар. апр. мая июн. июл. авг. сент. окт. нояб. дек.",
              "es": "ene feb mar abr may jun jul ago sept oct nov dic"}
    if lang == "de":
        return f"{day:%d.%m.%Y}"
    month = months[lang].split()[day.month - 1]
    if lang == "en":
        return f"{month} {day.day}, {day.year}"
    return f"{day.day} {month} {day.year}" + (" г." if lang == "ru" else "")


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def language_user(harness, lang: str) -> ChatUser:
    return harness.user(5000 + LANGS.index(lang), language_code=lang)


async def to_dates(user: ChatUser, lang: str, *, shipped: date, protection: str | date | None,
                   reason: str = "not_received", solution: str = "refund_only") -> str:
    """Walks the intake up to the verdict after the dates; returns what the bot said then."""
    await walk(user, to="protection", reason=reason, solution=solution,
               order_total={"en": "$25.90", "ru": "25,90 ₽"}.get(lang, "25,90 €"), shipped_on=typed(shipped, lang))
    if protection is None:
        replies = await user.choose("?")
    else:
        replies = await user.send(typed(protection, lang) if isinstance(protection, date) else protection)
    return plain(user.texts(replies))


async def planned(harness, user: ChatUser, lang: str) -> list[tuple[str, str]]:
    """Pending reminders as (kind, local "YYYY-MM-DD HH:MM") in the buyer's zone."""
    d = await harness.store.focused_dispute(user.id)
    tz = ZoneInfo(ZONES[lang])
    return [(r.kind, r.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"))
            for r in await harness.store.list_reminders(d.id, status="pending")]


def sent(user: ChatUser) -> list[str]:
    return [plain(s.text) for s in user.replies() if s.text]


@pytest.mark.parametrize("lang", LANGS)
async def test_protection_ended_three_days_ago_says_look_for_open_dispute_today(harness, lang):
    user = language_user(harness, lang)
    text = await to_dates(user, lang, shipped=date(2026, 8, 1), protection=date(2026, 11, 18))
    # The Help Center allows a dispute within 15 days after the order finished: until Dec 3.
    assert SAYS["last_chance"][lang] in text and shown(date(2026, 12, 3), lang) in text
    assert SAYS["too_late"][lang] not in text
    # Reminded 3 days before that last day and on it, at 10:00 where the buyer is.
    assert await planned(harness, user, lang) == [
        ("last_chance", "2026-11-30 10:00"), ("last_chance", "2026-12-03 10:00")]
    replies = await user.choose("done")
    assert SAYS["last_chance"][lang] in plain(replies[-2].text)  # the summary says the same
    assert over_budget(replies[-2].text) is None  # a long verdict still fits a phone's first screen


@pytest.mark.parametrize("lang", LANGS)
async def test_past_the_fifteen_days_after_protection_it_is_too_late(harness, lang):
    user = language_user(harness, lang)
    text = await to_dates(user, lang, shipped=date(2026, 7, 1), protection=date(2026, 11, 5))
    assert SAYS["too_late"][lang] in text and shown(date(2026, 11, 20), lang) in text
    assert SAYS["last_chance"][lang] not in text
    assert await planned(harness, user, lang) == []


@pytest.mark.parametrize("lang", LANGS)
async def test_an_assumed_protection_end_never_says_ended(harness, lang):
    user = language_user(harness, lang)
    # Shipped 112 days ago, timer unknown: the assumed 60-day end (Sep 30) is long past.
    text = await to_dates(user, lang, shipped=date(2026, 8, 1), protection=None)
    assert SAYS["check_timer"][lang] in text and shown(date(2026, 9, 30), lang) in text
    assert ENDED[lang] not in text and SAYS["too_late"][lang] not in text
    assert await planned(harness, user, lang) == []


@pytest.mark.parametrize("lang", LANGS)
async def test_timer_ending_before_day_eleven_says_act_now_not_wait(harness, lang):
    user = language_user(harness, lang)
    # Shipped 5 days ago (first day to open: Nov 27), the timer shows 3 days (ends Nov 24).
    text = await to_dates(user, lang, shipped=date(2026, 11, 16), protection="3")
    assert SAYS["ends_first"][lang] in text and SAYS["too_early"][lang] not in text
    assert shown(date(2026, 11, 24), lang) in text and shown(date(2026, 11, 27), lang) in text
    reminders = await planned(harness, user, lang)
    # 3 days before the end is today at 10:00: still ahead in New York (07:00 now), past elsewhere.
    today = [("protection", "2026-11-21 10:00")] if lang == "en" else []
    assert reminders == [*today, ("protection", "2026-11-23 10:00"), ("protection", "2026-11-24 10:00"),
                         ("protection", "2026-11-25 09:00"), ("can_open", "2026-11-27 10:00"),
                         ("last_chance", "2026-12-06 10:00"), ("last_chance", "2026-12-09 10:00")]


@pytest.mark.parametrize("lang", LANGS)
async def test_can_open_reminder_comes_on_the_first_day_itself_in_daytime(harness, lang):
    user = language_user(harness, lang)
    # Shipped Nov 14: the 11th day after is Nov 25. The timer shows 40 days.
    text = await to_dates(user, lang, shipped=date(2026, 11, 14), protection="40")
    assert SAYS["too_early"][lang] in text and shown(date(2026, 11, 25), lang) in text
    assert ("can_open", "2026-11-25 10:00") in await planned(harness, user, lang)
    await user.choose("done")
    user.replies()
    tz = ZoneInfo(ZONES[lang])
    # Until 09:59 on Nov 25 where the buyer is: nothing (no "tomorrow" the evening before).
    await harness.pass_days((datetime(2026, 11, 25, 9, 59, tzinfo=tz) - harness.clock.current)
                            / timedelta(days=1), step_hours=0.5)
    assert sent(user) == []
    await harness.pass_days(0.25)
    (reminder,) = sent(user)
    assert SAYS["open_now"][lang] in reminder and SAYS["too_early"][lang] not in reminder


@pytest.mark.parametrize("lang", LANGS)
async def test_protection_reminders_start_when_the_safety_margin_is_reached(harness, lang):
    user = language_user(harness, lang)
    await to_dates(user, lang, shipped=date(2026, 11, 1), protection="20")  # ends Dec 11
    reminders = await planned(harness, user, lang)
    assert reminders[:5] == [("protection", "2026-11-26 10:00"), ("protection", "2026-12-04 10:00"),
                             ("protection", "2026-12-08 10:00"), ("protection", "2026-12-10 10:00"),
                             ("protection", "2026-12-11 10:00")]
    await user.choose("done")
    user.replies()
    await harness.pass_days(5.5)  # to Nov 27
    (reminder,) = sent(user)
    # On the margin day exactly 15 days are left: still open-now, and the last safe day says so.
    assert SAYS["open_now"][lang] in reminder and SAYS["last_safe_day"][lang] in reminder
    assert SAYS["urgent"][lang] not in reminder


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("days_left, verdict", [("16", "open_now"), ("15", "last_safe_day"), ("14", "urgent")])
async def test_the_fifteen_day_margin_at_the_dates_step(harness, lang, days_left, verdict):
    user = language_user(harness, lang)
    text = await to_dates(user, lang, shipped=date(2026, 11, 1), protection=days_left)
    assert SAYS[verdict][lang] in text
    others = {"open_now": ["last_safe_day", "urgent"], "last_safe_day": ["urgent"],
              "urgent": ["open_now", "last_safe_day"]}[verdict]
    assert not [v for v in others if SAYS[v][lang] in text]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("shipped, verdict", [(date(2026, 11, 11), "too_early"), (date(2026, 11, 10), "open_now")])
async def test_day_ten_is_too_early_and_day_eleven_opens(harness, lang, shipped, verdict):
    user = language_user(harness, lang)
    text = await to_dates(user, lang, shipped=shipped, protection="40")
    assert SAYS[verdict][lang] in text
    assert SAYS["open_now" if verdict == "too_early" else "too_early"][lang] not in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("ends, verdict", [
    (date(2026, 11, 21), "urgent"),       # the timer's last day
    (date(2026, 11, 20), "last_chance"),  # the day after
    (date(2026, 11, 6), "last_chance"),   # end + 15: the last day "Open Dispute" may be there
    (date(2026, 11, 5), "too_late"),      # end + 16
])
async def test_protection_end_and_the_fifteen_days_after_it(harness, lang, ends, verdict):
    user = language_user(harness, lang)
    text = await to_dates(user, lang, shipped=date(2026, 8, 1), protection=ends)
    assert SAYS[verdict][lang] in text
    assert not [v for v in ("urgent", "last_chance", "too_late") if v != verdict and SAYS[v][lang] in text]


@pytest.mark.parametrize("lang", LANGS)
async def test_return_and_refund_refuses_a_partial_amount(harness, lang):
    user = language_user(harness, lang)
    await to_dates(user, lang, shipped=date(2026, 11, 1), protection="40", reason="damaged",
                   solution="return_and_refund")
    replies = await user.send("10")
    assert SAYS["return_is_full"][lang] in plain(user.texts(replies))
    d = await harness.store.focused_dispute(user.id)
    assert d.state == "amount" and d.amount is None and not d.refund_full
    await user.choose("full")
    d = await harness.store.focused_dispute(user.id)
    assert d.state == "evidence" and d.refund_full


async def test_switching_to_a_return_drops_a_partial_amount(user, harness):
    await to_dates(user, "en", shipped=date(2026, 11, 1), protection="40", reason="damaged")
    await user.send("10")
    await user.choose("done")
    assert (await harness.store.focused_dispute(user.id)).amount is not None
    await user.choose("edit_solution")
    replies = await user.choose("return_and_refund")
    d = await harness.store.focused_dispute(user.id)
    assert d.state == "summary" and d.refund_full and d.amount is None
    assert "full refund $25.90" in replies[-2].text


# --- reminders that must not go out ---------------------------------------------------------------

async def test_a_reminder_whose_deadline_is_long_past_is_dropped(user, harness):
    await to_dates(user, "en", shipped=date(2026, 11, 1), protection="10")  # ends Dec 1
    user.replies()
    d = await harness.store.focused_dispute(user.id)
    # The bot was down until 3 days and 1 hour after the end: the advice would be stale.
    harness.clock.current = datetime(2026, 12, 2, 4, 59, tzinfo=timezone.utc) + timedelta(days=3, hours=1)
    await harness.engine.tick()
    texts = sent(user)
    statuses = {(r.kind, r.status) for r in await harness.store.list_reminders(d.id)}
    assert ("protection", "sent") not in statuses and ("protection", "skipped") in statuses
    assert not [t for t in texts if "Buyer Protection ended on Dec 1" in t and "Dispute #" in t]


async def test_a_reminder_just_inside_the_stale_limit_is_still_sent(user, harness):
    await to_dates(user, "en", shipped=date(2026, 11, 1), protection="10")  # ends Dec 1, 23:59 in New York
    user.replies()
    d = await harness.store.focused_dispute(user.id)
    harness.clock.current = datetime(2026, 12, 2, 4, 59, tzinfo=timezone.utc) + timedelta(days=2, hours=23)
    await harness.engine.tick()
    (reminder,) = sent(user)
    assert "Buyer Protection ended on Dec 1, 2026" in reminder and "Dispute #" in reminder
    assert ("protection", "sent") in {(r.kind, r.status) for r in await harness.store.list_reminders(d.id)}


async def test_a_snoozed_reminder_is_dropped_after_the_stage_changed(user, harness):
    await to_dates(user, "en", shipped=date(2026, 11, 1), protection="40")
    await user.choose("done")
    await user.choose("open_on_aliexpress")
    await user.choose("d0")  # the seller has until Nov 26
    await harness.pass_days(4.2)  # the "1 day before" reminder went out on Nov 25
    replies = await user.press("Remind me tomorrow")
    assert user.alerts(replies) == ["OK, I'll remind you tomorrow."]
    await user.choose("seller_accepted")  # the stage moved on: the snoozed reminder is moot
    user.replies()
    await harness.pass_days(1.5)
    assert not [t for t in sent(user) if "The seller's time to answer" in t]
    d = await harness.store.focused_dispute(user.id)
    snoozed = [r for r in await harness.store.list_reminders(d.id) if r.snoozed]
    assert [r.status for r in snoozed] == ["cancelled"]


async def test_a_snoozed_reminder_in_the_same_stage_is_sent(user, harness):
    await to_dates(user, "en", shipped=date(2026, 11, 1), protection="40")
    await user.choose("done")
    await user.choose("open_on_aliexpress")
    await user.choose("d0")
    await harness.pass_days(4.2)
    await user.press("Remind me tomorrow")
    user.replies()
    await harness.pass_days(1.2)
    assert [t for t in sent(user) if "The seller's time to answer" in t]


# --- after opening: refund days, chargeback limits, appeal and survey last days ----------------------

CHARGEBACK = {
    "en": ("allow 120 days, counted from the expected delivery date", "PayPal allows 180 days from the payment",
           "freezes the order and the dispute"),
    "ru": ("дают 120 дней, считая от ожидаемой даты доставки", "PayPal даёт 180 дней с даты оплаты",
           "замораживает заказ и спор"),
    "es": ("suelen dar 120 días, contados desde la fecha de entrega prevista", "PayPal da 180 días desde el pago",
           "congelar el pedido y la disputa"),
    "de": ("erlauben meist 120 Tage, gezählt ab dem erwarteten Lieferdatum", "PayPal erlaubt 180 Tage ab der Zahlung",
           "friert Bestellung und Streitfall bei AliExpress meist ein"),
}
REFUND_DAYS = {"en": "3–20 business days", "ru": "3–20 рабочих дней", "es": "de 3 a 20 días hábiles",
               "de": "3–20 Werktage"}


async def opened(user: ChatUser, lang: str) -> None:
    await to_dates(user, lang, shipped=date(2026, 11, 1), protection="40")
    await user.choose("done")
    await user.choose("open_on_aliexpress")
    await user.choose("d0")


@pytest.mark.parametrize("lang", LANGS)
async def test_refund_days_and_chargeback_limits(harness, lang):
    user = language_user(harness, lang)
    await opened(user, lang)
    replies = await user.choose("seller_accepted")
    assert REFUND_DAYS[lang] in plain(user.texts(replies))
    await user.choose("not_arrived")
    text = plain(user.texts(await user.choose("chargeback")))
    assert all(fragment in text for fragment in CHARGEBACK[lang])
    # Counted from the shipping date (Nov 1), earlier than delivery: never too late.
    assert shown(date(2027, 3, 1), lang) in text


@pytest.mark.parametrize("lang", LANGS)
async def test_appeal_and_survey_last_days(harness, lang):
    user = language_user(harness, lang)
    await opened(user, lang)
    await user.choose("escalate")
    text = plain(user.texts(await user.choose("decision_rejected")))
    # Ruled (reported) at noon UTC on Nov 21: appeal within 7 days, survey within 15. The last whole
    # day before each window closes is Nov 27 and Dec 5 wherever the buyer is.
    assert shown(date(2026, 11, 27), lang) in text and shown(date(2026, 12, 5), lang) in text
    assert await planned(harness, user, lang) == [
        ("appeal", "2026-11-22 10:00"), ("appeal", "2026-11-26 10:00"), ("survey", "2026-12-02 10:00")]


@pytest.mark.parametrize("lang", LANGS)
def test_every_verdict_renders_in_every_language(lang):
    from bot.i18n import make_i18n
    from bot.views import verdict_text
    from flows.dispute import Dispute
    from flows.eligibility import Verdict, assess
    from flows.policy import Policy
    from tests.test_languages import leaks

    i18n = make_i18n()
    cases = [(None, None), (-5, 40), (-5, 3), (-5, 20), (-30, 15), (-30, 40), (-30, 5), (-90, -3), (-90, -30),
             (-200, None), (-20, None)]
    seen = set()
    # (shipped, ends, tracking, estimated delivery): the tracking status adds a verdict and notes.
    cases = [(*case, None, None) for case in cases] + [
        (-30, 40, "moving", 5), (-3, 40, "none", None), (-30, 40, "delivered", None), (-30, 40, "customs", None)]
    for shipped, ends, tracking, eta in cases:
        d = Dispute(id=1, user_id=1, shipped_on=shipped and TODAY + timedelta(days=shipped),
                    protection_ends_on=ends and TODAY + timedelta(days=ends), received=tracking and False,
                    tracking=tracking, eta=eta and TODAY + timedelta(days=eta))
        e = assess(d, Policy(), TODAY)
        seen.add(e.verdict)
        with i18n.context(), i18n.use_locale(lang):
            text = verdict_text(e, lang, TODAY)
        assert text and "{" not in text, (e.verdict, text)
        if lang != "en":
            assert not leaks(text), (e.verdict, leaks(text))
    assert seen == set(Verdict)
