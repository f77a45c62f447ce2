"""What each photo or video shows: the buyer labels evidence, nothing is guessed (docs/rules.md, "Evidence").

After a single photo or video: its buttons. After an album, once it is all in: one question for all of it, or
"different things", which sends each part back ("Photo 2 of 10") to be labelled in turn; the evidence step's
"Label my photos" does the same for any left unlabelled. Labels are stored at once; a button from before the
evidence changed is only "outdated".
"""
from __future__ import annotations

import logging
from contextlib import suppress

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot import hints
from bot.conversation import show
from bot.formatting import html
from bot.keyboards import EACH, AlbumLabel, EvidenceLabel, LabelPhotos, answer_button, keyboard
from bot.services import Services
from bot.views import evidence_count, rows_of
from flows.dispute import Dispute
from flows.evidence import (LABELLED_KINDS, SHORT_LABELS, EvidenceItem, EvidenceKind, album_labels, album_parts,
                            fits_album, open_labels, unlabelled, valid_label)
from flows.steps import DONE

log = logging.getLogger(__name__)


async def label_keyboard(d: Dispute, item: EvidenceItem, svc: Services, items: list[EvidenceItem] | None = None,
                         *, then: bool = False) -> InlineKeyboardMarkup | None:
    """At the evidence step, "what does it show?": the checklist lines still open for a photo or video, and
    "other", then Done. Only a labelled photo ticks a line: nothing is guessed from the order they came in."""
    if d.state != "evidence" or item.id is None or item.kind not in LABELLED_KINDS:
        return None
    items = await svc.store.list_evidence(d) if items is None else items
    reason, tracking = d.evidence_case()
    buttons = [InlineKeyboardButton(text=_(SHORT_LABELS[key]), callback_data=EvidenceLabel(
        dispute_id=d.id, item_id=item.id, key=key, then=then).pack())
        for key in open_labels(reason, items, item.kind, tracking)]
    return keyboard(*rows_of(buttons, 2), [answer_button(d, _("✅ Done"), DONE)])


async def on_label(callback: CallbackQuery, callback_data: EvidenceLabel, bot: Bot, svc: Services,
                   locale: str) -> None:
    d = await svc.store.get_dispute(callback.from_user.id, callback_data.dispute_id)
    reason, tracking = d.evidence_case() if d is not None else (None, None)
    if (d is None or not valid_label(reason, callback_data.key, tracking)
            or not await svc.store.label_evidence(d, callback_data.item_id, callback_data.key)):
        await callback.answer(hints.outdated())
        return
    label = _(SHORT_LABELS[callback_data.key])
    await callback.answer(_("Noted: {label}").format(label=label))
    await mark_answered(callback.message, label)
    if callback_data.then and d.state == "evidence":
        # One by one: the next photo (of the same album first), and the checklist after the last.
        items = await svc.store.list_evidence(d)
        album = next((i.media_group_id for i in items if i.id == callback_data.item_id), None)
        left = [i for i in album_parts(items, album) if i.label is None] or unlabelled(items)
        if left:
            await ask_part(bot, callback.from_user.id, d, left[0], items, svc)
        else:
            await show(bot, callback.from_user.id, d, svc, locale)


async def on_label_photos(callback: CallbackQuery, callback_data: LabelPhotos, bot: Bot, svc: Services) -> None:
    """"Label my photos" at the evidence step: each one not labelled yet, in turn."""
    d = await svc.store.get_dispute(callback.from_user.id, callback_data.dispute_id)
    items = await svc.store.list_evidence(d) if d is not None and d.state == "evidence" else []
    left = unlabelled(items)
    if d is None or not left:
        await callback.answer(hints.outdated())
        return
    await callback.answer()
    await ask_part(bot, callback.from_user.id, d, left[0], items, svc)


async def mark_answered(message: object, label: str) -> None:
    """The question keeps the answer under it and loses its buttons (a second tap changes nothing)."""
    if not isinstance(message, Message):
        return
    with suppress(TelegramBadRequest):
        if message.text:
            await message.edit_text(f"{message.html_text}\n<b>→ {html(label)}</b>", reply_markup=None)
        elif message.caption:
            await message.edit_caption(caption=f"{message.html_text}\n<b>→ {html(label)}</b>", reply_markup=None)


async def ask_part(bot: Bot, chat_id: int, d: Dispute, part: EvidenceItem, items: list[EvidenceItem],
                   svc: Services) -> None:
    """"Photo 2 of 5: what does it show?" under the photo itself, sent back, so the buyer sees which one
    (numbered within its album, or among all the dispute's photos and videos)."""
    parts = album_parts(items, part.media_group_id) or [i for i in items if i.kind in LABELLED_KINDS]
    n, total = next(n for n, i in enumerate(parts, 1) if i.id == part.id), len(parts)
    caption = (_("🎬 Video {i} of {n}: what does it show?") if part.kind is EvidenceKind.VIDEO
               else _("📷 Photo {i} of {n}: what does it show?")).format(i=n, n=total)
    markup = await label_keyboard(d, part, svc, items, then=True)
    try:
        if part.file_name is not None or part.file_id is None:
            await bot.send_document(chat_id, part.file_id or "", caption=caption, reply_markup=markup)
        elif part.kind is EvidenceKind.VIDEO:
            await bot.send_video(chat_id, part.file_id, caption=caption, reply_markup=markup)
        else:
            await bot.send_photo(chat_id, part.file_id, caption=caption, reply_markup=markup)
    except TelegramBadRequest as e:  # e.g. Telegram no longer knows the file: ask without it
        log.info("evidence not shown again: %s", e.message)
        await bot.send_message(chat_id, caption, reply_markup=markup)


def album_keyboard(d: Dispute, first_id: int, keys: list[str]) -> InlineKeyboardMarkup:
    def button(text: str, key: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=AlbumLabel(
            dispute_id=d.id, first_item_id=first_id, key=key).pack())
    return keyboard(*rows_of([button(_(SHORT_LABELS[key]), key) for key in keys], 2),
                    [button(_("🔀 Different things"), EACH)], [answer_button(d, _("✅ Done"), DONE)])


async def on_album_label(callback: CallbackQuery, callback_data: AlbumLabel, bot: Bot, svc: Services,
                         locale: str) -> None:
    """One answer for the whole album, or "different things": then each part is asked about in turn. A button
    from before the evidence changed (the album labelled already, its photos forgotten) is only outdated."""
    d = await svc.store.get_dispute(callback.from_user.id, callback_data.dispute_id)
    items = await svc.store.list_evidence(d) if d is not None else []
    first = next((i for i in items if i.id == callback_data.first_item_id), None)
    parts = album_parts(items, first.media_group_id if first else None)
    left = [i for i in parts if i.label is None]
    key = callback_data.key
    reason, tracking = d.evidence_case() if d is not None else (None, None)
    if d is None or not left or (key != EACH and not (valid_label(reason, key, tracking)
                                                      and fits_album(reason, key, left, tracking))):
        await callback.answer(hints.outdated())
        return
    if key == EACH:
        await callback.answer()
        await mark_answered(callback.message, _("🔀 Different things"))
        await ask_part(bot, callback.from_user.id, d, left[0], items, svc)
        return
    labelled = sum([await svc.store.label_evidence(d, part.id, key) for part in left if part.id is not None])
    label = _(SHORT_LABELS[key])
    await callback.answer(ngettext("Noted for {n} file: {label}", "Noted for {n} files: {label}",
                                   labelled).format(n=labelled, label=label))
    await mark_answered(callback.message, label)
    if d.state == "evidence":
        await show(bot, callback.from_user.id, d, svc, locale)


async def ack_album(bot: Bot, chat_id: int, d: Dispute, album: str, svc: Services) -> None:
    """One line for the album; at the evidence step it also asks, once, what the album shows."""
    items = await svc.store.list_evidence(d)
    in_album = sum(i.media_group_id == album for i in items)
    text = ngettext("🖼 Album saved: {n} file.", "🖼 Album saved: {n} files.", in_album).format(n=in_album)
    text += " " + evidence_count(len(items))
    fresh = await svc.store.get_dispute(d.user_id, d.id)  # the buyer may have moved on while it arrived
    left = [i for i in album_parts(items, album) if i.label is None]
    markup = None
    if fresh is not None and fresh.state == "evidence" and len(left) == 1:
        markup = await label_keyboard(fresh, left[0], svc, items)
    elif fresh is not None and fresh.state == "evidence" and left and left[0].id is not None:
        text += "\n" + ngettext(
            "🏷 What does this album show? One answer for its {n} file, or “{each}” to label them one by one.",
            "🏷 What does this album show? One answer for all {n} files, or “{each}” to label them one by one.",
            len(left)).format(n=len(left), each=_("🔀 Different things"))
        reason, tracking = fresh.evidence_case()
        markup = album_keyboard(fresh, left[0].id, album_labels(reason, items, album, tracking))
    await bot.send_message(chat_id, text, reply_markup=markup)
