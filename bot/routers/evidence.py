"""Evidence: photos, videos, image files and forwarded messages.

Kept by Telegram file_id; a file is downloaded only to compress or convert an
image for AliExpress (jpg/png/bmp/gif under 2 MB), never above Telegram's
20 MB download limit, and decoded off the event loop.
"""
from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (BufferedInputFile, Message, MessageOriginChannel, MessageOriginChat, MessageOriginHiddenUser,
                           MessageOriginUser)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiohttp import ClientError

from bot import hints
from bot.conversation import show
from bot.filters import PRIVATE, Inline
from bot.formatting import fmt_date, html
from bot.guard import guard_warning
from bot.middlewares import mark_committed
from bot.services import Services
from bot.keyboards import AlbumLabel, EvidenceLabel, LabelPhotos
from bot.routers.labels import ack_album, label_keyboard, on_album_label, on_label, on_label_photos
from bot.views import evidence_count, evidence_summary
from flows.dispute import Dispute
from flows.evidence import UPLOAD_PROBLEMS, EvidenceItem, EvidenceKind
from flows.images import ImageError, can_download, check_image, compress_for_aliexpress, is_image

log = logging.getLogger(__name__)



def origin_name(message: Message) -> str | None:
    o = message.forward_origin
    if isinstance(o, MessageOriginUser):
        return o.sender_user.full_name
    if isinstance(o, MessageOriginHiddenUser):
        return o.sender_user_name
    if isinstance(o, MessageOriginChat):
        return o.sender_chat.title
    if isinstance(o, MessageOriginChannel):
        return o.chat.title
    return None


def to_item(message: Message) -> EvidenceItem | None:
    """What the message holds as evidence; None for files AliExpress can't take."""
    item = EvidenceItem(kind=EvidenceKind.FORWARD, media_group_id=message.media_group_id,
                        text=message.text or message.caption)
    if message.forward_origin is not None:
        item.origin_name = origin_name(message)
        item.origin_date = message.forward_origin.date
    if message.photo:
        photo = message.photo[-1]  # the largest size Telegram kept
        item.kind, item.file_id, item.file_unique_id = EvidenceKind.IMAGE, photo.file_id, photo.file_unique_id
        item.file_size, item.mime_type = photo.file_size, "image/jpeg"
    elif message.video or message.video_note:
        video = message.video or message.video_note
        item.kind, item.file_id, item.file_unique_id = EvidenceKind.VIDEO, video.file_id, video.file_unique_id
        item.file_size = video.file_size
        item.mime_type = getattr(video, "mime_type", None)
    elif message.document:
        doc = message.document
        item.file_id, item.file_unique_id = doc.file_id, doc.file_unique_id
        item.file_name, item.mime_type, item.file_size = doc.file_name, doc.mime_type, doc.file_size
        if (doc.mime_type or "").startswith("video/"):
            item.kind = EvidenceKind.VIDEO
        elif is_image(doc.file_name, doc.mime_type):
            item.kind = EvidenceKind.IMAGE
        else:
            return None
    elif message.forward_origin is None or not item.text:
        return None
    if item.kind is EvidenceKind.IMAGE:
        check = check_image(item.file_name, item.mime_type, item.file_size)
        if not check.accepted_format:
            item.flags.add("format")
        if not check.within_size:
            item.flags.add("too_big")
    return item


def carries_evidence(message: Message | None) -> bool:
    """What this router takes: flood control never counts nor drops it."""
    return message is not None and bool(message.photo or message.video or message.video_note
                                        or message.document or message.forward_origin)


async def on_evidence(message: Message, bot: Bot, svc: Services, locale: str) -> None:
    d = await svc.store.focused_dispute(message.from_user.id)
    # A batch (forwarded messages, several files at once) arrives as one update each,
    # already queued behind this one: it gets one line when it's over, not one per item.
    burst = f"burst:{message.chat.id}"
    batch = svc.albums.pending(burst) or svc.backlog(message.from_user.id) > 0
    if d is None or d.state == "cancelled":
        if batch:
            svc.albums.part_arrived(burst, svc.config.bot.album_settle_seconds,
                                    lambda: ack_burst(bot, message.chat.id, None, burst, svc), part=NO_DISPUTE)
            return
        await message.answer(hints.no_dispute())
        return
    item = to_item(message)
    in_burst = batch and (item is None or item.media_group_id is None)
    if item is None:
        if in_burst:
            svc.albums.part_arrived(burst, svc.config.bot.album_settle_seconds,
                                    lambda: ack_burst(bot, message.chat.id, d, burst, svc), part=refused(message))
            return
        await message.answer(_("⚠️ AliExpress takes only photos (jpg, png, bmp, gif) and videos. "
                               "Send a screenshot or a photo instead."))
        return
    warning = guard_warning(item, margin_days=svc.policy.protection_margin_days) if item.text else None
    album = item.media_group_id
    # Stored as the buyer sent it before anything else can fail (the download, the
    # upload of a ready copy, a reply): what follows only improves it.
    count = await svc.store.add_evidence(d, item)
    mark_committed()
    if item.flags & UPLOAD_PROBLEMS:
        await fix_image(message, bot, item, svc)
    if warning:
        # At once, but once per batch: thirty pressuring messages get the warning one time.
        if not (in_burst and _Warned(warning) in svc.albums.parts(burst)):
            await message.answer(warning)
            if in_burst:
                svc.albums.part_arrived(burst, svc.config.bot.album_settle_seconds,
                                        lambda: ack_burst(bot, message.chat.id, d, burst, svc),
                                        part=_Warned(warning))
    if album is not None:
        svc.albums.part_arrived(album, svc.config.bot.album_settle_seconds,
                                lambda: ack_album(bot, message.chat.id, d, album, svc))
        return
    if in_burst:
        svc.albums.part_arrived(burst, svc.config.bot.album_settle_seconds,
                                lambda: ack_burst(bot, message.chat.id, d, burst, svc), part=item)
        return
    text = ack(item, locale) + " " + evidence_count(count)
    if item.kind is EvidenceKind.FORWARD and await first_forward(d, item, svc):
        text += "\n" + SCREENSHOT_HINT()
    await message.answer(text, reply_markup=await label_keyboard(d, item, svc))
    if d.state != "evidence":
        # Evidence is welcome at any step; then the step the buyer is on.
        await show(bot, message.chat.id, d, svc, locale)


def SCREENSHOT_HINT() -> str:  # noqa: N802 - a message, translated when called
    return _("📸 AliExpress takes images, not forwarded messages: also send a screenshot of this chat from the "
             "AliExpress app.")


async def first_forward(d: Dispute, item: EvidenceItem, svc: Services) -> bool:
    """The dispute's first forwarded message: the buyer is told once to screenshot the chat for AliExpress."""
    return not any(i.kind is EvidenceKind.FORWARD and i.id != item.id for i in await svc.store.list_evidence(d))


def ack(item: EvidenceItem, locale: str) -> str:
    if item.kind is EvidenceKind.FORWARD:
        who = html(item.origin_name or _("a hidden sender"))
        when = fmt_date(item.origin_date.date(), locale) if item.origin_date else "?"
        return _("💬 Message from {who} ({date}) saved.").format(who=who, date=when)
    if item.kind is EvidenceKind.VIDEO:
        return _("🎬 Video saved.")
    return _("📷 Photo saved.")


def refused(message: Message) -> str:
    """How the buyer will recognise a file that wasn't kept."""
    if message.document:
        return message.document.file_name or _("a file")
    return _("a forwarded message without text")


@dataclass(frozen=True)
class _Warned:
    """A pressure warning already sent during this batch."""
    text: str


class _NoDispute:
    """A part of a batch that came with no dispute to keep it in."""


NO_DISPUTE = _NoDispute()


async def ack_burst(bot: Bot, chat_id: int, d: Dispute | None, key: str, svc: Services) -> None:
    """One line for a batch: how much was saved, and exactly what wasn't."""
    parts = svc.albums.parts(key)
    kept = [p for p in parts if isinstance(p, EvidenceItem)]
    not_kept = [p for p in parts if isinstance(p, str)]
    homeless = sum(p is NO_DISPUTE for p in parts)
    lines = []
    if homeless:
        lines.append(ngettext("⚠️ Not kept: {n} item, because no dispute is in progress. Send /new to start one.",
                              "⚠️ Not kept: {n} items, because no dispute is in progress. Send /new to start one.",
                              homeless).format(n=homeless))
    if kept:
        lines.append(_("📥 Saved: {what}.").format(what=evidence_summary(kept)))
    if not_kept:
        lines.append(ngettext(
            "⚠️ Not kept: {names}. AliExpress takes only photos (jpg, png, bmp, gif) and videos.",
            "⚠️ Not kept ({n}): {names}. AliExpress takes only photos (jpg, png, bmp, gif) and videos.",
            len(not_kept)).format(n=len(not_kept), names=html(", ".join(not_kept))))
    if d is not None:
        lines.append(evidence_count(await svc.store.count_evidence(d)))
    await bot.send_message(chat_id, "\n".join(lines))


async def fix_image(message: Message, bot: Bot, item: EvidenceItem, svc: Services) -> None:
    """Sends back a JPEG under 2 MB made from an image AliExpress would refuse, and makes
    that copy the stored evidence. The original is stored already: if the download, the
    conversion or the upload fails, it stays, and the buyer is told the copy wasn't made."""
    if not can_download(item.file_size):
        await message.answer(_("⚠️ This file is too big for me to shrink (over 20 MB). "
                               "Take a screenshot of it, or export it smaller, and send that."))
        return
    try:
        buffer = await bot.download(item.file_id, destination=io.BytesIO())
        jpeg = await asyncio.to_thread(compress_for_aliexpress, buffer.getvalue())
    except ImageError as e:
        log.info("image not fixed: %s", e.code)
        if e.code == "too_many_pixels":
            await message.answer(_("⚠️ This image has too many pixels for me to make an AliExpress-ready copy. "
                                   "For the upload, take a screenshot of it or export it smaller."))
        else:
            await message.answer(_("⚠️ I couldn't open this image. Send it again as a photo or a screenshot."))
        return
    except NETWORK_ERRORS as e:
        log.warning("image not fixed, download failed: %s", type(e).__name__)
        await message.answer(not_fixed())
        return
    except Exception as e:  # noqa: BLE001 - e.g. memory ran out: the evidence is kept anyway
        log.warning("image not fixed: %s", type(e).__name__)
        await message.answer(_("⚠️ I couldn't make an AliExpress-ready copy of this image right now. "
                               "Send it again in a few minutes if you need the copy."))
        return
    name = f"evidence-{item.file_unique_id or 'photo'}.jpg"
    try:
        sent = await message.answer_document(
            BufferedInputFile(jpeg, filename=name),
            caption=_("✅ Made AliExpress-ready (JPEG, {size} KB): upload this copy.").format(size=len(jpeg) // 1024))
    except NETWORK_ERRORS as e:
        log.warning("image not fixed, upload failed: %s", type(e).__name__)
        await message.answer(not_fixed())
        return
    if sent.document:
        # The ready copy replaces the original as the evidence to upload.
        item.file_id, item.file_unique_id = sent.document.file_id, sent.document.file_unique_id
        item.file_name, item.mime_type, item.file_size = name, "image/jpeg", len(jpeg)
        item.flags = {"fixed"}
        await svc.store.replace_evidence_file(item)


# What a download or an upload can fail with: Telegram's errors (5xx, 429, network, which
# aiogram wraps) and, for the file download itself, aiohttp's own.
NETWORK_ERRORS = (TelegramAPIError, ClientError, TimeoutError)


def not_fixed() -> str:
    return _("⚠️ Your file is kept as evidence, but I couldn't make the AliExpress-ready copy: the connection "
             "to Telegram failed. AliExpress won't take the file as it is: send it again in a few minutes, "
             "or send a screenshot of it.")


def create_router() -> Router:
    router = Router(name="evidence")
    router.message.filter(PRIVATE)
    router.message.register(on_evidence, Inline(F.photo | F.video | F.video_note | F.document | F.forward_origin))
    router.callback_query.register(on_label, EvidenceLabel.filter())
    router.callback_query.register(on_album_label, AlbumLabel.filter())
    router.callback_query.register(on_label_photos, LabelPhotos.filter())
    return router
