"""Faults in the process itself, through the real ``python -m bot`` against the fake Bot API:
a database it can't use, a second instance, startup failures that must never print the
token, and a database locked while it runs."""
from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from testkit.fake_bot_api import FakeBotAPI
from testkit.processes import TIMEOUT, BotProcess, quiet_restart
from tests.test_e2e import button_data, message_id_of, sent_to

USER = 5001
NOT_SAVED = "I couldn't save that just now, so nothing changed. Please try again in a minute."


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "e2e.toml"
    path.write_text("[bot]\npolling_timeout = 1\n[database]\nbusy_timeout_seconds = 1\n", encoding="utf-8")
    return path


async def run_to_exit(env: dict[str, str], fake: FakeBotAPI | None = None) -> BotProcess:
    """Runs the bot until it exits by itself; fails (with its output) if it hangs."""
    bot = await BotProcess.start(env, fake)
    try:
        await bot.finish(TIMEOUT)
        return bot
    finally:
        await bot.kill()


def one_error_line(bot: BotProcess) -> str:
    lines = bot.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), bot.describe()
    assert bot.proc.returncode == 1, bot.describe()
    assert "Traceback" not in bot.stderr and bot.stdout == "", bot.describe()
    return lines[0]


@contextlib.contextmanager
def read_only_dir(path: Path):
    """A directory nobody can create files in, root included (tests here run as root:
    a chmod would not stop it, the immutable attribute does)."""
    if os.geteuid() != 0:
        path.chmod(0o555)
    elif subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("running as root without chattr: can't make a read-only directory")
    try:
        yield path
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o755)


async def prepared_db(path: Path) -> None:
    """A database made by an earlier run: the schema and one buyer's dispute."""
    from bot.storage import Storage
    store = await Storage.open(f"sqlite:///{path}")
    await store.create_dispute(USER, "reason")
    await store.close()


# ------------------------------------------------------------------ 6. the database at start
async def test_garbage_database_file_one_line_no_hang_and_the_file_is_kept(fake: FakeBotAPI, env, db_path):
    garbage = os.urandom(64 * 1024)
    db_path.write_bytes(garbage)
    start = time.monotonic()
    bot = await run_to_exit(env, fake)
    line = one_error_line(bot)
    assert f"can't use the database {db_path}: file is not a database" in line
    assert time.monotonic() - start < 10
    assert db_path.read_bytes() == garbage  # nothing overwritten: an operator can still look at it
    assert fake.requests == []              # stopped before talking to Telegram


async def test_garbage_with_an_sqlite_header(fake: FakeBotAPI, env, db_path):
    broken = b"SQLite format 3\0" + b"\xff" * 4000
    db_path.write_bytes(broken)
    line = one_error_line(await run_to_exit(env, fake))
    assert f"can't use the database {db_path}: " in line, line
    assert db_path.read_bytes() == broken and fake.requests == []


async def test_fresh_read_only_directory(fake: FakeBotAPI, env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    env["DATABASE_URL"] = f"sqlite:///{data}/bot.db"
    with read_only_dir(data):
        bot = await run_to_exit(env, fake)
    line = one_error_line(bot)
    assert str(data / "bot.db") in line and "writable" in line, line
    assert list(data.iterdir()) == [] and fake.requests == []


async def test_read_only_directory_holding_the_database(fake: FakeBotAPI, env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = data / "bot.db"
    env["DATABASE_URL"] = f"sqlite:///{db}"
    await prepared_db(db)
    (data / "bot.db.lock").touch()  # left by the earlier run
    before = db.read_bytes()
    with read_only_dir(data):
        bot = await run_to_exit(env, fake)
    line = one_error_line(bot)
    assert f"can't use the database {db}" in line, line
    assert db.read_bytes() == before and fake.requests == []
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT user_id, state FROM disputes").fetchall() == [(USER, "reason")]


async def test_read_only_database_file(fake: FakeBotAPI, env, db_path):
    await prepared_db(db_path)
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(db_path)], check=True)
    else:
        db_path.chmod(0o444)
    try:
        bot = await run_to_exit(env, fake)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(db_path)], check=True)
        db_path.chmod(0o644)
    line = one_error_line(bot)
    assert f"can't use the database {db_path}" in line and "readonly" in line, line
    assert fake.requests == []
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT user_id, state FROM disputes").fetchall() == [(USER, "reason")]


async def test_database_path_is_a_directory(fake: FakeBotAPI, env, db_path):
    db_path.mkdir()
    line = one_error_line(await run_to_exit(env, fake))
    assert f"can't use the database {db_path}" in line, line
    assert list(db_path.iterdir()) == [] and fake.requests == []


# ------------------------------------------------------------------ 8. the token never printed
def leaks(bot: BotProcess, token: str) -> list[str]:
    secret = token.partition(":")[2]
    out = bot.stdout + bot.stderr
    return [s for s in (token, secret) if s in out]


@pytest.mark.parametrize("api_url", [
    "http://127.0.0.1:99999",   # port out of range: aiohttp quoted the whole URL, token included, twice
    "http://127.0.0.1:0",
    "http://127.0.0.1:http",
    "http://[::1",
    "ftp://127.0.0.1:8081",
    "127.0.0.1:8081",
    "http://",
    "http://127.0.0.1:8081?x=1",
])
async def test_malformed_api_url_one_line_exit_2_no_token(env, api_url):
    env["BOT_API_URL"] = api_url
    bot = await run_to_exit(env)
    assert leaks(bot, env["BOT_TOKEN"]) == [], bot.describe()
    lines = bot.stderr.splitlines()
    assert bot.proc.returncode == 2 and len(lines) == 1, bot.describe()
    assert lines[0].startswith("error: config value bot.api_url:"), bot.describe()


def refused_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


async def test_unreachable_api_one_line_no_token(env):
    env["BOT_API_URL"] = f"http://127.0.0.1:{refused_port()}"
    bot = await run_to_exit(env)
    assert leaks(bot, env["BOT_TOKEN"]) == [], bot.describe()
    assert "can't reach the Bot API at http://127.0.0.1:" in one_error_line(bot)


async def test_rejected_token_one_line_no_token(fake: FakeBotAPI, env):
    env["BOT_TOKEN"] = "987654:Another-Secret-That-Must-Not-Show"
    bot = await run_to_exit(env, fake)
    assert leaks(bot, env["BOT_TOKEN"]) == [], bot.describe()
    assert "rejected BOT_TOKEN (401 Unauthorized)" in one_error_line(bot)


@pytest.mark.parametrize("method, status", [("getMe", 500)])
async def test_api_errors_at_start_one_line_no_token(fake: FakeBotAPI, env, method, status):
    fake.fail_next(method, status=status, description=f"Bad thing near /bot{fake.token}/{method}")
    bot = await run_to_exit(env, fake)
    assert leaks(bot, fake.token) == [], bot.describe()
    line = one_error_line(bot)
    assert "<token>" in line, line  # the token in the description was redacted, not dropped


# ------------------------------------------------------------------ 7. a second instance
async def test_second_instance_on_the_same_database_stops_at_once(fake: FakeBotAPI, env):
    first = await BotProcess.start(env, fake)
    second = None
    try:
        await first.expect("getUpdates", since=0, what="the first instance polling")
        since = fake.mark()
        second = await run_to_exit(env)
        line = one_error_line(second)
        assert f"another instance of the bot (pid {first.proc.pid}) is running" in line, line
        # The second touched neither Telegram nor the database.
        assert [r.method for r in fake.requests[since:] if r.method != "getUpdates"] == []
        # The first goes on, and every reply goes out once.
        fake.user_message(USER, "/start")
        await first.expect(sent_to(USER, button="Start a dispute"), what="the /start welcome")
        await asyncio.sleep(1.5)
        assert len([m for m in fake.sent_messages(USER) if "Start a dispute" in str(m)]) == 1
        assert await first.terminate() == 0, first.describe()
    finally:
        await first.kill()
    # Released with the process: a restart (even after SIGKILL) is not refused.
    third = await BotProcess.start(env, fake)
    try:
        await third.expect("getMe", since=fake.mark(), what="the restarted bot")
        third.proc.kill()
    finally:
        await third.kill()
    restarted = await BotProcess.start(env, fake)
    try:
        await restarted.expect(lambda r: r.method == "getUpdates", since=fake.mark(),
                               what="a restart after SIGKILL polling")
        assert await restarted.terminate() == 0, restarted.describe()
    finally:
        await restarted.kill()


async def test_second_instance_elsewhere_stops_on_409(fake: FakeBotAPI, env, tmp_path):
    other_env = dict(env, DATABASE_URL=f"sqlite:///{tmp_path / 'elsewhere.db'}")
    first = await BotProcess.start(env, fake)
    second = None
    try:
        await first.expect("getUpdates", since=0, what="the first instance polling")
        second = await BotProcess.start(other_env, fake)
        done, _ = await asyncio.wait([asyncio.ensure_future(first.proc.wait()),
                                      asyncio.ensure_future(second.proc.wait())], timeout=TIMEOUT,
                                     return_when=asyncio.FIRST_COMPLETED)
        assert done, f"neither instance stopped\n{first.describe()}\n{second.describe()}"
        stopped, survivor = (first, second) if first.proc.returncode is not None else (second, first)
        await stopped.finish()
        assert stopped.proc.returncode == 1, stopped.describe()
        last = stopped.stderr.splitlines()[-1]
        assert last.startswith("error: another instance of the bot is polling with this token "
                               "(Telegram answered 409 Conflict)"), stopped.describe()
        assert "Traceback" not in stopped.stderr and leaks(stopped, fake.token) == []
        conflicts = len([r for r in fake.calls("getUpdates") if r.status == 409])
        # The survivor goes on alone: no more conflicts, each reply once.
        fake.user_message(USER, "/start")
        await survivor.expect(sent_to(USER, button="Start a dispute"), what="the survivor's welcome")
        await asyncio.sleep(2.5)
        assert len([r for r in fake.calls("getUpdates") if r.status == 409]) == conflicts
        assert len([m for m in fake.sent_messages(USER) if "Start a dispute" in str(m)]) == 1
        assert survivor.proc.returncode is None
        assert await survivor.terminate() == 0, survivor.describe()
    finally:
        await first.kill()
        if second is not None:
            await second.kill()


# ------------------------------------------------------------------ 6. a write lock at run time
async def test_locked_database_at_run_time_through_the_process(fake: FakeBotAPI, env, db_path):
    bot = await BotProcess.start(env, fake)
    other = None
    try:
        await bot.expect("getUpdates", since=0, what="polling")
        fake.user_message(USER, "/start")
        welcome = await bot.expect(sent_to(USER, button="Start a dispute"), what="the /start welcome")
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock (busy timeout: 1 s)

        fake.user_callback(USER, button_data(welcome.params, "Start a dispute"), message_id_of(fake, welcome.params))
        alert = await bot.expect(lambda r: r.method == "answerCallbackQuery" and NOT_SAVED in r.params.get("text", ""),
                                 what="the not-saved alert")
        told = await bot.expect(sent_to(USER, text=NOT_SAVED), what="the not-saved message")
        assert alert.params.get("show_alert") is True and told.status == 200

        start = time.monotonic()
        fake.user_message(USER, "/help")
        await bot.expect(sent_to(USER, text="How it works"), what="/help while locked", timeout=3)
        assert time.monotonic() - start < 1.5
        fake.mark()
        fake.user_message(USER, "/disputes")
        await bot.expect(sent_to(USER, text="no disputes yet"), what="/disputes while locked", timeout=3)
        assert time.monotonic() - start < 3

        other.execute("ROLLBACK")
        await asyncio.sleep(1.2)
        fake.user_message(USER, "/new")
        await bot.expect(sent_to(USER, text="What went wrong with your order?"), what="the question after recovery")
        assert not [p for p in fake.sent_messages(USER)[0:] if "saved" in p.get("text", "").lower()
                    and NOT_SAVED not in p.get("text", "")]
        assert await bot.terminate() == 0, bot.describe()
    finally:
        if other is not None:
            other.close()
        await bot.kill()
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT state FROM disputes WHERE user_id = ?", (USER,)).fetchall() == [("reason",)]


# ------------------------------------------------------------------ 6. a full disk at run time
def can_mount_tmpfs() -> bool:
    try:
        return subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


async def test_full_disk_at_run_time_through_the_process(fake: FakeBotAPI, env, tmp_path):
    """The database on its own 2 MB file system (a tmpfs in a private mount namespace), filled up
    while the bot runs, then freed again."""
    if not can_mount_tmpfs():
        pytest.skip("no unprivileged mount namespaces here: can't give the bot a small disk")
    import sys
    from testkit.processes import REPO
    data = tmp_path / "small-disk"
    data.mkdir()
    env["DATABASE_URL"] = f"sqlite:///{data}/bot.db"
    proc = await asyncio.create_subprocess_exec(
        "unshare", "-Urm", "sh", "-c", f'mount -t tmpfs -o size=2m tmpfs "{data}" && exec "{sys.executable}" -m bot',
        cwd=REPO, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    bot = BotProcess(proc, fake)
    disk = Path(f"/proc/{proc.pid}/root{data}")  # the bot's view of its small disk
    try:
        await bot.expect("getUpdates", since=0, what="polling")
        fake.user_message(USER, "/start")
        welcome = await bot.expect(sent_to(USER, button="Start a dispute"), what="the welcome")
        fake.user_callback(USER, button_data(welcome.params, "Start a dispute"), message_id_of(fake, welcome.params))
        await bot.expect(sent_to(USER, text="What went wrong"), what="the reason question")

        with open(disk / "filler", "wb", buffering=0) as f:  # the disk fills up
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * 4096)
        note = "Seller: no refund, ever. " + "z" * 3000
        fake.user_message(USER, note, forward_origin={"type": "hidden_user", "sender_user_name": "Best Store",
                                                      "date": int(time.time())})
        told = await bot.expect(sent_to(USER, text=NOT_SAVED), what="the not-saved message")
        assert told.status == 200
        assert "database or disk is full" in bot.stderr, bot.describe()  # SQLite's own SQLITE_FULL
        start = time.monotonic()
        fake.user_message(USER, "/help")
        await bot.expect(sent_to(USER, text="How it works"), what="/help on a full disk", timeout=3)
        assert time.monotonic() - start < 1.5

        (disk / "filler").unlink()  # space freed
        await asyncio.sleep(1.2)
        fake.user_message(USER, note, forward_origin={"type": "hidden_user", "sender_user_name": "Best Store",
                                                      "date": int(time.time())})
        await bot.expect(sent_to(USER, text="Message from Best Store"), what="the note saved after recovery")
        copy = tmp_path / "copy.db"  # what is on the small disk now (the files, read from outside)
        copy.write_bytes((disk / "bot.db").read_bytes())
        copy.with_name("copy.db-wal").write_bytes((disk / "bot.db-wal").read_bytes())
        with contextlib.closing(sqlite3.connect(copy)) as conn:
            assert conn.execute("SELECT text FROM evidence").fetchall() == [(note,)]
        assert not [p for p in fake.sent_messages(USER) if "Message from" in p.get("text", "")][:-1]
        assert await bot.terminate() == 0, bot.describe()
    finally:
        await bot.kill()


@pytest.mark.parametrize("method, status", [("setMyCommands", 400), ("setMyDescription", 502)])
async def test_a_profile_that_fails_is_logged_the_bot_serves_and_the_next_start_tries_again(
        fake: FakeBotAPI, env, method, status):
    """The profile is published in the background after polling starts: its failure is one
    warning (no token), buyers are served, and the next start publishes it again."""
    fake.fail_next(method, status=status, description=f"Bad thing near /bot{fake.token}/{method}")
    bot = await BotProcess.start(env, fake)
    try:
        await bot.expect(lambda r: r.method == method and r.status == status, since=0, what="the failing call")
        fake.user_message(7001, "/start")
        await bot.expect(sent_to(7001, button="Start a dispute"), what="the /start welcome")
        assert await bot.terminate() == 0, bot.describe()
    finally:
        await bot.kill()
    assert leaks(bot, fake.token) == [], bot.describe()
    assert "could not publish the bot's profile" in bot.stderr and "<token>" in bot.stderr, bot.describe()
    since = fake.mark()
    again = await BotProcess.start(env, fake)
    try:
        await again.expect(lambda r: r.method == "setMyShortDescription"
                           and len([c for c in fake.requests[since:] if c.method == r.method]) == 4,
                           since=since, what="the profile, published again")
        assert await again.terminate() == 0, again.describe()
    finally:
        await again.kill()
    # Published once: a third start sets nothing.
    assert not [r.method for r in await quiet_restart(env, fake) if r.method.startswith("setMy")]
