"""docs/rules.md lists every rule the bot applies, with the value the code uses and a test that exists."""
from __future__ import annotations

import re
from datetime import time
from pathlib import Path

import pytest

from flows import calendar, dossier, explanation, images, languages, reminders, steps, timeline
from flows.policy import Policy
from bot import views
from testkit import phone

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
ROWS = [line for line in DOC.splitlines() if line.startswith("| ") and not line.startswith("| ---")]


def row_naming(name: str) -> str:
    found = [row for row in ROWS if f"`{name}`" in row or f"`{name}`," in row]
    assert found, f"docs/rules.md has no row for `{name}`"
    return " ".join(found)


def shown(value: object) -> list[str]:
    """How a value must appear in its row."""
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, time):
        return [f"`{value:%H:%M}`"]
    if isinstance(value, int):
        return [f"`{value}`" if value < 10_000 else f"{value:,}"]
    if isinstance(value, dict):
        return [f"`{key} {item}`" for key, item in value.items()]
    if isinstance(value, frozenset):
        return [f"`{item}`" for item in sorted(value)]
    raise TypeError(f"no rule for showing {value!r}")


@pytest.mark.parametrize("field", sorted(Policy.model_fields))
def test_every_policy_value_is_listed_with_its_default(field):
    row = row_naming(f"Policy.{field}")
    default = getattr(Policy(), field)
    missing = [text for text in shown(default) if text not in row]
    assert not missing, f"Policy.{field} = {default!r}: docs/rules.md's row lacks {missing}"


# Rule constants of flows/ that aren't policy (fixed by AliExpress or Telegram, or tables per language).
CONSTANTS = {
    "ACCEPTED_EXTENSIONS": images.ACCEPTED_EXTENSIONS,
    "ALIEXPRESS_MAX_BYTES": images.ALIEXPRESS_MAX_BYTES,
    "TELEGRAM_DOWNLOAD_LIMIT": images.TELEGRAM_DOWNLOAD_LIMIT,
    "MAX_PIXELS": images.MAX_PIXELS,
    "MAX_DECODE_PIXELS": images.MAX_DECODE_PIXELS,
    "MAX_CONCURRENT_DECODES": images.MAX_CONCURRENT_DECODES,
    "HOLIDAY_COUNTRY": calendar.HOLIDAY_COUNTRY,
    "DEFAULT_TIMEZONE": calendar.DEFAULT_TIMEZONE,
    "TELEGRAM_UPLOAD_LIMIT": dossier.TELEGRAM_UPLOAD_LIMIT,
    "PHOTO_LONG_SIDE": dossier.PHOTO_LONG_SIDE,
    "PHOTO_QUALITY": dossier.PHOTO_QUALITY,
    "WIDTH": timeline.WIDTH,
    "MIN_TEXT_PX": timeline.MIN_TEXT_PX,
    "EXPLANATION_MAX": explanation.EXPLANATION_MAX,
    "DETAIL_MAX": steps.DETAIL_MAX,
    "CURRENCIES": languages.CURRENCIES,
    # What the buyer sees on a phone (bot/views.py, testkit/phone.py).
    "PHONE_WIDTH": views.PHONE_WIDTH,
    "SCREEN_LINES": views.SCREEN_LINES,
    "FOLDED_LINES": views.FOLDED_LINES,
    "SCREEN_CHARS": phone.SCREEN_CHARS,
    "MESSAGE_CHARS": phone.MESSAGE_CHARS,
}


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_every_rule_constant_is_listed_with_its_value(name):
    row = row_naming(name)
    missing = [text for text in shown(CONSTANTS[name]) if text not in row]
    assert not missing, f"{name}: docs/rules.md's row lacks {missing}"


def test_every_reminder_rule_is_listed():
    listed = {kind for row in ROWS if "`RULES`" in row for kind in re.findall(r"`([a-z_]+)`", row)}
    assert {rule.kind for rule in reminders.RULES} <= listed


def test_every_named_test_exists():
    named = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", DOC))
    assert len(named) >= 30
    for path, name in sorted(named):
        source = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^(?:async )?def {name}\(", source, re.M), f"{path}::{name} doesn't exist"


def test_every_rule_row_names_a_test_or_says_why_not():
    for row in ROWS:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if cells[0] == "rule":
            continue
        assert "tests/" in cells[-1] or "not applied yet" in cells[-1], row


def test_code_comments_point_at_the_project_not_outside_documents():
    stale = [f"{path.relative_to(ROOT)}:{n}" for folder in ("bot", "flows") for path in (ROOT / folder).rglob("*.py")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "DOMAIN §" in line]
    assert not stale, f"comments citing DOMAIN (outside the repo), cite docs/rules.md instead: {stale}"


def test_every_kind_of_seller_pressure_is_listed():
    from flows.guard import Pressure

    for kind in Pressure:
        row = row_naming(f"Pressure.{kind.name}")
        assert f"`{kind.value}`" in row
