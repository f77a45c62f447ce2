"""Typed callback data and the keyboards built from it.

Every dispute button carries the dispute id and its version: a button from an
older message (or a double tap) no longer matches and changes nothing.
"""
from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from flows.dispute import Dispute

# Ids and versions as SQLite stores them (signed 64-bit, never negative here). A forged
# button with a bigger number fails to unpack, like any malformed data, and gets the
# "outdated button" answer instead of an OverflowError at the database.
RowInt = Annotated[int, Field(ge=0, le=2**63 - 1)]


class StepAnswer(CallbackData, prefix="ans"):
    """A button answer to the dispute's current step."""
    dispute_id: RowInt
    version: RowInt
    step: str
    value: str


class StepNav(CallbackData, prefix="nav"):
    """Back, Cancel and "change this answer" (edit_<step>)."""
    dispute_id: RowInt
    version: RowInt
    action: str


class Confirm(CallbackData, prefix="cf"):
    """Yes/No for events that can't be undone (cancel the draft, withdraw the dispute)."""
    dispute_id: RowInt
    version: RowInt
    event: str
    confirm: bool


class StageAction(CallbackData, prefix="act"):
    """Stage buttons that aren't machine events: calendar, reminders on/off, information."""
    dispute_id: RowInt
    action: str


class Paperwork(CallbackData, prefix="doc"):
    """Documents about a dispute: "timeline" (a PNG of its dates) or "dossier" (the PDF for bank and appeal)."""
    dispute_id: int
    what: str


class EvidenceLabel(CallbackData, prefix="lbl"):
    """What a photo or video shows: a checklist line's key, or "other". ``then``: asked one by one (an album's
    photos, or "label my photos"), so the next unlabelled one is asked after it."""
    dispute_id: int
    item_id: int
    then: bool = False  # before the key: buttons are told apart by the last part of their data
    key: str


class LabelPhotos(CallbackData, prefix="lbls"):
    """At the evidence step: ask about each photo or video not labelled yet, one by one."""
    dispute_id: RowInt


class AlbumLabel(CallbackData, prefix="alb"):
    """What a whole album shows (a checklist line's key, or "other"), or ``EACH``: label its photos one by one.
    The album is named by its first part's id: the callback data has room for ids, not for media_group_id."""
    dispute_id: RowInt
    first_item_id: RowInt
    key: str


# AlbumLabel's key for "they show different things".
EACH = "each"


class ReminderSnooze(CallbackData, prefix="snz"):
    reminder_id: RowInt


class OpenedOn(CallbackData, prefix="opened"):
    """"Yes, I opened it that day" when the day contradicts the dates the bot has."""
    dispute_id: int
    version: int
    days_ago: int


class OpenDispute(CallbackData, prefix="open"):
    dispute_id: RowInt


class NewDispute(CallbackData, prefix="new"):
    pass


class LanguageChoice(CallbackData, prefix="lang"):
    code: str


class ForgetConfirm(CallbackData, prefix="forget"):
    confirm: bool


# Values of StepAnswer that aren't options of a step (those are in flows/steps.py): "opening" takes the days ago.
DAYS_AGO = {"d0": 0, "d1": 1, "d2": 2, "d7": 7}


def answer_button(d: Dispute, text: str, value: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=StepAnswer(dispute_id=d.id, version=d.version, step=d.state, value=value).pack())


def nav_button(d: Dispute, text: str, action: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=StepNav(dispute_id=d.id, version=d.version, action=action).pack())


def keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    """The rows as a markup, empty rows left out. Built directly: aiogram's
    InlineKeyboardBuilder deep-copies and re-validates every button (~15x dearer),
    and a keyboard goes out with nearly every message."""
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def step_keyboard(d: Dispute, rows: list[list[InlineKeyboardButton]], *, back: bool = True) -> InlineKeyboardMarkup:
    nav = [nav_button(d, _("◀️ Back"), "back")] if back else []
    nav.append(nav_button(d, _("✖️ Cancel"), "cancel"))
    return keyboard(*rows, nav)


def in_rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]
