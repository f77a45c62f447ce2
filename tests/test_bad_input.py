"""Bad input in every state a buyer can be in, table-driven, through the real dispatcher.

For each state (no dispute yet, every intake step on a not-received and a
received path, an edit from the summary, the summary, a cancelled draft,
"opening", every lifecycle stage reachable by buttons and the final stages) a
fresh user is driven there; then every bad input of ``INPUTS`` is thrown at it.
After each one:

* the bot answered (a message to the user, or an answerCallbackQuery for a
  button), or stayed silent where Telegram users expect it (edited messages,
  channel posts, a redelivered update, a group it has already spoken in);
* the dispute's state, version and every answer (``vars(dispute)``), the
  user's record, their disputes and reminders are unchanged; evidence grew by
  exactly what the input legitimately adds (a note, a video, an album...);
* nothing crashed (no "Something went wrong", no ERROR log);
* every text the bot sent is HTML Telegram accepts: only b/i/u/s/code/pre/a,
  balanced, ``&`` only in entities, within Telegram's length limits.

Failures are collected per state and reported together, so one run lists
every (state, input) pair that misbehaves.
"""
from __future__ import annotations

import itertools
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, GetFile, SendDocument, SendMessage

from bot.keyboards import (AlbumLabel, Confirm, EvidenceLabel, LabelPhotos, OpenDispute, ReminderSnooze, StageAction,
                           StepAnswer, StepNav)
from flows.machine import FINAL, LIFECYCLE
from testkit.chat import BOT_USER, BotHarness, ChatUser, Sent, as_received
from tests.test_evidence import to_evidence_step
from testkit.intake import walk
from tests.test_lifecycle import open_dispute

OUTDATED = "This button is outdated."
CRASH = "Something went wrong on my side"

# --------------------------------------------------------------------------------------------
# Strict Telegram HTML
# --------------------------------------------------------------------------------------------
ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "a", "blockquote"}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*)?)>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_HREF = re.compile(r'^\s+href\s*=\s*"[^"<>]+"\s*$')
_CODE_CLASS = re.compile(r'^\s+class\s*=\s*"language-[\w+-]+"\s*$')


def html_problems(text: str, *, limit: int = 4096) -> list[str]:
    """Why Telegram would refuse ``text`` with parse_mode=HTML (empty list: it wouldn't)."""
    problems: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch == "<":
            m = _TAG.match(text, pos)
            if not m:
                problems.append(f"bare '<' at {pos}: {text[pos:pos + 30]!r}")
                pos += 1
                continue
            closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
            if name not in ALLOWED_TAGS:
                problems.append(f"tag <{closing}{name}> not allowed at {pos}")
            elif closing:
                if attrs.strip():
                    problems.append(f"closing tag </{name}> with attributes")
                if not stack or stack[-1] != name:
                    problems.append(f"unbalanced </{name}> at {pos} (open: {stack})")
                else:
                    stack.pop()
            else:
                if name == "a" and not _HREF.match(attrs):
                    problems.append(f"<a> without a proper href at {pos}")
                elif name == "code" and attrs.strip() and not _CODE_CLASS.match(attrs):
                    problems.append(f"<code> with attributes {attrs!r}")
                elif name == "blockquote" and (attrs.strip() not in ("", "expandable") or name in stack):
                    problems.append(f"<blockquote{attrs}> inside {stack}")  # Telegram: no nesting, one attribute
                elif name not in ("a", "code", "blockquote") and attrs.strip():
                    problems.append(f"<{name}> with attributes {attrs!r}")
                stack.append(name)
            pos = m.end()
        elif ch == "&":
            m = _ENTITY.match(text, pos)
            if not m:
                problems.append(f"bare '&' at {pos}: {text[pos:pos + 20]!r}")
                pos += 1
            else:
                pos = m.end()
        elif ch == ">":
            problems.append(f"bare '>' at {pos}: {text[max(0, pos - 20):pos + 1]!r}")
            pos += 1
        else:
            pos += 1
    if stack:
        problems.append(f"unclosed tags {stack}")
    if not problems:
        plain, _ = as_received(text)
        units = len(plain.encode("utf-16-le")) // 2
        if not plain.strip():
            problems.append("empty after parsing (Telegram: message text is empty)")
        if units > limit:
            problems.append(f"{units} UTF-16 units after parsing, over Telegram's {limit}")
    return problems


def _where_stripped(problem: str) -> str:
    return re.sub(r" at \d+", "", problem)


def telegram_problems(sent: Sent) -> list[str]:
    """Problems Telegram would reject this call for: its HTML, its length, its buttons."""
    m = sent.method
    problems: list[str] = []
    if isinstance(m, (SendMessage, EditMessageText)):
        problems += html_problems(m.text)
    elif isinstance(m, SendDocument) and m.caption is not None:
        problems += [f"caption: {p}" for p in html_problems(m.caption, limit=1024)]
    for label, data in sent.buttons():
        if not label.strip():
            problems.append("button without a label")
        if data is not None and not 1 <= len(data.encode()) <= 64:
            problems.append(f"button {label!r}: callback_data of {len(data.encode())} bytes")
    return problems


def test_the_html_checker_is_strict():
    assert html_problems("<b>ok</b> &amp; <i>fine</i> <pre>x</pre> <a href=\"https://t.me\">l</a>") == []
    assert html_problems("<b>&amp; *_[`")                       # unclosed tag
    assert html_problems("a & b")                                 # bare ampersand
    assert html_problems("<script>x</script>")                    # tag Telegram doesn't know
    assert html_problems("<b><i>x</b></i>")                       # crossed
    assert html_problems("1 < 2")                                 # bare '<'
    assert html_problems("x" * 4097)                              # too long
    assert html_problems("\u200b") == [] and html_problems("   ")  # whitespace only: empty
    assert html_problems("<blockquote expandable><b>t</b>\nx</blockquote><blockquote>y</blockquote>") == []
    assert html_problems("<blockquote open>x</blockquote>")      # unknown attribute
    assert html_problems("<blockquote><blockquote>x</blockquote></blockquote>")  # nested


# --------------------------------------------------------------------------------------------
# States: how a fresh user gets there
# --------------------------------------------------------------------------------------------
NOTE_STATES = frozenset({"evidence", *LIFECYCLE, *FINAL})   # typed text there is saved as a note
TYPED_STEPS = frozenset({"order_number", "order_total", "shipped_on", "protection", "amount", "stalled_since", "eta",
                         "detail", "item_name", "item_price"})


async def _none(u: ChatUser) -> None:
    await u.send("/start")


async def _reason(u: ChatUser) -> None:
    # Back from the first order fact: a reason keyboard from an older version exists.
    await walk(u, to="reason")
    await u.choose("not_received")
    await u.choose("back")


# The intake steps: a fresh user walked there (testkit.intake.walk), answering as these say.
RECEIVED = {"reason": "damaged", "received": "yes", "defect": "does_not_work", "detail": "?"}
NOT_RECEIVED = {"reason": "not_received", "tracking": "none", "order_number": "8123456789012345",
                "order_total": "$25.90", "shipped_on": "11/1/2026"}
STALLED = {"reason": "not_received", "tracking": "stalled", "stalled_since": "d7"}


def _walk_to(step: str, **answers: str) -> Callable[[ChatUser], Awaitable[None]]:
    async def drive(u: ChatUser) -> None:
        await walk(u, to=step, **answers)
    return drive


_order_number = _walk_to("order_number", **NOT_RECEIVED)


async def _amount(u: ChatUser) -> None:
    await walk(u, to="amount", reason="damaged", protection="30")  # not received asks no amount: a received item


async def _summary(u: ChatUser) -> None:
    await walk(u)


async def _summary_return(u: ChatUser) -> None:
    await walk(u, reason="damaged", solution="return_and_refund")


async def _editing_total(u: ChatUser) -> None:
    await walk(u)
    await u.choose("edit_order_total")


async def _cancelled(u: ChatUser) -> None:
    await _order_number(u)
    await u.send("/cancel")
    await u.press("Yes, cancel it")


async def _opening(u: ChatUser) -> None:
    await walk(u)
    await u.choose("open_on_aliexpress")


async def _negotiating(u: ChatUser) -> None:
    await walk(u)
    await open_dispute(u)


async def _counter_offer(u: ChatUser) -> None:
    await _negotiating(u)
    await u.choose("seller_offer")


async def _return_shipping(u: ChatUser) -> None:
    await walk(u, reason="damaged", solution="return_and_refund")
    await open_dispute(u)
    await u.choose("seller_accepted")


async def _refused(u: ChatUser) -> None:
    await _negotiating(u)
    await u.choose("seller_refused")


async def _return_sent(u: ChatUser) -> None:
    await _return_shipping(u)
    await u.choose("item_returned")


async def _escalated(u: ChatUser) -> None:
    await _negotiating(u)
    await u.choose("escalate")


async def _refund_pending(u: ChatUser) -> None:
    await _negotiating(u)
    await u.choose("seller_accepted")


async def _rejected(u: ChatUser) -> None:
    await _escalated(u)
    await u.choose("decision_rejected")


async def _refund_missing(u: ChatUser) -> None:
    await _refund_pending(u)
    await u.choose("not_arrived")


async def _refunded(u: ChatUser) -> None:
    await _refund_pending(u)
    await u.choose("refunded")


async def _chargeback(u: ChatUser) -> None:
    await _refund_missing(u)
    await u.choose("chargeback")


async def _withdrawn(u: ChatUser) -> None:
    await _negotiating(u)
    await u.choose("withdraw")
    await u.press("Yes, I cancelled it")


@dataclass(frozen=True)
class StateCase:
    name: str
    drive: Callable[[ChatUser], Awaitable[None]]
    db_state: str | None          # the dispute's state in the database (None: no dispute)
    editing: bool = False

    @property
    def active(self) -> bool:
        """The user has a focused dispute the bot works on (evidence is kept for it)."""
        return self.db_state not in (None, "cancelled")

    @property
    def takes_notes(self) -> bool:
        return self.db_state in NOTE_STATES


STATES: tuple[StateCase, ...] = (
    StateCase("no dispute yet", _none, None),
    StateCase("reason", _reason, "reason"),
    StateCase("received", _walk_to("received", **RECEIVED), "received"),
    StateCase("defect", _walk_to("defect", **RECEIVED), "defect"),
    StateCase("detail", _walk_to("detail", **RECEIVED), "detail"),
    StateCase("solution", _walk_to("solution", **RECEIVED), "solution"),
    StateCase("tracking", _walk_to("tracking", **NOT_RECEIVED), "tracking"),
    StateCase("stalled_since", _walk_to("stalled_since", **STALLED), "stalled_since"),
    StateCase("eta", _walk_to("eta", **STALLED), "eta"),
    StateCase("order_number", _order_number, "order_number"),
    StateCase("order_total", _walk_to("order_total", **NOT_RECEIVED), "order_total"),
    # A bare number: which currency?
    StateCase("currency", _walk_to("currency", **NOT_RECEIVED | {"order_total": "25.90"}), "currency"),
    StateCase("item_name", _walk_to("item_name", **NOT_RECEIVED | {"order_total": "several"}), "item_name"),
    StateCase("item_price", _walk_to("item_price", **NOT_RECEIVED | {"order_total": "several",
                                                                        "item_name": "Blue jacket, size L"}),
              "item_price"),
    StateCase("shipped_on", _walk_to("shipped_on", **NOT_RECEIVED), "shipped_on"),
    StateCase("protection", _walk_to("protection", **NOT_RECEIVED), "protection"),
    StateCase("amount", _amount, "amount"),
    StateCase("evidence", to_evidence_step, "evidence"),
    StateCase("summary", _summary, "summary"),
    StateCase("summary (damaged, return and refund)", _summary_return, "summary"),
    StateCase("order_total (editing from summary)", _editing_total, "order_total", editing=True),
    StateCase("cancelled", _cancelled, "cancelled"),
    StateCase("opening", _opening, "opening"),
    StateCase("negotiating", _negotiating, "negotiating"),
    StateCase("counter_offer", _counter_offer, "counter_offer"),
    StateCase("refused", _refused, "refused"),
    StateCase("return_shipping", _return_shipping, "return_shipping"),
    StateCase("return_sent", _return_sent, "return_sent"),
    StateCase("escalated", _escalated, "escalated"),
    StateCase("refund_pending", _refund_pending, "refund_pending"),
    StateCase("rejected", _rejected, "rejected"),
    StateCase("refund_missing", _refund_missing, "refund_missing"),
    StateCase("refunded", _refunded, "refunded"),
    StateCase("chargeback", _chargeback, "chargeback"),
    StateCase("withdrawn", _withdrawn, "withdrawn"),
)


def test_the_table_covers_every_state_a_user_can_be_in():
    from flows.machine import STATES as MACHINE_STATES
    covered = {s.db_state for s in STATES}
    assert {s["name"] for s in MACHINE_STATES} <= covered
    assert None in covered  # and no dispute at all


# --------------------------------------------------------------------------------------------
# Snapshots
# --------------------------------------------------------------------------------------------
@dataclass
class Snapshot:
    user: Any
    dispute_ids: list[int]
    answers: dict | None
    evidence: int
    reminders: list[tuple]

    def without_evidence(self) -> tuple:
        return self.user, self.dispute_ids, self.answers, self.reminders


async def snapshot(h: BotHarness, user_id: int, dispute_id: int | None) -> Snapshot:
    store = h.store
    d = await store.get_dispute(user_id, dispute_id) if dispute_id is not None else None
    reminders = ([(r.id, r.kind, r.due_at, r.deadline_at, r.status, r.snoozed, r.for_state)
                  for r in await store.list_reminders(d.id)] if d else [])
    return Snapshot(
        user=await store.get_user(user_id),
        dispute_ids=[x.id for x in await store.list_disputes(user_id)],
        # Everything but which chat message asked the question: a hint re-asks it in a new one.
        answers={k: v for k, v in vars(d).items() if k != "asked_message_id"} if d else None,
        evidence=await store.count_evidence(d) if d else 0,
        reminders=reminders,
    )


def _diff(before: dict | None, after: dict | None) -> str:
    if before is None or after is None:
        return f"{before!r} -> {after!r}"
    return ", ".join(f"{k}: {before.get(k)!r} -> {after.get(k)!r}"
                     for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k))


# --------------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------------
_ids = itertools.count(1)
_update_ids = itertools.count(900_000_000)   # far above the harness's own counter


@dataclass
class Ctx:
    h: BotHarness
    user: ChatUser
    state: StateCase
    dispute_id: int | None
    victim: ChatUser
    victim_dispute_id: int
    victim_reminder_id: int
    outdated: list[tuple[str, Sent]] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)   # input-specific failures


@dataclass(frozen=True)
class BadInput:
    name: str
    run: Callable[[Ctx], Awaitable[None]]
    kind: str = "message"          # message | album | callback | silent | group | custom (checks itself)
    adds: int | str = 0            # evidence added when the user has an active dispute; "note": in note states
    expect: str | None = None      # a phrase the reply must contain (active dispute)


def _message(u: ChatUser, **fields: Any) -> dict:
    return u._message(**fields)


def send(**fields: Any) -> Callable[[Ctx], Awaitable[None]]:
    async def run(ctx: Ctx) -> None:
        await ctx.user.send(**fields)
    return run


def text(value: str) -> Callable[[Ctx], Awaitable[None]]:
    async def run(ctx: Ctx) -> None:
        await ctx.user.send(value)
    return run


def document(name: str, mime: str, size: int, content: bytes | None = None) -> Callable[[Ctx], Awaitable[None]]:
    async def run(ctx: Ctx) -> None:
        file_id = f"doc-{next(_ids)}-{name}"
        if content is not None:
            ctx.h.session.files[file_id] = content
        await ctx.user.send(document={"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_name": name,
                                      "mime_type": mime, "file_size": size})
        if content is None and any(isinstance(s.method, GetFile) and s.method.file_id == file_id
                                   for s in ctx.h.session.sent):
            ctx.extra.append(f"getFile was called for {name} ({size} bytes), which must never be downloaded")
    return run


def callback_update(u: ChatUser, data: str, *, update_id: int | None = None) -> dict:
    update = {"callback_query": {
        "id": f"cb-{next(_ids)}", "from": u._from(), "chat_instance": "ci", "data": data,
        "message": {"message_id": 1, "date": int(time.time()), "chat": {"id": u.id, "type": "private"},
                    "from": BOT_USER.model_dump(), "text": "…"}}}
    if update_id is not None:
        update["update_id"] = update_id
    return update


def _tap_update(u: ChatUser, data: str, sent: Sent) -> dict:
    """The callback Telegram sends when the button ``data`` on the bot's message ``sent`` is pressed."""
    text, entities = as_received(sent.text or "…")
    markup = getattr(sent.method, "reply_markup", None)
    return {"callback_query": {
        "id": f"cb-{next(_ids)}", "from": u._from(), "chat_instance": "ci", "data": data,
        "message": {"message_id": sent.result.message_id, "date": int(time.time()),
                    "chat": {"id": u.id, "type": "private"}, "from": BOT_USER.model_dump(), "text": text,
                    "entities": entities, "reply_markup": markup.model_dump() if markup else None}}}


def tap(data_of: Callable[[Ctx], str]) -> Callable[[Ctx], Awaitable[None]]:
    async def run(ctx: Ctx) -> None:
        data = data_of(ctx)
        start = len(ctx.h.session.sent)
        await ctx.h.feed(callback_update(ctx.user, data))
        answers = [s.method.text for s in ctx.h.session.sent[start:] if isinstance(s.method, AnswerCallbackQuery)]
        if OUTDATED not in answers:
            ctx.extra.append(f"callback {data!r} was not answered {OUTDATED!r} (answers: {answers})")
    return run


async def album(ctx: Ctx) -> None:
    group = f"album-{next(_ids)}"
    start = len(ctx.h.session.sent)
    for n in range(10):
        await ctx.user.send_photo(f"{group}-{n}", media_group_id=group)
    await ctx.h.settle()
    if ctx.state.active:
        acks = [s.text for s in ctx.h.session.sent[start:] if s.chat_id == ctx.user.id and s.text]
        album_acks = [t for t in acks if "Album saved" in t]
        if len(album_acks) != 1 or "Album saved: 10 files." not in album_acks[0]:
            ctx.extra.append(f"the album was not acknowledged exactly once: {acks}")


async def forward_html(ctx: Ctx) -> None:
    replies = await ctx.user.forward("<i>Refund</i> & thanks", sender="<Evil & Co>")
    texts = ctx.user.texts(replies)
    if ctx.state.active and "&lt;Evil &amp; Co&gt;" not in texts:
        ctx.extra.append(f"the forward's sender was not echoed escaped: {texts[:200]!r}")


async def send_photo_captioned(ctx: Ctx) -> None:
    await ctx.user.send_photo(f"cap-{next(_ids)}", caption=HTML_SPECIALS)


async def edited(ctx: Ctx) -> None:
    # A valid answer for some steps: editing an old message must still change nothing.
    m = _message(ctx.user, text="8123456789012345", edit_date=int(time.time()))
    await ctx.h.feed({"edited_message": m})


async def channel_post(ctx: Ctx) -> None:
    await ctx.h.feed({"channel_post": {
        "message_id": next(_ids), "date": int(time.time()), "text": "/start",
        "chat": {"id": -1009000000000 - next(_ids), "type": "channel", "title": "Deals"},
        "sender_chat": {"id": -1009000000001, "type": "channel", "title": "Deals"}}})


def group_chat(kind: str) -> Callable[[Ctx], Awaitable[None]]:
    async def run(ctx: Ctx) -> None:
        chat_id = -(5_000_000 + next(_ids))
        chat = {"id": chat_id, "type": kind, "title": "Buyers"}
        sent = []
        for body in ("/start", "my parcel never came"):
            start = len(ctx.h.session.sent)
            fields: dict[str, Any] = {"text": body}
            if body.startswith("/"):
                fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(body)}]
            await ctx.h.feed({"message": {"message_id": next(_ids), "date": int(time.time()), "chat": chat,
                                          "from": ctx.user._from(), **fields}})
            sent.append([s for s in ctx.h.session.sent[start:] if isinstance(s.method, SendMessage)])
        first, second = sent
        if [s.chat_id for s in first] != [chat_id] or "private chat" not in first[0].text:
            ctx.extra.append(f"{kind}: the first message got {[(s.chat_id, s.text) for s in first]}, "
                             f"expected one 'private chat' line to the {kind}")
        if second:
            ctx.extra.append(f"{kind}: the bot answered the same {kind} twice: {[s.text for s in second]}")
    return run


async def duplicate_message(ctx: Ctx) -> None:
    update = {"update_id": next(_update_ids), "message": _message(ctx.user, sticker=STICKER)}
    start = len(ctx.h.session.sent)
    await ctx.h.feed(update)
    first = [s for s in ctx.h.session.sent[start:] if s.chat_id == ctx.user.id]
    middle = len(ctx.h.session.sent)
    await ctx.h.feed(update)
    second = ctx.h.session.sent[middle:]
    if not first:
        ctx.extra.append("the first delivery of the update got no reply")
    if second:
        ctx.extra.append(f"the redelivered update was handled again: {[type(s.method).__name__ for s in second]}")


async def duplicate_callback(ctx: Ctx) -> None:
    update = callback_update(ctx.user, "ans:zz", update_id=next(_update_ids))
    start = len(ctx.h.session.sent)
    await ctx.h.feed(update)
    first = [s for s in ctx.h.session.sent[start:] if isinstance(s.method, AnswerCallbackQuery)]
    middle = len(ctx.h.session.sent)
    await ctx.h.feed(update)
    second = ctx.h.session.sent[middle:]
    if not first:
        ctx.extra.append("the first delivery of the callback got no answerCallbackQuery")
    if second:
        ctx.extra.append(f"the redelivered callback was handled again: {[type(s.method).__name__ for s in second]}")


async def outdated_buttons(ctx: Ctx) -> None:
    if not ctx.outdated:
        ctx.extra.append("no outdated button to press (the table's drive should leave one)")
    for data, sent in ctx.outdated:
        start = len(ctx.h.session.sent)
        await ctx.h.feed(_tap_update(ctx.user, data, sent))
        answers = [s.method.text for s in ctx.h.session.sent[start:] if isinstance(s.method, AnswerCallbackQuery)]
        if OUTDATED not in answers:
            ctx.extra.append(f"outdated button {data!r} was not answered {OUTDATED!r} (answers: {answers})")


STICKER = {"file_id": "st-1", "file_unique_id": "st-1", "type": "regular", "width": 512, "height": 512,
           "is_animated": False, "is_video": False}
LONG_TEXT = ("My parcel is lost, the tracking stopped weeks ago and nobody answers. " * 80)[:4096]
HTML_SPECIALS = "<b>&amp; *_[`"
CORRUPT = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR not really a png \xff\xd8\xff" * 8

INPUTS: tuple[BadInput, ...] = (
    # Text
    BadInput("empty text", text("")),
    BadInput("whitespace", text("   "), adds="note"),
    BadInput("4096 characters", text(LONG_TEXT), adds="note"),
    BadInput("emoji only", text("😭😭😭"), adds="note"),
    BadInput("right-to-left", text("مرحبا بالعالم"), adds="note"),
    BadInput("zero-width", text("\u200b\u200c\u200d"), adds="note"),
    BadInput("chinese", text("我没有收到货"), adds="note"),
    BadInput("html/markdown specials", text(HTML_SPECIALS), adds="note"),
    # Media and other message kinds
    BadInput("sticker", send(sticker=STICKER)),
    BadInput("voice", send(voice={"file_id": "vo-1", "file_unique_id": "vo-1", "duration": 3,
                                  "mime_type": "audio/ogg", "file_size": 9000})),
    BadInput("video note", send(video_note={"file_id": "vn-1", "file_unique_id": "vn-1", "length": 240,
                                            "duration": 8, "file_size": 300_000}), adds=1),
    BadInput("location", send(location={"latitude": 55.75, "longitude": 37.62})),
    BadInput("contact", send(contact={"phone_number": "+100000", "first_name": "Bob", "user_id": 77})),
    BadInput("poll", send(poll={"id": "poll-1", "question": "Refund?", "total_voter_count": 0,
                                "options": [{"persistent_id": "o1", "text": "yes", "voter_count": 0},
                                            {"persistent_id": "o2", "text": "no", "voter_count": 0}],
                                "is_closed": False, "is_anonymous": True, "type": "regular",
                                "allows_multiple_answers": False, "allows_revoting": False,
                                "members_only": False})),
    BadInput("dice", send(dice={"emoji": "🎲", "value": 4})),
    # A GIF arrives as an mp4 animation; Telegram also fills "document" for old clients.
    BadInput("animation (GIF)", send(
        animation={"file_id": "gif-1", "file_unique_id": "gif-1", "width": 320, "height": 240, "duration": 3,
                   "file_name": "funny.gif.mp4", "mime_type": "video/mp4", "file_size": 400_000},
        document={"file_id": "gif-1", "file_unique_id": "gif-1", "file_name": "funny.gif.mp4",
                  "mime_type": "video/mp4", "file_size": 400_000}), adds=1),
    BadInput("document .exe", document("setup.exe", "application/x-msdownload", 10_000),
             expect="AliExpress takes only photos"),
    BadInput("document .docx", document(
        "claim.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 10_000),
        expect="AliExpress takes only photos"),
    BadInput("document .zip", document("all.zip", "application/zip", 10_000), expect="AliExpress takes only photos"),
    BadInput("photo document of 25 MB", document("scan.png", "image/png", 25 * 1024 * 1024), adds=1,
             expect="too big for me to shrink"),
    # Small and declared as an accepted format: kept as is, never downloaded.
    BadInput("corrupt small PNG", document("broken.png", "image/png", len(CORRUPT), CORRUPT), adds=1),
    # A format AliExpress refuses must be converted: the corrupt bytes get decoded and fail.
    BadInput("corrupt small WEBP", document("broken.webp", "image/webp", len(CORRUPT), CORRUPT), adds=1,
             expect="couldn't open this image"),
    BadInput("album of 10 photos", album, kind="album", adds=10),
    # Forwards are evidence: the sender's name is echoed and must be escaped.
    BadInput("forward from '<Evil & Co>'", forward_html, adds=1),
    BadInput("forwarded sticker", send(sticker=STICKER, forward_origin={
        "type": "hidden_user", "sender_user_name": "Shop", "date": 1_790_000_000})),
    BadInput("photo with an HTML caption", send_photo_captioned, adds=1),
    # Silently ignored
    BadInput("edited message", edited, kind="silent"),
    BadInput("channel post", channel_post, kind="silent"),
    BadInput("duplicate update (message)", duplicate_message, kind="custom"),
    BadInput("duplicate update (callback)", duplicate_callback, kind="custom"),
    # Commands and chats
    BadInput("unknown command", text("/frobnicate"), expect="don't know that command"),
    BadInput("/help with the bot's username", text("/help@dispute_test_bot"), expect="How it works"),
    BadInput("group chat", group_chat("group"), kind="group"),
    BadInput("supergroup chat", group_chat("supergroup"), kind="group"),
    # Buttons
    BadInput("callback ans:zz", tap(lambda c: "ans:zz"), kind="callback"),
    BadInput("callback empty data", tap(lambda c: ""), kind="callback"),
    BadInput("callback 64 x", tap(lambda c: "x" * 64), kind="callback"),
    BadInput("forged answer", tap(lambda c: StepAnswer(dispute_id=c.victim_dispute_id, version=_victim_v(c),
                                                       step="summary", value="damaged").pack()), kind="callback"),
    BadInput("forged nav open", tap(lambda c: StepNav(dispute_id=c.victim_dispute_id, version=_victim_v(c),
                                                      action="open_on_aliexpress").pack()), kind="callback"),
    BadInput("forged nav cancel", tap(lambda c: StepNav(dispute_id=c.victim_dispute_id, version=_victim_v(c),
                                                        action="cancel").pack()), kind="callback"),
    BadInput("forged confirm cancel", tap(lambda c: Confirm(dispute_id=c.victim_dispute_id, version=_victim_v(c),
                                                            event="cancel", confirm=True).pack()), kind="callback"),
    BadInput("forged stage action", tap(lambda c: StageAction(dispute_id=c.victim_dispute_id,
                                                              action="mute").pack()), kind="callback"),
    BadInput("forged open", tap(lambda c: OpenDispute(dispute_id=c.victim_dispute_id).pack()), kind="callback"),
    BadInput("forged evidence label", tap(lambda c: EvidenceLabel(dispute_id=c.victim_dispute_id, item_id=1,
                                                                  key="order").pack()), kind="callback"),
    BadInput("evidence label with a made-up key", tap(lambda c: EvidenceLabel(
        dispute_id=c.dispute_id or 10_000, item_id=1, key="zz").pack()), kind="callback"),
    BadInput("forged album label", tap(lambda c: AlbumLabel(dispute_id=c.victim_dispute_id, first_item_id=1,
                                                            key="other").pack()), kind="callback"),
    BadInput("album label for no album", tap(lambda c: AlbumLabel(
        dispute_id=c.dispute_id or 10_000, first_item_id=10**12, key="each").pack()), kind="callback"),
    BadInput("forged label my photos", tap(lambda c: LabelPhotos(dispute_id=c.victim_dispute_id).pack()),
             kind="callback"),
    BadInput("forged snooze", tap(lambda c: ReminderSnooze(reminder_id=c.victim_reminder_id).pack()),
             kind="callback"),
    BadInput("outdated buttons", outdated_buttons, kind="callback"),
)

_VICTIM_VERSION: dict[int, int] = {}


def _victim_v(ctx: Ctx) -> int:
    return _VICTIM_VERSION[ctx.victim_dispute_id]


def expected_added(inp: BadInput, state: StateCase) -> int:
    if not state.active:
        return 0
    if inp.adds == "note":
        return 1 if state.takes_notes else 0
    return int(inp.adds)


# --------------------------------------------------------------------------------------------
# The table-driven test
# --------------------------------------------------------------------------------------------
CASES: Counter[str] = Counter()   # state name -> (state, input) pairs exercised


def old_buttons(h: BotHarness, u: ChatUser, dispute_id: int | None, version: int) -> list[tuple[str, Sent]]:
    """Buttons of the user's dispute from messages before its current version (deduplicated)."""
    found: dict[str, Sent] = {}
    for sent in h.session.sent:
        if sent.chat_id != u.id:
            continue
        for _, data in sent.buttons():
            for cls in (StepAnswer, StepNav, Confirm):
                try:
                    cb = cls.unpack(data)
                except (TypeError, ValueError):
                    continue
                if cb.dispute_id == dispute_id and cb.version < version:
                    found.setdefault(data, sent)
    items = list(found.items())
    # Spread over the history: the first keyboards, the last before the current one.
    return items if len(items) <= 12 else items[:6] + items[-6:]


@pytest.mark.parametrize("state", STATES, ids=[s.name for s in STATES])
async def test_bad_input_changes_nothing_and_gets_an_answer(harness, state: StateCase, caplog):
    caplog.set_level(logging.ERROR)
    h = harness
    failures: list[str] = []

    # Another buyer with a dispute at the summary (it has reminders): the forgery target.
    victim = h.user(2002, first_name="Victim")
    await walk(victim)
    vd = await h.store.focused_dispute(victim.id)
    _VICTIM_VERSION[vd.id] = vd.version
    victim_reminders = await h.store.list_reminders(vd.id, status="pending")
    assert victim_reminders, "the victim's dispute should have reminders"
    victim_before = await snapshot(h, victim.id, vd.id)

    user = h.user(1001)
    await state.drive(user)
    d = await h.store.focused_dispute(user.id)
    disputes = await h.store.list_disputes(user.id)
    dispute_id = disputes[0].id if disputes else None
    if state.db_state is None:
        assert d is None and not disputes
    elif state.db_state == "cancelled":
        assert d is None and disputes[0].state == "cancelled"
    else:
        assert d is not None and d.state == state.db_state and d.editing == state.editing, (d and d.state)
    current = await h.store.get_dispute(user.id, dispute_id) if dispute_id else None
    outdated = old_buttons(h, user, dispute_id, current.version if current else 0)
    if not outdated:
        # Nothing older exists: a button of a dispute the user doesn't have.
        outdated = [(StepNav(dispute_id=10_000, version=0, action="back").pack(), user.last_with_buttons())]

    # Telegram would refuse these: (method, problem, text) -> the inputs (or setup) that produced them.
    refused: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for s in h.session.sent:
        for p in telegram_problems(s):
            refused.setdefault((type(s.method).__name__, _where_stripped(p)), []).append(("(driving there)", s.text))
    user.replies()

    for inp in INPUTS:
        ctx = Ctx(h, user, state, dispute_id, victim, vd.id, victim_reminders[0].id, outdated)
        where = f"[{state.name} / {inp.name}]"
        before = await snapshot(h, user.id, dispute_id)
        start = len(h.session.sent)
        logs_before = len(caplog.records)
        try:
            await inp.run(ctx)
        except Exception as e:  # noqa: BLE001 - every input must be survivable
            failures.append(f"{where} raised {type(e).__name__}: {e}")
            user.replies()
            continue
        CASES[state.name] += 1
        new = h.session.sent[start:]
        user.replies()
        mine = [s for s in new if s.chat_id == user.id]
        messages = [s for s in mine if isinstance(s.method, (SendMessage, SendDocument))]
        answers = [s for s in new if isinstance(s.method, AnswerCallbackQuery)]
        texts = "\n---\n".join(s.text for s in mine if s.text)

        failures += [f"{where} {msg}" for msg in ctx.extra]
        # Replied, or silent where that's what Telegram users expect.
        if inp.kind in ("message", "album") and not messages:
            failures.append(f"{where} no reply to the user (sent: {[type(s.method).__name__ for s in new]})")
        elif inp.kind == "callback" and not answers:
            failures.append(f"{where} no answerCallbackQuery")
        elif inp.kind == "silent" and new:
            failures.append(f"{where} should be ignored, the bot sent {[(type(s.method).__name__, s.text[:60]) for s in new]}")
        elif inp.kind in ("group", "callback") and messages:
            failures.append(f"{where} the private chat got {[s.text[:80] for s in messages]}")
        if inp.expect and state.active and inp.expect not in texts:
            failures.append(f"{where} reply lacks {inp.expect!r}: {texts[:300]!r}")
        if inp.adds == "note" and state.active and state.takes_notes and "Note saved" not in texts:
            failures.append(f"{where} the note was not acknowledged: {texts[:200]!r}")
        if inp.name == "chinese" and state.db_state in TYPED_STEPS and "refuses Chinese characters" not in texts:
            failures.append(f"{where} no hint about Chinese characters: {texts[:200]!r}")
        if any(raw in s.text for s in new for raw in (HTML_SPECIALS, "<Evil & Co>", "<i>Refund</i> &")):
            failures.append(f"{where} the user's text was echoed unescaped")
        if CRASH in texts:
            failures.append(f"{where} crashed: the user got {CRASH!r}")
        errors = [r for r in caplog.records[logs_before:] if r.levelno >= logging.ERROR]
        if errors:
            failures.append(f"{where} logged errors: {[r.getMessage() + ' ' + repr(r.exc_info and r.exc_info[1]) for r in errors]}")
        if any(s.chat_id == victim.id for s in new):
            failures.append(f"{where} the other buyer got a message")
        for s in new:
            for p in telegram_problems(s):
                refused.setdefault((type(s.method).__name__, _where_stripped(p)), []).append((inp.name, s.text))

        after = await snapshot(h, user.id, dispute_id)
        if after.without_evidence() != before.without_evidence():
            if after.answers != before.answers:
                failures.append(f"{where} the dispute changed: {_diff(before.answers, after.answers)}")
            if after.user != before.user:
                failures.append(f"{where} the user record changed: {before.user} -> {after.user}")
            if after.dispute_ids != before.dispute_ids:
                failures.append(f"{where} disputes changed: {before.dispute_ids} -> {after.dispute_ids}")
            if after.reminders != before.reminders:
                failures.append(f"{where} reminders changed")
        grown, want = after.evidence - before.evidence, expected_added(inp, state)
        if grown != want:
            failures.append(f"{where} evidence grew by {grown}, expected {want}")

    victim_after = await snapshot(h, victim.id, vd.id)
    if victim_after != victim_before:
        failures.append(f"[{state.name}] the other buyer's dispute changed: "
                        f"{_diff(victim_before.answers, victim_after.answers)}")

    for (method, problem), seen in refused.items():
        inputs = ", ".join(dict.fromkeys(name for name, _ in seen))
        failures.append(f"[{state.name}] Telegram would refuse {method} ({problem}) sent after: {inputs}; "
                        f"first text: {seen[0][1]!r}")
    assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures)


async def test_evidence_from_bad_input_renders_safely_in_the_summary(harness):
    """What the bad inputs left as evidence (notes, flagged files, an album) still renders as valid HTML."""
    h = harness
    user = h.user(1001)
    await to_evidence_step(user)
    victim = h.user(2002)
    await walk(victim)
    vd = await h.store.focused_dispute(victim.id)
    _VICTIM_VERSION[vd.id] = vd.version
    ctx = Ctx(h, user, next(s for s in STATES if s.name == "evidence"), None, victim, vd.id, 0)
    for inp in INPUTS:
        if inp.kind in ("message", "album"):
            await inp.run(ctx)
    await h.settle()
    replies = await user.choose("done")
    assert (await h.store.focused_dispute(user.id)).state == "summary"
    problems = [p for s in replies for p in telegram_problems(s)]
    assert not problems, problems
    assert "Your dispute is ready" in user.texts(replies)


def test_zz_summary():
    n, k = sum(CASES.values()), len(CASES)
    print(f"\nbad-input cases: {n} across {k} states")
    if k == len(STATES):
        assert n >= 30 * k
