"""Four languages: catalogs, plurals, locale formatting, switching, no English leaking."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from aiogram.methods import SetMyCommands, SetMyDescription, SetMyShortDescription
from babel.messages.pofile import read_po

from bot.app import set_profile
from bot.i18n import LOCALES_DIR, make_i18n, telegram_locale
from testkit.chat import ChatUser

PLACEHOLDER_OR_TAG = re.compile(r"\{[a-z_]+\}|</?[a-z]+>")


def english_fragments() -> set[str]:
    """Literal pieces of every English message, long enough to be unmistakably English."""
    with (LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    fragments = set()
    for message in catalog:
        for msgid in (message.id if isinstance(message.id, tuple) else (message.id,)):
            for piece in PLACEHOLDER_OR_TAG.split(msgid or ""):
                piece = piece.strip(" .,:;!?()“”\n•→")
                if len(piece) >= 10 and " " in piece:
                    fragments.add(piece)
    return fragments


ENGLISH = english_fragments()


def leaks(text: str) -> list[str]:
    # The form's text and its English option names (in <code>) are English on purpose.
    visible = re.sub(r"<pre>.*?</pre>|<code>.*?</code>", "", text, flags=re.S)
    return sorted(f for f in ENGLISH if f in visible)


@pytest.mark.parametrize("code, expected", [
    ("ru", "ru"), ("ru-RU", "ru"), ("es-MX", "es"), ("de-AT", "de"), ("en-GB", "en"), ("fr", "en"),
    ("pt-br", "en"), (None, "en"), ("", "en"),
])
def test_language_follows_telegram(code, expected):
    assert telegram_locale(code) == expected


CASES = {
    # language, typed total, typed shipping date, medium date shown, money shown
    "ru": ("2 500,50", "01.11.2026", "1 нояб. 2026 г.", "2 500,50 ₽"),
    "es": ("2.500,50", "1/11/2026", "1 nov 2026", "2.500,50 €"),
    "de": ("2.500,50", "01.11.2026", "01.11.2026", "2.500,50 €"),
    "en": ("2,500.50", "11/1/2026", "Nov 1, 2026", "$2,500.50"),
}


# The first two currency buttons after a bare number, per language (flows/languages.py).
CURRENCY_BUTTONS = {"en": ("USD", "GBP"), "ru": ("RUB", "KZT"), "es": ("EUR", "MXN"), "de": ("EUR", "CHF")}


@pytest.mark.parametrize("lang", sorted(CASES))
async def test_full_dispute_in_each_language(harness, lang):
    total, shipped, shown_date, shown_money = CASES[lang]
    user = harness.user(3000 + len(lang) + ord(lang[0]), language_code=lang)
    everything = []
    everything += await user.send("/start")
    everything += await user.choose("new")
    everything += await user.choose("not_received")
    everything += await user.choose("none")  # tracking: no tracking / invalid number
    everything += await user.send("8123456789012345")
    everything += await user.send(total)
    # A bare number: the language's currencies as buttons (asked once, then remembered for this buyer).
    assert [v.rsplit(":", 1)[-1] for _, v in everything[-1].buttons()][:2] == list(CURRENCY_BUTTONS[lang])
    everything += await user.choose(CURRENCY_BUTTONS[lang][0])
    everything += await user.send(shipped)
    everything += await user.send("30")
    everything += await user.send_photo("t1")
    everything += await user.forward("ok", sender="Shop")
    everything += await user.send("0")  # a note
    everything += await user.choose("done")
    texts = [s.text for s in everything if s.text]
    summary, explanation = texts[-2], texts[-1]
    plain = re.sub(r"[\u00a0\u202f]", " ", summary)  # Babel's no-break spaces
    assert shown_date in plain and shown_money in plain
    assert "I have not received order 8123456789012345." in explanation  # the form's text stays English
    assert "2,500.50" in explanation
    d = await harness.store.focused_dispute(user.id)
    assert d.order_total == Decimal("2500.50") and d.shipped_on == date(2026, 11, 1)
    if lang != "en":
        found = {f for t in texts for f in leaks(t)}
        assert not found, f"English in {lang} replies: {sorted(found)[:5]}"
        assert "<i>" in explanation  # the buyer's own-language copy under the English text


def test_russian_plurals():
    i18n = make_i18n()

    def days(n: int) -> str:
        return i18n.gettext("{n} day left", "{n} days left", n, locale="ru").format(n=n)

    assert days(1).endswith("1 день") or "1 день" in days(1)
    assert "2 дня" in days(2)
    assert "5 дней" in days(5)
    assert "11 дней" in days(11)
    assert "21 день" in days(21)


@pytest.mark.parametrize("lang", ["ru", "es", "de"])
def test_plural_forms_translated_for_every_count(lang):
    i18n = make_i18n()
    for n in (1, 2, 5, 11, 21, 101):
        text = i18n.gettext("{n} piece of evidence so far.", "{n} pieces of evidence so far.", n, locale=lang)
        assert "{n}" in text and text not in ("{n} piece of evidence so far.", "{n} pieces of evidence so far.")


async def test_language_switch_persists_across_restart(harness):
    user = harness.user(4444, language_code="en")
    await user.send("/language")
    replies = await user.choose("ru")
    assert "Русский" in ChatUser.texts(replies)
    await harness.restart()
    replies = await user.send("/start")
    assert not leaks(ChatUser.texts(replies)) and "AliExpress" in ChatUser.texts(replies)
    assert (await harness.store.get_user(4444)).locale == "ru"


async def test_profile_is_set_for_every_language(harness):
    await set_profile(harness.bot, harness.svc)
    sent = harness.session.sent
    commands = {s.method.language_code: s.method for s in sent if isinstance(s.method, SetMyCommands)}
    descriptions = {s.method.language_code: s.method.description for s in sent
                    if isinstance(s.method, SetMyDescription)}
    shorts = {s.method.language_code: s.method.short_description for s in sent
              if isinstance(s.method, SetMyShortDescription)}
    assert set(commands) == set(descriptions) == set(shorts) == {None, "ru", "es", "de"}
    assert len(set(descriptions.values())) == 4 and len(set(shorts.values())) == 4
    assert all(len(s) <= 120 for s in shorts.values()) and all(len(d) <= 512 for d in descriptions.values())
    names = {c.command for c in commands["ru"].commands}
    assert names == {"new", "disputes", "cancel", "language", "timezone", "dossier", "help", "privacy", "export", "forget"}
    assert commands["ru"].commands[0].description != commands[None].commands[0].description


def test_the_leak_check_catches_english():
    assert len(ENGLISH) > 100
    assert leaks("🤔 I can't use that here.\n\nWhat went wrong with your order?")
    assert not leaks("<pre>I have not received order 1.</pre> Спор уже можно открыть.")


@pytest.mark.parametrize("lang", ["en", "ru", "es", "de"])
def test_every_stage_and_reminder_renders_in_every_language(lang):
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from aiogram.types import InlineKeyboardMarkup
    from aiogram.utils.i18n import gettext as _

    from bot.reminders import MESSAGES, PASSED, when_text
    from bot.stages import EVENT_LABELS
    from bot.stages import stage_keyboard, stage_text
    from flows.dispute import Dispute
    from flows.machine import FINAL, LIFECYCLE
    from flows.policy import Policy

    i18n = make_i18n()
    now = datetime(2026, 11, 21, 12, tzinfo=timezone.utc)
    tz = ZoneInfo("Europe/Berlin")

    ENGLISH_LABELS = set(EVENT_LABELS.values())
    for state in ("opening", *LIFECYCLE, *FINAL):
        d = Dispute(id=1, user_id=1, state=state, shipped_on=now.date() - timedelta(days=20),
                    protection_ends_on=now.date() + timedelta(days=30), window_started_at=now,
                    return_agreed_at=now, returned_at=now, refund_started_at=now, decided_at=now,
                    decision="partial", reason="not_received")
        with i18n.context(), i18n.use_locale(lang):
            text = stage_text(d, Policy(), tz=tz, country="DE", now=now, locale=lang)
            labels = [b.text for row in (stage_keyboard(d) or InlineKeyboardMarkup(inline_keyboard=[])).inline_keyboard
                      for b in row]
        assert text and "{" not in text
        if lang != "en":
            assert not leaks(text), (state, leaks(text))
            assert not [label for label in labels if leaks(label) or label in ENGLISH_LABELS], (state, labels)
    for template in (*MESSAGES.values(), *PASSED.values()):
        for days in (-3, -1, 0, 1, 4):
            with i18n.context(), i18n.use_locale(lang):
                text = _(template).format(when=when_text(now + timedelta(days=days), now, tz, lang))
            assert "{" not in text
            if lang != "en":
                assert not leaks(text), (template, leaks(text))
