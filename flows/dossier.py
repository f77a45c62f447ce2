"""The dossier a buyer gives the bank (chargeback) or AliExpress (appeal) when the dispute fails: one PDF,
in the buyer's language with an English copy after it (docs/rules.md, "The dossier and the timeline").

Each part holds the order, the dispute's history with dates, the buyer's statement (the facts of the
explanation, addressed to the bank), the deadlines and chargeback limits for this case, and the evidence:
photos shrunk and embedded (an identical photo is stored once, however many parts show it), forwarded seller
messages with sender and original date, notes. Dates come from flows.reminders.deadlines and
flows.timeline.milestones, the ones the messages and reminders use.

Pure: the bot downloads the photos and passes their bytes in; nothing here touches Telegram or a disk.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from PIL import Image

from flows.choices import DEFECTS, N_, REASONS, SOLUTIONS, option
from flows.dispute import Dispute
from flows.evidence import EvidenceItem, EvidenceKind
from flows.explanation import Language, evidence_phrase
from flows.fonts import BOLD, REGULAR, printable
from flows.images import TELEGRAM_DOWNLOAD_LIMIT, ImageError, decode_bounded
from flows.policy import Policy
from flows.reminders import deadlines
from flows.timeline import milestones

TELEGRAM_UPLOAD_LIMIT = 50 * 1024 * 1024  # a bot may send files up to 50 MB
PHOTO_LONG_SIDE = 1280                    # pixels: sharp on paper at the size shown, small in the file
PHOTO_QUALITY = 72


@dataclass(frozen=True)
class Case:
    dispute: Dispute
    items: list[EvidenceItem]
    policy: Policy
    tz: ZoneInfo
    country: str | None
    now: datetime


def shrink(data: bytes, long_side: int = PHOTO_LONG_SIDE, quality: int = PHOTO_QUALITY) -> bytes:
    """A JPEG no longer than ``long_side`` pixels; ImageError when it can't be decoded within the
    bot's decoding bounds (flows.images: pixel cap, two decodes at a time)."""
    image = decode_bounded(data)
    image.thumbnail((long_side, long_side))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def build_dossier(case: Case, languages: list[Language], photos: dict[int, bytes], *,
                  limit: int = TELEGRAM_UPLOAD_LIMIT) -> bytes:
    """The PDF: one part per language (the buyer's, then English). ``photos`` maps an image item's id to
    its downloaded bytes; images missing there are listed, not embedded. Stays under ``limit`` bytes:
    photos are shrunk further, then left out from the last one, until it fits."""
    side = PHOTO_LONG_SIDE
    shrunk: dict[int, bytes | None] = {}
    for _ in range(4):
        shrunk = {}
        for item_id, data in photos.items():
            try:
                shrunk[item_id] = shrink(data, side)
            except ImageError:
                shrunk[item_id] = None
        pdf = _render(case, languages, shrunk, left_out=set())
        if len(pdf) <= limit:
            return pdf
        side = int(side * 0.7)
    left_out: set[int] = set()
    for item_id in reversed([i for i, data in shrunk.items() if data]):
        left_out.add(item_id)
        pdf = _render(case, languages, shrunk, left_out=left_out)
        if len(pdf) <= limit:
            return pdf
    raise ValueError("the dossier's text alone is over the limit")


class _Document(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Roboto", size=8)
        self.set_text_color(128)
        self.cell(0, 6, f"{self.footer_text}  {self.page_no()}", align="R")


def _render(case: Case, languages: list[Language], photos: dict[int, bytes | None], *, left_out: set[int]) -> bytes:
    pdf = _Document(format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font("Roboto", "", str(REGULAR))
    pdf.add_font("Roboto", "B", str(BOLD))
    pdf.set_creator("dispute-guide-bot")
    for n, lang in enumerate(languages):
        _Part(pdf, case, lang, photos, left_out, english_copy=n > 0).write()
    return bytes(pdf.output())


class _Part:
    """One language's copy of the dossier."""

    def __init__(self, pdf: _Document, case: Case, lang: Language, photos: dict[int, bytes | None],
                 left_out: set[int], *, english_copy: bool) -> None:
        self.pdf, self.case, self.lang, self.photos, self.left_out = pdf, case, lang, photos, left_out
        self.english_copy = english_copy
        self.d = case.dispute
        self.known = deadlines(self.d, case.policy, case.tz, case.country)
        self._ = lang.gettext

    # --- helpers -----------------------------------------------------------------------------------
    def day(self, value: date | datetime | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.astimezone(self.case.tz).date()
        return self.lang.date(value)

    def money(self, amount) -> str:
        return self.lang.money(amount, self.d.currency)

    def heading(self, text: str, *, need: float = 50) -> None:
        """A section title, on a new page unless ``need`` mm of what follows fit under it."""
        pdf = self.pdf
        if pdf.get_y() > pdf.h - need:
            pdf.add_page()
        pdf.ln(4)
        pdf.start_section(printable(text), level=1)
        pdf.set_font("Roboto", "B", 13)
        pdf.multi_cell(0, 7, printable(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)

    def para(self, text: str, *, size: float = 10.5, bold: bool = False, grey: bool = False,
             gap: bool = False) -> None:
        self.pdf.set_font("Roboto", "B" if bold else "", size)
        self.pdf.set_text_color(100 if grey else 0)
        self.pdf.multi_cell(0, size * 0.5, printable(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.set_text_color(0)
        if gap:
            self.pdf.ln(1.5)

    def pair(self, label: str, value: str, width: float = 48) -> None:
        """A label and its value side by side; either may wrap."""
        pdf = self.pdf
        if pdf.get_y() > pdf.h - pdf.b_margin - 12:
            pdf.add_page()
        top = pdf.get_y()
        pdf.set_font("Roboto", "B", 10.5)
        pdf.multi_cell(width - 2, 5.5, printable(label), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        below_label, page = pdf.get_y(), pdf.page
        pdf.set_xy(pdf.l_margin + width, top)
        pdf.set_font("Roboto", "", 10.5)
        pdf.multi_cell(0, 5.5, printable(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if pdf.page == page:
            pdf.set_y(max(below_label, pdf.get_y()))

    # --- the part ----------------------------------------------------------------------------------
    def write(self) -> None:
        _, d, pdf = self._, self.d, self.pdf
        title = (_("Dispute dossier: AliExpress order {number}").format(number=d.order_number) if d.order_number
                 else _("Dispute dossier: AliExpress order"))
        pdf.add_page()  # writes the previous page's footer: the new title only from here on
        pdf.footer_text = printable(title)
        pdf.start_section(printable(title), level=0)
        self.para(title, size=17, bold=True)
        if self.english_copy:
            self.para(_("English copy, for the appeal to AliExpress and for the bank."), grey=True)
        self.para(_("Prepared on {date} from the buyer's answers and evidence (dispute #{id}).").format(
            date=self.day(self.case.now), id=d.id), grey=True)
        self.order()
        self.history()
        self.statement()
        self.limits()
        self.evidence()

    def order(self) -> None:
        _, d = self._, self.d
        self.heading(_("1. The order"))
        self.pair(_("Order number"), d.order_number or _("unknown"))
        if reason := option(REASONS, d.reason):
            self.pair(_("Problem"), _(reason.form))
        if (defect := option(DEFECTS, d.defect)) and d.received:
            self.pair(_("What is wrong"), _(defect.label))
        if d.received is not None:
            self.pair(_("Item received"), _("Yes") if d.received else _("No"))
        self.pair(_("Order total"), self.money(d.order_total) if d.order_total is not None else _("unknown"))
        refund = d.refund_amount()
        if refund is not None:
            self.pair(_("Refund asked"), self.money(refund))
        if solution := option(SOLUTIONS, d.solution):
            self.pair(_("Solution asked"), _(solution.form))
        self.pair(_("Shipped on"), self.day(d.shipped_on) if d.shipped_on else _("unknown"))
        if d.eta is not None:
            self.pair(_("Expected delivery"), self.day(d.eta))
        if d.protection_ends_on:
            self.pair(_("Buyer Protection ends"), self.day(d.protection_ends_on))

    def events(self) -> list[tuple[date | None, str]]:
        """What happened, with the day (None: the day isn't known), oldest first."""
        _, d, case = self._, self.d, self.case
        today = case.now.astimezone(case.tz).date()
        said = {
            "shipped": N_("The seller shipped the order."),
            "opened": N_("I opened a dispute on AliExpress."),
            "modified": N_("I modified my request in the dispute; the seller's time to answer started again."),
            "seller_accepted": N_("The seller accepted my request in the dispute."),
            "seller_offer": N_("The seller answered with another solution instead of my request."),
            "seller_refused": N_("The seller refused my request."),
            "escalated": N_("The dispute went to AliExpress's team."),
            "return_agreed": N_("A return was agreed in the dispute."),
            "returned": N_("I shipped the item back, tracked."),
            "decision_return": N_("AliExpress's team decided: return the item for a refund."),
            "refund_started": N_("A refund was agreed in the dispute."),
            "decision_full": N_("AliExpress's team decided the dispute: full refund."),
            "decision_partial": N_("AliExpress's team decided the dispute: partial refund."),
            "decision_rejected": N_("AliExpress's team rejected the dispute."),
        }
        found: list[tuple[date | None, str]] = [
            (m.day, _(said[m.key])) for m in milestones(d, case.policy, case.tz, case.country)
            if m.key in said and m.day <= today]
        for n, item in enumerate(self.case.items, start=1):
            if item.kind is EvidenceKind.FORWARD:
                who = item.origin_name or _("a hidden sender")
                found.append((item.origin_date.astimezone(case.tz).date() if item.origin_date else None,
                              _("Message from {sender} (evidence {n}).").format(sender=who, n=n)))
        estimate = self.known.get("refund_estimate")
        if estimate is not None and d.state in ("refund_missing", "chargeback") and estimate <= case.now:
            found.append((estimate.astimezone(case.tz).date(),
                          _("The refund should have arrived by this day; it has not arrived.")))
        if d.state == "escalated" and d.decision is None and d.escalated_at is None:
            found.append((None, _("The dispute went to AliExpress's team; no decision yet.")))
        dated = sorted((e for e in found if e[0] is not None), key=lambda e: e[0] or date.min)
        return dated + [e for e in found if e[0] is None]

    def history(self) -> None:
        self.heading(self._("2. What happened"))
        events = self.events()
        if not events:
            self.para(self._("Nothing has happened in the dispute yet."))
        for day, text in events:
            self.pair(self.day(day), text, width=42)

    def statement(self) -> None:
        _, d = self._, self.d
        self.heading(_("3. My statement"))
        bought = (_("I bought an item on AliExpress, order {number}.").format(number=d.order_number)
                  if d.order_number else _("I bought an item on AliExpress."))
        if d.order_total is not None:
            bought += " " + _("I paid {total}.").format(total=self.money(d.order_total))
        if d.shipped_on:
            bought += " " + _("The seller shipped it on {date}.").format(date=self.day(d.shipped_on))
        self.para(bought, gap=True)
        if d.received is False:
            wrong = _("I have not received it.")
        else:
            defect = option(DEFECTS, d.defect)
            problem = _(defect.english if defect else N_("it is not as described"))
            wrong = _("The item I received has a problem: {problem}.").format(problem=problem)
        self.para(wrong, gap=True)
        self.para(self.done(), gap=True)
        refund = d.refund_amount()
        money = self.money(refund) if refund is not None else None
        ask = _("a full refund of {money}").format(money=money) if d.refund_full and money else (
            _("a partial refund of {money}").format(money=money) if money else _("a full refund"))
        self.para(_("I ask for {ask}. If AliExpress does not refund me, I ask my bank to reverse the payment "
                    "(chargeback): the merchant did not resolve the problem.").format(ask=ask))

    def done(self) -> str:
        """What the buyer did to resolve it with the merchant, and how it ended."""
        _, d = self._, self.d
        if d.opened_at is None:
            return _("I am resolving it with the seller through AliExpress; no dispute is open yet.")
        parts = [_("I opened a dispute on AliExpress on {date} to resolve it with the seller.").format(
            date=self.day(d.opened_at))]
        decided = {"full": N_("AliExpress's team decided on a full refund on {date}."),
                   "partial": N_("AliExpress's team decided on a partial refund on {date}."),
                   "rejected": N_("AliExpress's team rejected the dispute on {date}."),
                   "return": N_("AliExpress's team decided on {date} that I return the item for a refund.")}
        if d.decision in decided:
            parts.append(_(decided[d.decision]).format(date=self.day(d.decided_at)))
        elif d.refund_started_at is not None:
            parts.append(_("A refund was agreed on {date}.").format(date=self.day(d.refund_started_at)))
        if d.state in ("refund_missing", "chargeback") and "refund_estimate" in self.known:
            parts.append(_("The refund has not reached my account; it was due by {date}.").format(
                date=self.day(self.known["refund_estimate"])))
        attached = evidence_phrase(self.case.items, self.lang)
        if attached:
            parts.append(_("Attached: {evidence}.").format(evidence=attached))
        return " ".join(parts)

    def limits(self) -> None:
        _, d, policy = self._, self.d, self.case.policy
        self.heading(_("4. Deadlines and limits"))
        if "appeal" in self.known:
            self.pair(_("Appeal"), _("until {date}").format(date=self.day(self.known["appeal"])))
        if "survey" in self.known:
            self.pair(_("Dispute survey"), _("until {date}").format(date=self.day(self.known["survey"])))
        card = _("Card networks usually allow {days} days, counted from the expected delivery date or the day "
                 "the item was received.").format(days=policy.chargeback_card_days)
        paypal = _("PayPal allows {days} days from the payment.").format(days=policy.paypal_case_days)
        if d.shipped_on:
            # Delivery and receipt come after shipping, so this date is never too late (docs/rules.md).
            card += " " + _("Counted from the shipping date to be safe: ask your bank before {date}.").format(
                date=self.day(d.shipped_on + timedelta(days=policy.chargeback_card_days)))
            paypal += " " + _("The payment was on or before the shipping date, so open the case before {date} "
                              "at the latest (the order page shows the payment date).").format(
                date=self.day(d.shipped_on + timedelta(days=policy.paypal_case_days)))
        else:
            card += " " + _("The shipping date is unknown: ask your bank for your last day.")
        self.pair(_("Card chargeback"), card)
        self.pair(_("PayPal case"), paypal)
        self.para(_("A chargeback usually freezes the order and the dispute on AliExpress while the bank "
                    "decides."), grey=True)

    def evidence(self) -> None:
        _, pdf = self._, self.pdf
        self.heading(_("5. Evidence"), need=120)  # room for a photo under the title
        if not self.case.items:
            self.para(_("No evidence was sent to the bot."))
        for n, item in enumerate(self.case.items, start=1):
            if pdf.get_y() > pdf.h - 40:
                pdf.add_page()
            pdf.ln(2)
            kind = item.kind
            if kind is EvidenceKind.IMAGE:
                self.photo(item, _("Evidence {n}: photo").format(n=n)
                           + (f" ({item.file_name})" if item.file_name else ""))
            elif kind is EvidenceKind.VIDEO:
                self.para(_("Evidence {n}: video").format(n=n), bold=True)
                self.para(_("A video can't be put into a PDF: attach it yourself."), grey=True)
            elif kind is EvidenceKind.FORWARD:
                self.para(_("Evidence {n}: message from {sender}, {date}").format(
                    n=n, sender=item.origin_name or _("a hidden sender"),
                    date=self.day(item.origin_date) if item.origin_date else "?"), bold=True)
                self.para(item.text or "")
            elif kind is EvidenceKind.NOTE:
                self.para(_("Evidence {n}: my note").format(n=n), bold=True)
                self.para(item.text or "")
            else:
                self.para(_("Evidence {n}: file {name}").format(n=n, name=item.file_name or "?"), bold=True)

    def photo(self, item: EvidenceItem, title: str) -> None:
        _, pdf = self._, self.pdf
        data = self.photos.get(item.id) if item.id is not None else None
        if item.file_size is not None and item.file_size > TELEGRAM_DOWNLOAD_LIMIT:
            problem = _("Over Telegram's 20 MB download limit, so not included here: attach the original yourself.")
        elif item.id in self.left_out:
            problem = _("Left out to keep this file under Telegram's 50 MB limit: attach it yourself.")
        elif data is None:
            problem = _("This photo could not be opened, so it is not included here.")
        else:
            problem = None
        if problem is not None:
            self.para(title, bold=True)
            self.para(problem, grey=True)
            return
        assert data is not None  # every other case returned above
        width, height = Image.open(io.BytesIO(data)).size
        w = min(150.0, 85.0 * width / height)
        h = w * height / width
        if pdf.get_y() + h + 10 > pdf.h - pdf.b_margin:
            pdf.add_page()  # the title stays with its photo
        self.para(title, bold=True)
        pdf.image(io.BytesIO(data), x=pdf.l_margin, y=pdf.get_y() + 1, w=w, h=h)
        pdf.set_y(pdf.get_y() + h + 3)
