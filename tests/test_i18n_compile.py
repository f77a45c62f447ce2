"""Catalogs compile themselves at start (bot/i18n.py): no ``make`` step is needed after a
checkout or ``pip install .``, a stale ``.mo`` is never used, and a read-only install
compiles into the user's cache."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from aiogram.utils.i18n import I18n

import bot.i18n as i18n

GERMAN_START = "🚀 Start a dispute"


def catalogs(tmp_path: Path) -> Path:
    target = tmp_path / "locales"
    shutil.copytree(i18n.LOCALES_DIR, target, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    return target


def test_missing_mo_files_are_compiled_in_place(tmp_path: Path) -> None:
    source = catalogs(tmp_path)
    assert i18n.compiled_locales(source) == source
    assert sorted(p.parts[-3] for p in source.glob("*/LC_MESSAGES/messages.mo")) == ["de", "en", "es", "ru"]
    german = I18n(path=source, domain="messages").gettext(GERMAN_START, locale="de")
    assert german != GERMAN_START and german.startswith("🚀")


def test_a_stale_mo_is_compiled_again(tmp_path: Path) -> None:
    source = catalogs(tmp_path)
    i18n.compiled_locales(source)
    po = source / "de" / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    mo.write_bytes(b"stale")
    os.utime(mo, (1, 1))
    i18n.compiled_locales(source)
    assert mo.read_bytes() != b"stale" and mo.stat().st_mtime >= po.stat().st_mtime


def test_a_read_only_install_compiles_into_the_user_cache(tmp_path: Path, monkeypatch) -> None:
    source = catalogs(tmp_path)
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).is_relative_to(source):
            raise PermissionError(13, "Read-only file system")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(i18n.tempfile, "mkstemp", mkstemp)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    where = i18n.compiled_locales(source)
    assert where == tmp_path / "cache" / "dispute-guide-bot" / "locales"
    assert not list(source.glob("*/LC_MESSAGES/*.mo"))
    assert I18n(path=where, domain="messages").gettext(GERMAN_START, locale="de") != GERMAN_START
