"""Translation workflow: ``python scripts/i18n.py extract|update|compile|check``.

extract  bot/ and flows/ messages → locales/messages.pot (keywords _, N_, t, ngettext)
update   merge the .pot into locales/<lang>/LC_MESSAGES/messages.po for every
         language (creating missing catalogs); English is the source
         language, so its msgstr are the msgids
compile  .po → .mo (the setup path runs this, so .mo files are never stale)
check    fail when the code has a message a catalog lacks, or a catalog has an
         empty or fuzzy translation (CI runs this through the test suite)
"""
from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
LANGUAGES = ("en", "ru", "es", "de")
# ``t`` is the translator handed to code shared by handlers and reminders (bot/stages.py).
KEYWORDS = {"_": None, "N_": None, "t": None, "gettext": None, "ngettext": (1, 2), "__": None}


def extract() -> Catalog:
    """What `pybabel extract -F babel.cfg -k N_ -k __` finds, as a catalog."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    catalog = Catalog(project="dispute-guide-bot", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / "messages.po"


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, no_location=True, omit_header=False, sort_output=True)
    path.write_bytes(buffer.getvalue())


def _read(path: Path, lang: str) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def update() -> None:
    template = extract()
    _write(POT, template)
    for lang in LANGUAGES:
        path = _po_path(lang)
        catalog = _read(path, lang) if path.exists() else Catalog(locale=lang, charset="utf-8",
                                                                   project="dispute-guide-bot")
        catalog.update(template, update_header_comment=False)
        catalog.obsolete.clear()
        catalog.fuzzy = False  # the header; messages keep their own flags
        if lang == "en":
            for message in catalog:
                if message.id:
                    message.string = message.id
                    message.flags.discard("fuzzy")
        _write(path, catalog)


def compile_all() -> None:
    for path in LOCALES.glob("*/LC_MESSAGES/messages.po"):
        catalog = _read(path, path.parts[-3])
        with path.with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)


def problems() -> list[str]:
    template = {m.id for m in extract() if m.id}
    found = []
    for lang in LANGUAGES:
        path = _po_path(lang)
        if not path.exists():
            found.append(f"{path.relative_to(ROOT)} is missing (run: python scripts/i18n.py update)")
            continue
        catalog = _read(path, lang)
        ids = {m.id for m in catalog if m.id}
        missing = template - ids
        if missing:
            found.append(f"{lang}: {len(missing)} messages missing, e.g. {sorted(map(str, missing))[0]!r}"
                         " (run: python scripts/i18n.py update)")
        for m in catalog:
            if not m.id:
                continue
            empty = not m.string or (isinstance(m.string, tuple) and not all(m.string))
            if empty or m.fuzzy:
                found.append(f"{lang}: untranslated or fuzzy: {m.id!r}")
            elif lang != "en" and _still_english(m):
                found.append(f"{lang}: still the English text: {m.id!r}")
            elif problem := _shape_problem(m):
                found.append(f"{lang}: {problem}: {m.id!r}")
    return found


_PLACEHOLDER = re.compile(r"\{\w+\}")
_TAG = re.compile(r"</?\w+>")


def _shape_problem(m) -> str | None:
    """A translation must keep the msgid's placeholders and HTML tags, or it breaks at runtime."""
    ids = m.id if isinstance(m.id, tuple) else (m.id,)
    strings = m.string if isinstance(m.string, tuple) else (m.string,)
    wanted = set().union(*(_PLACEHOLDER.findall(i) for i in ids))
    tags = sorted(_TAG.findall(ids[0]))
    for text in strings:
        # A plural form may drop {n} ("one day"), but may never invent a placeholder.
        have = set(_PLACEHOLDER.findall(text))
        if not have <= wanted or (len(ids) == 1 and have != wanted):
            return "placeholders differ"
        if sorted(_TAG.findall(text)) != tags:
            return "HTML tags differ"
    return None


def _still_english(m) -> bool:
    """A sentence copied over unchanged is an untranslated message in disguise."""
    source = m.id[0] if isinstance(m.id, tuple) else m.id
    target = m.string[0] if isinstance(m.string, tuple) else m.string
    words = re.findall(r"[^\W\d_]{2,}", re.sub(r"\{\w+\}|</?\w+>", " ", source))
    return target == source and len(words) >= 3


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "extract":
        _write(POT, extract())
    elif command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        issues = problems()
        for line in issues:
            print(line, file=sys.stderr)
        return 1 if issues else 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
