"""The dispute's dates on one axis, as a picture a buyer reads on a phone.

``milestones`` collects the dates from the same functions the reminders and the calendar use
(flows.reminders.deadlines, flows.eligibility.opening_dates) plus the moments the dispute stored, so the
picture never disagrees with the messages. ``render_png`` draws them top to bottom (a phone screen is tall),
today marked, what is past in grey with a tick, what is ahead in blue, today's own dates in red.
Pure: the caller translates the labels and formats the dates.
"""
from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from flows.choices import N_
from flows.dispute import Dispute
from flows.eligibility import opening_dates
from flows.fonts import BOLD, REGULAR, printable
from flows.policy import Policy
from flows.reminders import deadlines

LABELS: dict[str, str] = {
    "shipped": N_("The seller shipped the order"),
    "open_from": N_("First day to open a dispute"),
    "protection_end": N_("Buyer Protection ends"),
    "protection_end_estimated": N_("Buyer Protection ends (estimate: check the timer)"),
    "open_until": N_("Last day “Open Dispute” may still be there"),
    "opened": N_("Dispute opened on AliExpress"),
    "modified": N_("Request modified: the seller's time starts again"),
    "seller_response": N_("The seller's time to answer ends"),
    "seller_accepted": N_("The seller accepted"),
    "seller_offer": N_("The seller offered something else"),
    "seller_refused": N_("The seller refused"),
    "escalated": N_("The dispute went to AliExpress"),
    "return_agreed": N_("Return agreed"),
    "return_shipping": N_("Last day to ship the item back"),
    "returned": N_("Item shipped back"),
    "return_check": N_("Check that the seller confirmed your return"),
    "refund_started": N_("Refund granted"),
    "decision_full": N_("AliExpress decided: full refund"),
    "decision_partial": N_("AliExpress decided: partial refund"),
    "decision_rejected": N_("AliExpress rejected the dispute"),
    "decision_return": N_("AliExpress decided: return the item for a refund"),
    "appeal": N_("Last day to appeal"),
    "survey": N_("Last day for the dispute survey"),
    "refund_estimate": N_("The refund should have arrived"),
}


@dataclass(frozen=True)
class Milestone:
    key: str   # a key of LABELS
    day: date  # in the buyer's time zone


def milestones(d: Dispute, policy: Policy, tz: ZoneInfo, country: str | None) -> list[Milestone]:
    """Every date of the dispute that is known, oldest first (ties keep the dispute's order of events)."""
    known = deadlines(d, policy, tz, country)
    opening = opening_dates(d, policy)

    def local(moment: datetime) -> date:
        return moment.astimezone(tz).date()

    found: list[Milestone] = []
    if d.shipped_on is not None:
        found.append(Milestone("shipped", d.shipped_on))
    if "open_from" in known:
        found.append(Milestone("open_from", local(known["open_from"])))
    if "protection_end" in known:
        key = "protection_end_estimated" if opening.estimated else "protection_end"
        found.append(Milestone(key, local(known["protection_end"])))
    if "open_until" in known:
        found.append(Milestone("open_until", local(known["open_until"])))
    if d.opened_at is not None:
        found.append(Milestone("opened", local(d.opened_at)))
        if d.window_started_at is not None and d.window_started_at > d.opened_at:
            found.append(Milestone("modified", local(d.window_started_at)))
    if "seller_response" in known:
        found.append(Milestone("seller_response", local(known["seller_response"])))
    if d.seller_answer is not None and d.seller_answered_at is not None:
        found.append(Milestone(f"seller_{d.seller_answer}", local(d.seller_answered_at)))
    if d.escalated_at is not None:
        found.append(Milestone("escalated", local(d.escalated_at)))
    if d.return_agreed_at is not None and d.decision != "return":
        found.append(Milestone("return_agreed", local(d.return_agreed_at)))
    if "return_shipping" in known:
        found.append(Milestone("return_shipping", local(known["return_shipping"])))
    if d.returned_at is not None:
        found.append(Milestone("returned", local(d.returned_at)))
    if "return_check" in known and d.state == "return_sent":
        found.append(Milestone("return_check", local(known["return_check"])))
    if d.refund_started_at is not None and d.decision is None:
        found.append(Milestone("refund_started", local(d.refund_started_at)))
    if d.decided_at is not None and d.decision:
        found.append(Milestone(f"decision_{d.decision}", local(d.decided_at)))
    for key in ("appeal", "survey", "refund_estimate"):
        if key in known:
            found.append(Milestone(key, local(known[key])))
    return sorted(found, key=lambda m: m.day)  # stable: same-day events keep their order


# --- drawing ---------------------------------------------------------------------------------------
WIDTH = 1080          # a phone shows it full width; Telegram keeps 1280 px
PAD = 48
SIZES = {"title": 46, "subtitle": 30, "date": 30, "label": 32, "note": 26}
MIN_TEXT_PX = min(SIZES.values())
GREY, INK, BLUE, RED, LIGHT = "#80868b", "#202124", "#1a73e8", "#d93025", "#dadce0"


@dataclass(frozen=True)
class Row:
    day: date
    label: str


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines or [""]


def render_png(title: str, rows: list[Row], *, today: date, today_label: str,
               fmt_date: Callable[[date], str], relative: Callable[[int], str]) -> bytes:
    """The rows on a vertical axis with a "today" mark; PNG bytes, WIDTH pixels wide.

    The PNG carries what it shows as text chunks ("labels": every string drawn; "rows": each date, label and
    whether it is past, today or ahead; "min_text_px") so a test can read the picture without OCR."""
    fonts = {name: ImageFont.truetype(str(BOLD if name in ("title", "date") else REGULAR), size)
             for name, size in SIZES.items()}
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    # Today sits after the days before it and before those after it; today's own dates are drawn in red.
    entries: list[tuple[str, date, str]] = [("row", r.day, printable(r.label)) for r in rows if r.day < today]
    entries.append(("today", today, printable(today_label)))
    entries += [("row", r.day, printable(r.label)) for r in rows if r.day >= today]
    title_lines = _wrap(probe, printable(title), fonts["title"], WIDTH - 2 * PAD)
    # The date column is as wide as the widest date ("21 нояб. 2026 г." is wider than "11/21/2026").
    date_width = max(probe.textlength(printable(fmt_date(day)), font=fonts["date"]) for _, day, _ in entries)
    axis_x = int(PAD + date_width + 32)
    label_x = axis_x + 42
    layout, y = [], PAD + 58 * len(title_lines) + 36
    for kind, day, label in entries:
        lines = _wrap(probe, label, fonts["label"], WIDTH - label_x - PAD)
        note = "" if kind == "today" else printable(relative((day - today).days) if day != today else today_label)
        height = max(40 * len(lines) + (34 if note else 0), 64) + 30
        layout.append((kind, day, lines, note, y))
        y += height
    image = Image.new("RGB", (WIDTH, y + PAD), "white")
    draw = ImageDraw.Draw(image)
    drawn: list[str] = []
    shown: list[tuple[str, str, str]] = []  # (date, label, "past" | "today" | "future" | "now")

    def text(xy: tuple[float, float], value: str, font: str, fill: str, anchor: str = "la") -> None:
        draw.text(xy, value, font=fonts[font], fill=fill, anchor=anchor)
        drawn.append(value)

    for n, line in enumerate(title_lines):
        text((PAD, PAD + 58 * n), line, "title", INK)
    dots = [(entry[4] + 20) for entry in layout]
    today_y = next(entry[4] + 20 for entry in layout if entry[0] == "today")
    draw.line([(axis_x, dots[0]), (axis_x, today_y)], fill=LIGHT, width=6)
    draw.line([(axis_x, today_y), (axis_x, dots[-1])], fill=BLUE, width=6)
    for kind, day, lines, note, top in layout:
        cy = top + 20
        if kind == "today":
            draw.line([(PAD, cy), (WIDTH - PAD, cy)], fill=RED, width=3)
            box = draw.textbbox((axis_x - 32, cy), printable(fmt_date(day)), font=fonts["date"], anchor="rm")
            draw.rectangle([box[0] - 12, box[1] - 8, box[2] + 12, box[3] + 8], fill="white")
            draw.ellipse([axis_x - 18, cy - 18, axis_x + 18, cy + 18], fill=RED)
            box = draw.textbbox((label_x, cy), lines[0], font=fonts["label"], anchor="lm")
            draw.rectangle([box[0] - 12, box[1] - 8, box[2] + 12, box[3] + 8], fill="white")
            text((label_x, cy), lines[0], "label", RED, "lm")
            text((axis_x - 32, cy), printable(fmt_date(day)), "date", RED, "rm")
            shown.append((printable(fmt_date(day)), lines[0], "now"))
            continue
        past, now = day < today, day == today
        colour = GREY if past else RED if now else INK
        shown.append((printable(fmt_date(day)), " ".join(lines), "past" if past else "today" if now else "future"))
        text((axis_x - 32, cy), printable(fmt_date(day)), "date", colour, "rm")
        if past:
            draw.ellipse([axis_x - 14, cy - 14, axis_x + 14, cy + 14], fill=GREY)
            draw.line([(axis_x - 7, cy), (axis_x - 2, cy + 6), (axis_x + 8, cy - 7)], fill="white", width=4)
        else:
            draw.ellipse([axis_x - 14, cy - 14, axis_x + 14, cy + 14], fill="white", outline=RED if now else BLUE,
                         width=6)
        for n, line in enumerate(lines):
            text((label_x, cy - 20 + 40 * n), line, "label", colour)
        if note:
            text((label_x, cy - 20 + 40 * len(lines) + 2), note, "note", GREY if past else RED if now else BLUE)
    info = PngInfo()
    info.add_text("labels", json.dumps(drawn, ensure_ascii=False))
    info.add_text("rows", json.dumps(shown, ensure_ascii=False))
    info.add_text("min_text_px", str(MIN_TEXT_PX))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True, pnginfo=info)
    return buffer.getvalue()
