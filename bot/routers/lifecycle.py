"""Stage buttons that aren't machine events: calendar, reminders, information; /timezone."""
from __future__ import annotations

import functools
from contextlib import suppress
from datetime import datetime, timedelta
from zoneinfo import available_timezones

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from babel.dates import get_timezone_location

from bot import hints
from bot.conversation import show
from bot.filters import PRIVATE, Inline
from bot.formatting import html
from bot.i18n import babel_locale
from bot.keyboards import ReminderSnooze, StageAction, in_rows, keyboard
from bot.planning import reminder_plan, user_zone, zone
from bot.services import Services
from bot.stages import DEADLINE_TITLES
from flows.calendar import HOLIDAY_COUNTRY, Deadline, deadlines_ics, next_daytime
from flows.reminders import ahead

# Buttons for /timezone, per language: the zones most of its buyers live in.
ZONES = {
    "en": ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London"),
    "ru": ("Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Novosibirsk",
           "Asia/Vladivostok"),
    "es": ("Europe/Madrid", "Atlantic/Canary", "America/Mexico_City", "America/Bogota", "America/Argentina/Buenos_Aires"),
    "de": ("Europe/Berlin", "Europe/Vienna", "Europe/Zurich"),
}


async def on_stage_action(callback: CallbackQuery, callback_data: StageAction, bot: Bot, svc: Services,
                          locale: str) -> None:
    d = await svc.store.get_dispute(callback.from_user.id, callback_data.dispute_id)
    if d is None:
        await callback.answer(hints.outdated())
        return
    await callback.answer()
    action = callback_data.action
    if action == "ics":
        await send_calendar(bot, callback.from_user.id, d, svc, locale)
    elif action in ("mute", "unmute"):
        d.reminders_off = action == "mute"
        tz = await user_zone(svc, d.user_id, locale)
        if await svc.store.save_dispute(d, plan=reminder_plan(d, svc, tz, locale, svc.clock.now())):
            svc.reminders_changed.set()
        note = _("🔕 No more reminders for this dispute.") if d.reminders_off else _("🔔 Reminders are on again.")
        await show(bot, callback.from_user.id, d, svc, locale, hint=note)
    elif action == "goods_arrived":
        await bot.send_message(callback.from_user.id, _(
            "📦 <b>The goods came after the refund?</b> Contact the seller from the order page: send the money "
            "back as they ask, or agree on another solution. Keeping both isn't fair, and the seller can ask "
            "AliExpress to step in."))
    else:
        await bot.send_message(callback.from_user.id, hints.outdated())


async def send_calendar(bot: Bot, chat_id: int, d, svc: Services, locale: str) -> None:
    """The deadlines still ahead that matter in the dispute's stage, as all-day events; sent again,
    the file updates the same events (stable UIDs, a higher SEQUENCE)."""
    tz = await user_zone(svc, d.user_id, locale)
    now = svc.clock.now()
    upcoming = ahead(d, svc.policy, tz, HOLIDAY_COUNTRY.get(locale), now)
    order = (_("Order {number}").format(number=d.order_number) if d.order_number
             else _("Order number unknown"))
    description = f"{order} · " + _("Dispute #{id}").format(id=d.number)
    items = [Deadline(key, f"{_(DEADLINE_TITLES[key])} · {order}", moment.astimezone(tz).date(), description)
             for key, moment in upcoming.items()]
    if not items:
        await bot.send_message(chat_id, _("No dates ahead for this dispute right now."))
        return
    ics = deadlines_ics(d.id, items, alarm_at=svc.policy.reminder_time, now=now,
                        sequence=int(now.timestamp()) // 60)
    await bot.send_document(chat_id, BufferedInputFile(ics, filename=f"dispute-{d.number}.ics"),
                            caption=_("📅 Every deadline of dispute #{id}, with alarms. Open the file to add it "
                                      "to your calendar.").format(id=d.number))


async def on_snooze(callback: CallbackQuery, callback_data: ReminderSnooze, svc: Services, locale: str) -> None:
    reminder = await svc.store.get_reminder(callback.from_user.id, callback_data.reminder_id)
    d = await svc.store.get_dispute(callback.from_user.id, reminder.dispute_id) if reminder else None
    if reminder is None or d is None:
        await callback.answer(hints.outdated())
        return
    tz = await user_zone(svc, d.user_id, locale)
    local = svc.clock.now().astimezone(tz) + timedelta(days=1)
    due = next_daytime(datetime.combine(local.date(), svc.policy.reminder_time, tzinfo=tz), tz,
                       svc.policy.daytime_start, svc.policy.daytime_end)
    await svc.store.snooze_reminder(d, reminder.kind, due, reminder.deadline_at)
    svc.reminders_changed.set()
    await callback.answer(_("OK, I'll remind you tomorrow."), show_alert=False)


async def on_timezone(message: Message, command: CommandObject, bot: Bot, svc: Services, locale: str) -> None:
    if command.args:
        await set_timezone(message.from_user.id, command.args.strip(), bot, svc, locale)
        return
    current = await user_zone(svc, message.from_user.id, locale)
    buttons = [InlineKeyboardButton(text=city_name(name, locale), callback_data=f"tz:{name}")
               for name in ZONES.get(locale, ZONES["en"])]
    await message.answer(_("Your time zone: <b>{zone}</b>. Reminders come between {start} and {end} there.\n"
                           "Pick another, or send /timezone followed by its name, like /timezone Europe/Paris.").format(
        zone=zone_label(current.key, locale), start=svc.policy.daytime_start.strftime("%H:%M"),
        end=svc.policy.daytime_end.strftime("%H:%M")), reply_markup=keyboard(*in_rows(buttons, 2)))


def city_name(key: str, locale: str) -> str:
    """The zone's city in the buyer's language (CLDR, via Babel): "Москва", "Nueva York"."""
    with suppress(LookupError, ValueError):
        city = get_timezone_location(key, locale=babel_locale(locale), return_city=True)
        if city and "/" not in city:
            return city
    return key.rsplit("/", 1)[-1].replace("_", " ")


def zone_label(key: str, locale: str) -> str:
    city = city_name(key, locale)
    return key if city == key else f"{city} ({key})"


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every zone by its name and by its city, written any case: "europe/berlin", "berlin", "new york"."""
    names: dict[str, str] = {}
    cities: dict[str, set[str]] = {}
    for key in available_timezones():
        names[key.casefold()] = key
        cities.setdefault(key.rsplit("/", 1)[-1].replace("_", " ").casefold(), set()).add(key)
    # A city in one zone only: "Berlin" is Europe/Berlin, but no guess between namesakes.
    names.update({city: keys.pop() for city, keys in cities.items() if len(keys) == 1 and city not in names})
    return names


def find_zone(typed: str, locale: str = "en") -> str | None:
    text = " ".join(typed.replace("_", " ").split()).casefold()
    # The offered zones by their city in the buyer's language too: "москва", "viena".
    local = {city_name(key, locale).casefold(): key for keys in ZONES.values() for key in keys}
    return _zone_names().get(text) or _zone_names().get(text.replace(" ", "_")) or local.get(text)


async def on_timezone_button(callback: CallbackQuery, bot: Bot, svc: Services, locale: str) -> None:
    await callback.answer()
    await set_timezone(callback.from_user.id, callback.data.removeprefix("tz:"), bot, svc, locale)


async def set_timezone(user_id: int, name: str, bot: Bot, svc: Services, locale: str) -> None:
    key = find_zone(name[:64], locale)
    if key is None:
        await bot.send_message(user_id, _("⚠️ I don't know the time zone “{name}”. Try a name like Europe/Berlin or "
                                          "America/New_York.").format(name=html(name[:64])))
        return
    tz = zone(key, "")
    await svc.store.set_timezone(user_id, tz.key)
    # Quiet hours moved: every active dispute's reminders are planned again.
    now = svc.clock.now()
    for d in await svc.store.list_disputes(user_id):
        await svc.store.save_dispute(d, plan=reminder_plan(d, svc, tz, locale, now))
    svc.reminders_changed.set()
    await bot.send_message(user_id, _("🕘 Time zone set: {zone}.").format(zone=zone_label(tz.key, locale)))


def create_router() -> Router:
    router = Router(name="lifecycle")
    router.message.filter(PRIVATE)
    router.callback_query.register(on_stage_action, StageAction.filter())
    router.callback_query.register(on_snooze, ReminderSnooze.filter())
    router.callback_query.register(on_timezone_button, Inline(F.data.startswith("tz:")))
    router.message.register(on_timezone, Command("timezone"))
    return router

