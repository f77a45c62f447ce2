"""Figure 5: the dossier PDF of a large case and the timeline picture (``python -m benchmarks --only 5``).

The case: 30 phone photos (2400×1800 JPEGs of random noise, the worst case for compression: a real photo
shrinks far more) and 50 forwarded seller messages, in two parts (Russian and the English copy) as a
non-English buyer gets it. Measured in process, on the code the bot runs in its worker thread
(flows.dossier.build_dossier, flows.timeline.render_png); the photos' download is not included.
"""
from __future__ import annotations

import asyncio
import io
import os
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from PIL import Image

from benchmarks.common import Figure, alternate, spread
from bot.formatting import fmt_date, fmt_relative, user_language
from bot.i18n import make_i18n
from flows.dispute import Dispute
from flows.dossier import TELEGRAM_UPLOAD_LIMIT, Case, build_dossier
from flows.evidence import EvidenceItem, EvidenceKind
from flows.explanation import ENGLISH
from flows.policy import Policy
from flows.timeline import LABELS, Row, milestones, render_png


def noise_jpeg(width: int = 2400, height: int = 1800) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "JPEG", quality=92)
    return out.getvalue()


def large_case(photos: int, messages: int) -> tuple[Case, dict[int, bytes]]:
    d = Dispute(id=1, user_id=1, state="chargeback", reason="not_received", received=False, solution="refund_only",
                order_number="8123456789012345", order_total=Decimal("12990.00"), currency="RUB",
                shipped_on=date(2026, 9, 1), protection_ends_on=date(2026, 11, 30), refund_full=True,
                opened_at=datetime(2026, 10, 1, 9, tzinfo=timezone.utc),
                window_started_at=datetime(2026, 10, 1, 9, tzinfo=timezone.utc), decision="rejected",
                decided_at=datetime(2026, 10, 20, 9, tzinfo=timezone.utc))
    items = [EvidenceItem(EvidenceKind.IMAGE, file_id=f"p{n}", file_size=4_000_000, id=n) for n in range(photos)]
    items += [EvidenceItem(EvidenceKind.FORWARD, id=1000 + n, origin_name="Лучший Магазин",
                           origin_date=datetime(2026, 9, 1 + n % 28, 9, tzinfo=timezone.utc),
                           text="Уважаемый покупатель, посылка в пути, подождите ещё немного. " * 5)
              for n in range(messages)]
    case = Case(d, items, Policy(), ZoneInfo("Europe/Moscow"), "RU", datetime(2026, 11, 21, 9, tzinfo=timezone.utc))
    return case, {n: noise_jpeg() for n in range(photos)}


def run(photos: int = 30, messages: int = 50, repeats: int = 5) -> list[Figure]:
    case, data = large_case(photos, messages)
    languages = [user_language("ru", make_i18n()), ENGLISH]
    rows = [Row(m.day, LABELS[m.key]) for m in milestones(case.dispute, case.policy, case.tz, case.country)]
    pdf = b""

    async def dossier(_: int) -> float:
        nonlocal pdf
        started = time.perf_counter()
        pdf = build_dossier(case, languages, data)
        return time.perf_counter() - started

    async def picture(_: int) -> float:
        started = time.perf_counter()
        render_png("Dispute #1: dates", rows, today=date(2026, 11, 21), today_label="Today",
                   fmt_date=lambda day: fmt_date(day, "en"), relative=lambda days: fmt_relative(days, "en"))
        return time.perf_counter() - started

    times = asyncio.run(alternate({"dossier": dossier, "picture": picture}, repeats))
    size_mb = len(pdf) / 1024 / 1024
    per_photo = [t / max(photos, 1) * 1000 for t in times["dossier"]]
    return [
        Figure(f"5. dossier build, {photos} photos + {messages} seller messages, ru + en",
               f"{spread(times['dossier'], '{:.2f}', ' s')} (min / median / max of {repeats}; "
               f"{spread(per_photo, '{:.0f}', ' ms')} per photo)",
               note=f"the photos as sent: {sum(map(len, data.values())) // 1024:,} KiB; the PDF: {len(pdf) // 1024:,} KiB"),
        Figure("5. dossier size against Telegram's 50 MB upload limit", f"{size_mb:.1f} MiB",
               "< 50 MiB", len(pdf) < TELEGRAM_UPLOAD_LIMIT),
        Figure(f"5. timeline picture, {len(rows)} dates",
               f"{spread([t * 1000 for t in times['picture']], '{:.0f}', ' ms')} (min / median / max of {repeats})"),
    ]


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(run()))
