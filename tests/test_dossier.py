"""The dossier PDF (/dossier, "📄 Dossier") and the timeline picture ("🗓 Timeline"), through the real
dispatcher: what the buyer gets, in their language, built from the dates the reminders use."""
from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiogram.methods import GetFile, SendDocument, SendPhoto
from PIL import Image
from pypdf import PdfReader

from flows.dispute import Dispute
from flows.dossier import TELEGRAM_UPLOAD_LIMIT, Case, build_dossier, shrink
from flows.evidence import EvidenceItem, EvidenceKind
from flows.explanation import ENGLISH
from flows.policy import Policy
from testkit.chat import ChatUser
from testkit.intake import walk

ROOT = Path(__file__).resolve().parent.parent


def photo_bytes(width: int = 1600, height: int = 1200, *, noise: bool = False, colour=(200, 60, 40)) -> bytes:
    """A JPEG as a phone sends it; noise is the worst case for compression."""
    image = (Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)) if noise
             else Image.new("RGB", (width, height), colour))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def pdf_text(reader: PdfReader, pages: range | None = None) -> str:
    chosen = [reader.pages[i] for i in (pages or range(len(reader.pages)))]
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in chosen))


def image_xobjects(reader: PdfReader) -> set[int]:
    """The distinct images the PDF stores (a photo shown in both parts is stored once)."""
    found = set()
    for page in reader.pages:
        for ref in (page.get("/Resources", {}).get("/XObject") or {}).values():
            if ref.get_object().get("/Subtype") == "/Image":
                found.add(ref.idnum)
    return found


def sent_photos(replies) -> list:
    return [s for s in replies if isinstance(s.method, SendPhoto)]


def png_rows(sent) -> tuple[Image.Image, list[list[str]]]:
    image = Image.open(io.BytesIO(sent.method.photo.data))
    return image, json.loads(image.text["rows"])


async def russian_case_to_rejection(user: ChatUser, harness) -> None:
    """A Russian buyer: not received, two photos (one over 20 MB), a seller message, a note, then
    opened, escalated and rejected."""
    # Protection ends Dec 31 (not received: a full refund, no amount step).
    await walk(user, to="evidence", reason="not_received", tracking="none", order_number="8123456789012345",
               order_total="2 500,50 ₽", shipped_on="01.11.2026", protection="40")
    harness.session.files["ph-1"] = photo_bytes()
    await user.send_photo("ph-1", size=len(harness.session.files["ph-1"]))
    await user.send_photo("ph-big", size=25_000_000)
    await user.forward("Посылка в пути, трек обновится позже", sender="Лучший Магазин",
                       sent_at=datetime(2026, 11, 15, 9, 30, tzinfo=timezone.utc))
    await user.send("Трек не обновляется с 3 ноября")
    await user.choose("done")
    await user.choose("open_on_aliexpress")
    await user.choose("d0")  # opened today, Nov 21
    await user.choose("escalate")
    await user.choose("decision_rejected")


async def test_russian_dossier_has_every_fact_in_russian_and_an_english_copy(harness):
    user = harness.user(7001, language_code="ru")
    await russian_case_to_rejection(user, harness)
    user.replies()
    replies = await user.press("Досье (PDF)")
    (doc,) = [s for s in replies if isinstance(s.method, SendDocument)]
    assert doc.method.document.filename.endswith(".pdf") and "Досье по спору" in doc.method.caption
    assert "копией на английском" in doc.method.caption
    # Only the photo under Telegram's 20 MB download limit was fetched.
    assert [s.method.file_id for s in harness.session.sent if isinstance(s.method, GetFile)] == ["ph-1"]
    reader = PdfReader(io.BytesIO(doc.method.document.data))
    parts = [item.title for item in reader.outline if not isinstance(item, list)]
    assert parts == ["Досье по спору: заказ AliExpress 8123456789012345",
                     "Dispute dossier: AliExpress order 8123456789012345"]
    english_from = reader.get_destination_page_number(reader.outline[2])  # [part, [sections], part, ...]
    assert 1 <= english_from < len(reader.pages)
    assert pdf_text(reader, range(english_from, english_from + 1)).startswith(
        "Dispute dossier: AliExpress order 8123456789012345")
    ru = pdf_text(reader, range(english_from))
    for fact in ("Номер заказа 8123456789012345", "Проблема Товар не получен", "Товар получен Нет",
                 "Сумма заказа 2 500,50 ₽", "Запрошенный возврат 2 500,50 ₽", "Дата отправки 1 нояб. 2026 г.",
                 "Защита покупателя заканчивается 31 дек. 2026 г.",
                 "1 нояб. 2026 г. Продавец отправил заказ.",
                 "15 нояб. 2026 г. Сообщение от Лучший Магазин (доказательство 3).",
                 "21 нояб. 2026 г. Я открыл(а) спор на AliExpress.",
                 "21 нояб. 2026 г. Команда AliExpress отклонила спор.",
                 "Я купил(а) товар на AliExpress, заказ 8123456789012345. Я заплатил(а) 2 500,50 ₽. "
                 "Продавец отправил его 1 нояб. 2026 г.",
                 "Я его не получил(а).",
                 "Чтобы решить вопрос с продавцом, я открыл(а) спор на AliExpress 21 нояб. 2026 г.",
                 "Команда AliExpress отклонила спор 21 нояб. 2026 г.",
                 "Прошу полный возврат средств: 2 500,50 ₽.",
                 "Апелляция до 27 нояб. 2026 г.", "Опрос по спору до 5 дек. 2026 г.",
                 "обратитесь в банк до 1 мар. 2027 г.",  # Nov 1 + 120 days
                 "не позднее 30 апр. 2027 г.",           # Nov 1 + 180 days
                 "Доказательство 1: фото", "Доказательство 2: фото",
                 "Превышает лимит Telegram на скачивание (20 МБ)",
                 "Доказательство 3: сообщение от Лучший Магазин, 15 нояб. 2026 г.",
                 "Посылка в пути, трек обновится позже",
                 "Доказательство 4: моя заметка", "Трек не обновляется с 3 ноября"):
        assert fact in ru, fact
    en = pdf_text(reader, range(english_from, len(reader.pages)))
    for fact in ("Order total 2,500.50 RUB", "Shipped on November 1, 2026", "November 21, 2026 I opened a dispute",
                 "AliExpress's team rejected the dispute on November 21, 2026.",
                 "I ask for a full refund of 2,500.50 RUB.", "Appeal until November 27, 2026",
                 "ask your bank before March 1, 2027", "before April 30, 2027 at the latest",
                 "Evidence 3: message from Лучший Магазин, November 15, 2026", "Over Telegram's 20 MB download limit"):
        assert fact in en, fact
    assert "Номер заказа" not in en
    # The one downloadable photo is embedded, once for both parts; the 25 MB one only listed.
    assert len(image_xobjects(reader)) == 1


async def test_dossier_command_waits_for_the_answers_and_works_from_the_summary(harness):
    user = harness.user(7002)
    await user.send("/start")
    await user.choose("new")
    replies = await user.send("/dossier")
    assert "needs your answers first" in user.texts(replies)
    assert not [s for s in replies if isinstance(s.method, SendDocument)]
    await walk(user, to="evidence", new=False, reason="not_received", tracking="none",
               order_number="8123456789012345", order_total="$25.90", shipped_on="11/1/2026", protection="40")
    harness.session.files["broken"] = b"\xff\xd8 not a JPEG after all"
    await user.send_photo("broken", size=30)
    await user.choose("done")
    replies = await user.send("/dossier")
    (doc,) = [s for s in replies if isinstance(s.method, SendDocument)]
    reader = PdfReader(io.BytesIO(doc.method.document.data))
    assert [item.title for item in reader.outline if not isinstance(item, list)] == [
        "Dispute dossier: AliExpress order 8123456789012345"]  # English buyer: one part
    text = pdf_text(reader)
    assert "no dispute is open yet" in text and "Order total $25.90" in text and "Shipped on Nov 1, 2026" in text
    assert "Evidence 1: photo This photo could not be opened, so it is not included here." in text
    assert not image_xobjects(reader)


@pytest.mark.parametrize("lang, facts", [
    ("es", ["Expediente de la disputa: pedido de AliExpress 8123456789012345", "Fecha de envío 1 sept 2026",
            "Total del pedido 129,00 US$", "Prueba 2: mensaje de Señor Tienda, 2 sept 2026",
            "¿Dónde está mi pedido? Ñandú ? ??"]),
    ("de", ["Dossier zum Streitfall: AliExpress-Bestellung 8123456789012345", "Versanddatum 01.09.2026",
            "Bestellsumme 129,00 $", "Nachweis 2: Nachricht von Señor Tienda, 02.09.2026",
            "Größe stimmt nicht, Übergröße ? ??"]),
])
def test_spanish_and_german_dossiers_render_their_own_characters(lang, facts):
    from bot.formatting import user_language
    from bot.i18n import make_i18n

    case, _ = big_case(0, 0)
    case.items.append(EvidenceItem(EvidenceKind.NOTE, id=1, text="Nota"))
    case.items.append(EvidenceItem(EvidenceKind.FORWARD, id=2, origin_name="Señor Tienda",
                                   origin_date=datetime(2026, 9, 2, 9, tzinfo=timezone.utc),
                                   # emoji and CJK: Roboto can't draw them, the PDF shows "?" in their place
                                   text="¿Dónde está mi pedido? Ñandú 🙂 包裹" if lang == "es"
                                   else "Größe stimmt nicht, Übergröße 🙂 包裹"))
    reader = PdfReader(io.BytesIO(build_dossier(case, [user_language(lang, make_i18n()), ENGLISH], {})))
    text = pdf_text(reader)
    for fact in facts:
        assert fact in text, fact


def big_case(photos: int, messages: int) -> tuple[Case, dict[int, bytes]]:
    d = Dispute(id=9, user_id=1, state="chargeback", reason="not_received", received=False,
                solution="refund_only", order_number="8123456789012345", order_total=Decimal("129.00"),
                currency="USD", shipped_on=date(2026, 9, 1), protection_ends_on=date(2026, 11, 30),
                refund_full=True, opened_at=datetime(2026, 10, 1, 12, tzinfo=timezone.utc),
                window_started_at=datetime(2026, 10, 1, 12, tzinfo=timezone.utc),
                decision="rejected", decided_at=datetime(2026, 10, 20, 12, tzinfo=timezone.utc))
    items = [EvidenceItem(EvidenceKind.IMAGE, file_id=f"p{n}", file_size=3_000_000, id=n) for n in range(photos)]
    items += [EvidenceItem(EvidenceKind.FORWARD, id=1000 + n, origin_name="Best Store",
                           origin_date=datetime(2026, 9, 1 + n % 28, 9, tzinfo=timezone.utc),
                           text=f"Message {n}: the parcel is on its way, please wait a little more. " * 4)
              for n in range(messages)]
    case = Case(d, items, Policy(), ZoneInfo("America/New_York"), "US", datetime(2026, 11, 21, 12, tzinfo=timezone.utc))
    return case, {n: photo_bytes(2400, 1800, noise=True) for n in range(photos)}


def test_thirty_photos_and_fifty_seller_messages_stay_under_telegrams_upload_limit():
    case, photos = big_case(30, 50)
    pdf = build_dossier(case, [ENGLISH, ENGLISH], photos)  # two parts, as for a non-English buyer
    assert len(pdf) < TELEGRAM_UPLOAD_LIMIT
    reader = PdfReader(io.BytesIO(pdf))
    assert len(image_xobjects(reader)) == 30  # every photo embedded, once
    text = pdf_text(reader)
    assert "Evidence 80: message from Best Store" in text and "Left out" not in text


def test_a_dossier_over_the_limit_shrinks_its_photos_then_leaves_the_last_out():
    case, photos = big_case(6, 2)
    # Room for the text and about three photos at the smallest size it shrinks them to.
    limit = len(build_dossier(case, [ENGLISH], {})) + 3 * len(shrink(photos[0], int(1280 * 0.7 ** 3)))
    pdf = build_dossier(case, [ENGLISH], photos, limit=limit)
    assert len(pdf) <= limit
    reader = PdfReader(io.BytesIO(pdf))
    kept = len(image_xobjects(reader))
    assert 0 < kept < 6
    widths = {obj.get_object()["/Width"] for page in reader.pages
              for obj in (page.get("/Resources", {}).get("/XObject") or {}).values()}
    assert max(widths) < 1280 / 2  # shrunk first (from 1280 px), then left out
    assert pdf_text(reader).count("Left out to keep this file under Telegram's 50 MB limit") == 6 - kept


LANGS = {
    # today's label, a label of the summary's dates, Nov 21 2026 as fmt_date writes it
    "en": ("Today", "First day to open a dispute", "Nov 21, 2026"),
    "ru": ("Сегодня", "Первый день, когда можно открыть спор", "21 нояб. 2026 г."),
    "es": ("Hoy", "Primer día para abrir una disputa", "21 nov 2026"),
    "de": ("Heute", "Erster Tag, um einen Streitfall zu eröffnen", "21.11.2026"),
}
# Each path visits stages; together they cover the summary and every lifecycle stage.
PATHS = {
    "rejected": ["open_on_aliexpress", "d0", "seller_offer", "escalate", "decision_rejected", "chargeback"],
    "refund": ["open_on_aliexpress", "d0", "seller_accepted", "not_arrived", "refunded"],
    "return": ["open_on_aliexpress", "d0", "seller_accepted", "withdraw"],
}
STAGES = {"summary", "opening", "negotiating", "counter_offer", "escalated", "rejected", "chargeback",
          "refund_pending", "refund_missing", "refunded", "return_shipping", "withdrawn"}


@pytest.mark.parametrize("lang", sorted(LANGS))
async def test_the_timeline_renders_for_every_stage_in_every_language(harness, lang):
    today_label, first_day, today_shown = LANGS[lang]
    seen = set()
    for n, (name, events) in enumerate(PATHS.items()):
        user = harness.user(8000 + 10 * list(LANGS).index(lang) + n, language_code=lang)
        answers = (dict(reason="damaged", received="yes", defect="does_not_work", detail="?",
                        solution="return_and_refund", amount="full") if name == "return"
                   else dict(reason="not_received", tracking="none"))
        await walk(user, to="summary", order_number="8123456789012345",
                   order_total={"en": "$25", "ru": "25 ₽"}.get(lang, "25 €"),
                   shipped_on="01.11.2026" if lang in ("ru", "de") else "1/11/2026" if lang == "es" else "11/1/2026",
                   protection="40", evidence="done", **answers)
        for event in [None, *events]:
            if event == "withdraw":
                await user.choose(event)
                await user.choose("1")  # confirm
            elif event:
                await user.choose(event)
            d = await harness.store.focused_dispute(user.id)
            (sent,) = sent_photos(await user.choose("timeline"))
            image, rows = png_rows(sent)
            assert image.width >= 720 and int(image.text["min_text_px"]) >= 24
            labels = json.loads(image.text["labels"])
            assert [today_shown, today_label, "now"] in rows, (d.state, rows)
            assert [r for r in rows if r[1] == first_day][0][2] == "past"  # Nov 12, before today
            if lang != "en":
                assert not any("Buyer Protection" in text or "seller" in text for text in labels), labels
            seen.add(d.state)
    assert seen == STAGES


async def test_the_timeline_shows_the_dates_the_reminders_use(harness):
    user = harness.user(7003)
    await walk(user, to="summary", reason="not_received", tracking="none", order_number="8123456789012345",
               order_total="$25.90", shipped_on="11/1/2026", protection="40", evidence="done")
    for event in ("open_on_aliexpress", "d0", "escalate", "decision_rejected"):
        await user.choose(event)
    d = await harness.store.focused_dispute(user.id)
    deadlines = {r.kind: r.deadline_at for r in await harness.store.list_reminders(d.id)}
    (sent,) = sent_photos(await user.press("Timeline"))
    _, rows = png_rows(sent)
    shown = {label: (day, when) for day, label, when in rows}
    tz = ZoneInfo("America/New_York")
    assert shown["Last day to appeal"] == ("Nov 27, 2026", "future")
    assert deadlines["appeal"].astimezone(tz).date() == date(2026, 11, 27)
    assert shown["Last day for the dispute survey"] == ("Dec 5, 2026", "future")
    assert deadlines["survey"].astimezone(tz).date() == date(2026, 12, 5)
    assert shown["The seller shipped the order"] == ("Nov 1, 2026", "past")
    assert shown["AliExpress rejected the dispute"] == ("Nov 21, 2026", "today")
    assert shown["Last day “Open Dispute” may still be there"] == ("Jan 15, 2027", "future")  # Dec 31 + 15


def files_under(*folders: Path) -> set[Path]:
    skip = {".venv", ".git", "__pycache__"}
    return {p for folder in folders for p in folder.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(folder).parts)}


async def test_forget_leaves_nothing_of_the_dossier_or_the_timeline(harness, tmp_path):
    user = harness.user(7004, language_code="ru")
    before = files_under(tmp_path, ROOT)
    await russian_case_to_rejection(user, harness)
    replies = await user.press("Досье (PDF)") + await user.press("Хронология")
    assert [type(s.method) for s in replies if isinstance(s.method, (SendDocument, SendPhoto))] == [
        SendDocument, SendPhoto]
    made = files_under(tmp_path, ROOT) - before
    # Only the database (and its WAL files) was written: no PDF, PNG or photo on disk.
    assert {p.name for p in made} <= {"disputes.db", "disputes.db-wal", "disputes.db-shm"}, made
    await user.send("/forget")
    await user.press("Да")
    with sqlite3.connect(harness.db_path) as db:
        for table in ("users", "disputes", "evidence", "reminders"):
            assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,), table
        assert db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%dossier%' OR name LIKE "
                          "'%timeline%'").fetchone() == (0,)
    replies = await user.send("/dossier")
    assert not [s for s in replies if isinstance(s.method, SendDocument)]


def test_the_documents_are_built_without_aiogram_or_the_database():
    code = ("import sys, flows.dossier, flows.timeline, flows.fonts;"
            "bad = [m for m in ('aiogram', 'aiosqlite', 'sqlite3', 'bot') if m in sys.modules];"
            "print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_another_buyer_gets_neither_document_of_a_dispute(harness):
    from bot.keyboards import Paperwork

    alice, bob = harness.user(7101), harness.user(7102)
    await russian_case_to_rejection(alice, harness)
    d = await harness.store.focused_dispute(alice.id)
    await bob.send("/start")
    for what in ("timeline", "dossier", "export"):
        replies = await bob.tap(Paperwork(dispute_id=d.id, what=what).pack())
        assert bob.alerts(replies) == ["This button is outdated."], what
        assert not [s for s in replies if isinstance(s.method, (SendDocument, SendPhoto))]
    replies = await bob.send("/dossier")
    assert not [s for s in replies if isinstance(s.method, SendDocument)] and "8123456789012345" not in bob.texts(replies)


async def test_the_dossier_history_dates_the_sellers_answer_the_escalation_and_a_return_ruling(harness):
    user = harness.user(7005, language_code="en")
    await walk(user, to="summary", reason="damaged", received="yes", defect="does_not_work", detail="?",
               solution="return_and_refund", order_number="8123456789012345", order_total="$25.90",
               shipped_on="11/1/2026", protection="40", amount="full", evidence="done")
    await user.choose("open_on_aliexpress")
    await user.choose("d0")  # opened Nov 21
    harness.clock.current += timedelta(days=2)
    await user.choose("seller_refused")  # Nov 23
    harness.clock.current += timedelta(days=1)
    await user.choose("escalate")  # Nov 24
    harness.clock.current += timedelta(days=3)
    await user.choose("decision_return")  # Nov 27
    replies = await user.send("/dossier")
    (doc,) = [s for s in replies if isinstance(s.method, SendDocument)]
    text = pdf_text(PdfReader(io.BytesIO(doc.method.document.data)))
    for fact in ("Nov 23, 2026", "The seller refused my request.", "Nov 24, 2026",
                 "The dispute went to AliExpress's team.", "Nov 27, 2026",
                 "AliExpress's team decided: return the item for a refund."):
        assert fact in text, fact
    # The timeline has the same dates.
    replies = await user.press("Timeline")
    _, rows = png_rows(sent_photos(replies)[-1])
    labels = [" ".join(map(str, row)) for row in rows]
    assert any("The seller refused" in row and "Nov 23, 2026" in row for row in labels), labels
    assert any("The dispute went to AliExpress" in row and "Nov 24, 2026" in row for row in labels), labels


async def test_the_dossier_has_the_expected_delivery_date_the_buyer_gave(harness):
    user = harness.user(7006, language_code="en")
    await walk(user, to="summary", reason="not_received", tracking="moving",
               eta="12/5/2026",  # the estimated delivery shown on the order
               order_number="8123456789012345", order_total="$25.90", shipped_on="11/1/2026", protection="40",
               evidence="done")
    d = await harness.store.focused_dispute(user.id)
    assert d.eta == date(2026, 12, 5) and d.state == "summary"
    (doc,) = [s for s in await user.send("/dossier") if isinstance(s.method, SendDocument)]
    text = pdf_text(PdfReader(io.BytesIO(doc.method.document.data)))
    assert "Expected delivery Dec 5, 2026" in text, text[:600]
