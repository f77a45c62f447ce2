"""The one font the dossier PDF and the timeline picture embed: Roboto (Apache 2.0), from the
``font-roboto`` package, so Latin, Cyrillic, ñ, ß, €, ₽ render with no font installed on the machine
and nothing fetched at run time.

``printable`` replaces what the font can't draw (emoji, CJK in a pasted seller message) with "?", so a
glyph never silently vanishes from evidence.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

import font_roboto
from fontTools.ttLib import TTFont

REGULAR = Path(font_roboto.font_files["Roboto"])
BOLD = Path(font_roboto.font_files["RobotoBold"])
# Spaces Babel puts into dates and money ("1 234,56 ₽", "5 нояб."): all drawn as a plain space.
_SPACES = {"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " "}


@lru_cache(maxsize=1)
def _codepoints() -> frozenset[int]:
    font = TTFont(REGULAR, lazy=True)
    return frozenset(font.getBestCmap())


def printable(text: str) -> str:
    """The text as the font can draw it: unknown characters become "?", controls (but newlines) go."""
    known = _codepoints()
    out = []
    for ch in unicodedata.normalize("NFC", text):
        ch = _SPACES.get(ch, ch)
        if ch == "\n" or ord(ch) in known:
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Mn"):
            continue  # zero-width joiners, variation selectors, stray controls
        else:
            out.append("?")
    return "".join(out)
