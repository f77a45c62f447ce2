"""Documents about a dispute: the timeline picture ("🗓 Timeline") and the dossier PDF (/dossier, "📄 Dossier").

Both are built on request from what the database holds and sent at once: nothing is written to disk or
stored, so /forget leaves nothing of them behind. Photos for the dossier are downloaded through getFile
(never above Telegram's 20 MB download limit) and kept in memory only while the PDF is built.
"""
from __future__ import annotations

import asyncio
import io
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiohttp import ClientError

from bot import hints
from bot.filters import PRIVATE
from bot.formatting import fmt_date, fmt_relative, user_language
from bot.keyboards import Paperwork
from bot.planning import user_zone
from bot.services import Services
from flows.calendar import HOLIDAY_COUNTRY
from flows.dispute import Dispute
from flows.steps import NAMES as STEPS
from flows.evidence import EvidenceItem, EvidenceKind
from flows.explanation import ENGLISH
from flows.images import ImageError, can_download

log = logging.getLogger(__name__)


# flows.timeline and flows.dossier (fpdf, fontTools, Pillow) are imported on first use, not at start: the bot
# polls Telegram that much sooner (BENCHMARKS.md, figure 3), and few buyers ever ask for a dossier.
async def send_timeline(bot: Bot, chat_id: int, d: Dispute, svc: Services, locale: str) -> None:
    from flows.timeline import LABELS, Row, milestones, render_png
    tz = await user_zone(svc, d.user_id, locale)
    found = milestones(d, svc.policy, tz, HOLIDAY_COUNTRY.get(locale))
    if not found:
        await bot.send_message(chat_id, _("No dates yet: tell me the shipping date or the Buyer Protection timer."))
        return
    today = svc.clock.now().astimezone(tz).date()
    rows = [Row(m.day, _(LABELS[m.key])) for m in found]
    png = await asyncio.to_thread(
        render_png, _("Dispute #{id}: dates").format(id=d.id), rows, today=today, today_label=_("Today"),
        fmt_date=lambda day: fmt_date(day, locale), relative=lambda days: fmt_relative(days, locale))
    await bot.send_photo(chat_id, BufferedInputFile(png, filename=f"dispute-{d.id}-timeline.png"),
                         caption=_("🗓 The dates of dispute #{id}: grey is past, blue is ahead, red is today.").format(
                             id=d.id))


async def download_photos(bot: Bot, items: list[EvidenceItem]) -> dict[int, bytes]:
    """Each image item that can be downloaded and decoded, as a JPEG of at most PHOTO_LONG_SIDE pixels (shrunk
    at once, off the event loop: 30 photos of up to 20 MB are never all in memory); the others are listed in the
    dossier."""
    from flows.dossier import PHOTO_LONG_SIDE, shrink
    photos: dict[int, bytes] = {}
    for item in items:
        if item.kind is not EvidenceKind.IMAGE or item.id is None or not item.file_id:
            continue
        if not can_download(item.file_size):
            continue
        try:
            buffer = await bot.download(item.file_id, destination=io.BytesIO())
            photos[item.id] = await asyncio.to_thread(shrink, buffer.getvalue(), PHOTO_LONG_SIDE, 90)
        except ImageError as e:
            log.info("evidence photo not decoded: %s", e.code)
        except (TelegramAPIError, ClientError, OSError, asyncio.TimeoutError) as e:
            log.info("evidence photo not downloaded: %s", type(e).__name__)
    return photos


async def send_dossier(bot: Bot, chat_id: int, d: Dispute, svc: Services, locale: str) -> None:
    if d.state in STEPS or d.state == "cancelled":
        await bot.send_message(chat_id, _("The dossier needs your answers first: finish the questions, then send "
                                          "/dossier again."))
        return
    await bot.send_message(chat_id, _("📄 Putting your dossier together…"))
    from flows.dossier import Case, build_dossier
    items = await svc.store.list_evidence(d)
    tz = await user_zone(svc, d.user_id, locale)
    case = Case(d, items, svc.policy, tz, HOLIDAY_COUNTRY.get(locale), svc.clock.now())
    languages = [user_language(locale, svc.i18n)] + ([ENGLISH] if locale != "en" else [])
    photos = await download_photos(bot, items)
    pdf = await asyncio.to_thread(build_dossier, case, languages, photos)
    if len(languages) > 1:
        caption = _("📄 Dossier of dispute #{id}: the order, what happened, your statement, the deadlines and your "
                    "evidence, for your bank (chargeback), with an English copy for the appeal to AliExpress.")
    else:
        caption = _("📄 Dossier of dispute #{id}: the order, what happened, your statement, the deadlines and your "
                    "evidence, for your bank (chargeback) and the appeal to AliExpress.")
    caption = caption.format(id=d.id)
    await bot.send_document(chat_id, BufferedInputFile(pdf, filename=f"dispute-{d.id}-dossier.pdf"),
                            caption=caption)


async def on_dossier_command(message: Message, bot: Bot, svc: Services, locale: str) -> None:
    d = await svc.store.focused_dispute(message.from_user.id)
    if d is None:
        await message.answer(hints.no_dispute())
        return
    await send_dossier(bot, message.chat.id, d, svc, locale)


async def on_paperwork(callback: CallbackQuery, callback_data: Paperwork, bot: Bot, svc: Services,
                       locale: str) -> None:
    d = await svc.store.get_dispute(callback.from_user.id, callback_data.dispute_id)
    if d is None or callback_data.what not in ("timeline", "dossier"):
        await callback.answer(hints.outdated())
        return
    await callback.answer()
    if callback_data.what == "timeline":
        await send_timeline(bot, callback.from_user.id, d, svc, locale)
    else:
        await send_dossier(bot, callback.from_user.id, d, svc, locale)


def create_router() -> Router:
    router = Router(name="paperwork")
    router.message.filter(PRIVATE)
    router.callback_query.register(on_paperwork, Paperwork.filter())
    router.message.register(on_dossier_command, Command("dossier"))
    return router
