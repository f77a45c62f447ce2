"""Writes the sample timeline pictures in docs/: ``python scripts/timeline_samples.py``.

The same code path as the "🗓 Timeline" button (bot/routers/paperwork.py): milestones from the dispute,
labels through the catalogs, dates with fmt_date, rendered by flows.timeline.render_png.
"""
from __future__ import annotations

import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.formatting import fmt_date, fmt_relative  # noqa: E402
from bot.i18n import make_i18n  # noqa: E402
from flows.calendar import DEFAULT_TIMEZONE, HOLIDAY_COUNTRY  # noqa: E402
from flows.dispute import Dispute  # noqa: E402
from flows.policy import Policy  # noqa: E402
from flows.timeline import LABELS, Row, milestones, render_png  # noqa: E402

NOW = datetime(2026, 11, 24, 15, tzinfo=timezone.utc)


def sample(locale: str, d: Dispute) -> bytes:
    i18n = make_i18n()
    tz = ZoneInfo(DEFAULT_TIMEZONE[locale])
    found = milestones(d, Policy(), tz, HOLIDAY_COUNTRY.get(locale))
    rows = [Row(m.day, i18n.gettext(LABELS[m.key], locale=locale)) for m in found]
    return render_png(i18n.gettext("Dispute #{id}: dates", locale=locale).format(id=d.id), rows,
                      today=NOW.astimezone(tz).date(), today_label=i18n.gettext("Today", locale=locale),
                      fmt_date=lambda day: fmt_date(day, locale), relative=lambda days: fmt_relative(days, locale))


def main() -> None:
    opened = datetime(2026, 11, 14, 12, tzinfo=timezone.utc)
    rejected = Dispute(id=12, user_id=1, state="rejected", reason="not_as_described", received=True,
                       order_total=Decimal("25.90"), currency="USD", shipped_on=date(2026, 10, 20),
                       protection_ends_on=date(2026, 12, 28), opened_at=opened, window_started_at=opened,
                       decision="rejected", decided_at=datetime(2026, 11, 22, 12, tzinfo=timezone.utc))
    negotiating = Dispute(id=7, user_id=1, state="negotiating", reason="not_received", received=False,
                          shipped_on=date(2026, 11, 1), opened_at=datetime(2026, 11, 21, 9, tzinfo=timezone.utc),
                          window_started_at=datetime(2026, 11, 21, 9, tzinfo=timezone.utc))
    (ROOT / "docs" / "timeline-en-rejected.png").write_bytes(sample("en", rejected))
    (ROOT / "docs" / "timeline-ru-negotiating.png").write_bytes(sample("ru", negotiating))


if __name__ == "__main__":
    main()
