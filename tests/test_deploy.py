"""Deploy from a fresh checkout: ``git clone``, ``pip install .``, the Procfile's command.

Nothing from ``make`` (no compiled ``.mo``, no ``data/``): the clone holds only what git
tracks. To stay fast, the new virtualenv borrows the dependencies already installed in
the test run's environment (a ``.pth`` line) and ``pip install --no-deps .`` builds and
installs only the project itself, as a wheel, package data included.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from testkit.fake_bot_api import FakeBotAPI
from testkit.processes import REPO, BotProcess, bot_env
from tests.test_e2e import sent_to

pytestmark = pytest.mark.slow
USER = 7001


def procfile(clone: Path) -> dict[str, str]:
    lines = (clone / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict((kind.strip(), command.strip()) for kind, _, command in
                (line.partition(":") for line in lines if line.strip()))


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(clone, venv): a clone of this checkout's HEAD with the project pip-installed into a new venv."""
    if shutil.which("git") is None:
        pytest.fail("git is needed to clone the checkout")
    root = tmp_path_factory.mktemp("deploy")
    clone, venv = root / "clone", root / "venv"
    run("git", "clone", "--quiet", REPO, clone, cwd=root)
    assert not list(clone.glob("locales/*/LC_MESSAGES/*.mo")), "a clone has no compiled catalogs"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root)
    python = venv / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root).strip()
    # The dependencies (and pip) of the environment running the tests, after the venv's own packages.
    (Path(purelib) / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", ".", cwd=clone, env=env)
    return clone, venv


def test_the_installed_package_carries_its_catalogs(installed: tuple[Path, Path], tmp_path: Path) -> None:
    clone, venv = installed
    # Away from the clone: only the installed package can be imported.
    out = run(venv / "bin" / "python", "-c",
              "import bot.i18n as i; t = i.make_i18n(); print(i.LOCALES_DIR); "
              "print(t.gettext('🚀 Start a dispute', locale='de'))", cwd=tmp_path)
    where, german = out.splitlines()
    assert Path(where).is_relative_to(venv) and Path(where).name == "locales", where
    assert german != "🚀 Start a dispute" and german.startswith("🚀"), german
    assert sorted(p.parent.parent.name for p in Path(where).glob("*/LC_MESSAGES/messages.po")) == \
        ["de", "en", "es", "ru"]


async def test_procfile_worker_from_a_fresh_clone_answers_start(
        installed: tuple[Path, Path], fake: FakeBotAPI, tmp_path: Path) -> None:
    clone, venv = installed
    command = procfile(clone)
    assert set(command) == {"web", "worker"}, command
    config = tmp_path / "deploy.toml"
    config.write_text("[bot]\npolling_timeout = 1\n", encoding="utf-8")
    env = bot_env(BOT_TOKEN=fake.token, BOT_API_URL=fake.url, CONFIG_FILE=str(config),
                  PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    # As a platform runs it: the Procfile's line, in the checkout, through a shell.
    proc = await asyncio.create_subprocess_exec(
        "sh", "-c", f"exec {command['worker']}", cwd=clone, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    bot = BotProcess(proc, fake)
    try:
        await bot.expect("getUpdates", since=0, what="the worker's first getUpdates", timeout=30)
        fake.user_message(USER, "/start", language_code="de")
        welcome = await bot.expect(sent_to(USER), what="the /start welcome")
        assert "Start a dispute" not in welcome.params["text"], "not translated"
        assert await bot.terminate() == 0, bot.describe()
        assert "Traceback" not in bot.stderr and "not compiled" not in bot.stderr, bot.describe()
    finally:
        await bot.kill()
    assert (clone / "data" / "disputes.db").is_file(), "the default database is created in the checkout"


# Needed only for a dossier, a timeline picture, a calendar file or an HTTP server: never before the first poll.
NOT_AT_START = ("fpdf", "fontTools", "icalendar", "flows.dossier", "flows.timeline", "bot.web", "aiohttp.web")


def test_a_polling_bot_starts_without_the_modules_only_paperwork_or_a_web_server_needs() -> None:
    code = ("import sys, bot.app; print(' '.join(m for m in " + repr(NOT_AT_START) + " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == []  # imported on first use: tests/test_dossier.py, test_calendar.py, test_webhook.py
