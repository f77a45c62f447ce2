"""What a message takes on a phone before any tap: the measure behind the summary's budget (docs/rules.md).

Lines are counted as the summary's renderer counts them (bot.views.screen_lines: wrapped at PHONE_WIDTH, a
folded part FOLDED_LINES); characters are counted on the text as Telegram delivers it (testkit.chat).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.views import SCREEN_LINES, screen_lines
from testkit.chat import as_received

# Characters shown before any tap, and the whole message (Telegram's own limit is 4096).
SCREEN_CHARS = 800
MESSAGE_CHARS = 3000

_FOLDED = re.compile(r"<blockquote expandable>.*?</blockquote>", re.S)


@dataclass(frozen=True)
class Footprint:
    lines: int   # phone lines before any tap
    chars: int   # characters outside the folded parts
    total: int   # characters of the whole message
    folded: int  # how many folded parts

    def fits(self) -> bool:
        return self.lines <= SCREEN_LINES and self.chars <= SCREEN_CHARS and self.total <= MESSAGE_CHARS


def footprint(html_text: str) -> Footprint:
    """Measures a message the bot sends in HTML, as the buyer's phone shows it."""
    shown, _ = as_received(_FOLDED.sub("", html_text))
    whole, _ = as_received(html_text)
    return Footprint(lines=screen_lines(html_text), chars=len(shown.strip()), total=len(whole),
                     folded=len(_FOLDED.findall(html_text)))


def over_budget(html_text: str) -> str | None:
    """None when the message fits the budget; else what it takes, against the budget."""
    f = footprint(html_text)
    return None if f.fits() else f"{f} (budget: {SCREEN_LINES} lines, {SCREEN_CHARS} chars, {MESSAGE_CHARS} in all)"
