"""End-to-end: the real bot (``python -m bot``) as a subprocess against testkit/fake_bot_api.py.

Each test runs the process with its own SQLite file and a config that makes
long polling short (``polling_timeout = 1``), so SIGTERM ends it in about a second.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

import pytest

from testkit.fake_bot_api import FakeBotAPI, Request
from testkit.processes import BotProcess, bot_env

USER = 5001


# ------------------------------------------------------------------ helpers
def buttons(params: dict) -> list[dict]:
    markup = params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def sent_to(chat_id: int, *, text: str | None = None, button: str | None = None) -> Callable[[Request], bool]:
    def match(r: Request) -> bool:
        if r.method != "sendMessage" or r.status != 200 or r.params.get("chat_id") != chat_id:
            return False
        if text is not None and text not in r.params.get("text", ""):
            return False
        return button is None or any(button in b.get("text", "") for b in buttons(r.params))
    return match


def message_id_of(fake: FakeBotAPI, params: dict) -> int:
    """The message_id the fake gave to the message sent with ``params`` (latest one)."""
    ids = [mid for (chat, mid), msg in fake.messages.items()
           if chat == params["chat_id"] and msg.get("text") == params.get("text")
           and msg.get("from", {}).get("is_bot")]
    assert ids, f"fake has no stored message for {params}"
    return max(ids)


def button_data(params: dict, label: str) -> str:
    found = [b["callback_data"] for b in buttons(params) if label in b.get("text", "")]
    assert found, f"no button with {label!r} in {buttons(params)}"
    return found[0]


async def press(bot: BotProcess, fake: FakeBotAPI, msg: Request, label: str, then: Callable[[Request], bool],
                what: str) -> Request:
    fake.user_callback(USER, button_data(msg.params, label), message_id_of(fake, msg.params))
    return await bot.expect(then, what=what)


async def wait_confirmed(bot: BotProcess, update_id: int) -> None:
    """Waits for the getUpdates that confirms ``update_id`` (offset past it)."""
    await bot.expect(lambda r: r.method == "getUpdates" and (r.params.get("offset") or 0) > update_id,
                     since=0, what=f"getUpdates confirming update {update_id}")


# ------------------------------------------------------------------ fixtures
@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "e2e.toml"
    path.write_text("[bot]\npolling_timeout = 1\n", encoding="utf-8")
    return path


async def run_to_exit(env: dict[str, str]) -> BotProcess:
    bot = await BotProcess.start(env)
    try:
        await bot.finish()
        return bot
    finally:
        await bot.kill()


# ------------------------------------------------------------------ tests
async def test_start_to_first_question(fake: FakeBotAPI, env: dict[str, str], db_path: Path) -> None:
    bot = await BotProcess.start(env, fake)
    try:
        await bot.expect("getMe", since=0)
        await bot.expect("getUpdates", since=0, what="the first getUpdates")
        # Polling starts first: before it, only getMe.
        first_poll = next(i for i, r in enumerate(fake.requests) if r.method == "getUpdates")
        # getMe, and deleteWebhook: a webhook left by a `web:` deploy would make Telegram refuse getUpdates.
        assert [r.method for r in fake.requests[:first_poll]] == ["getMe", "deleteWebhook"], [
            r.method for r in fake.requests]
        # The profile follows in the background, every language.
        for _ in range(4):
            await bot.expect(lambda r: r.method == "setMyShortDescription"
                             and len(fake.calls("setMyShortDescription")) == 4, what="the profile", since=0)

        commands = fake.calls("setMyCommands")
        by_language = sorted(str(c.params.get("language_code")) for c in commands)
        assert by_language == sorted(["None", "ru", "es", "de"]), [c.params for c in commands]
        for c in commands:
            assert any(cmd["command"] == "new" for cmd in c.params["commands"]), c.params
        default = next(c for c in commands if "language_code" not in c.params)
        assert default.params.get("scope", {"type": "default"}) == {"type": "default"}, default.params

        started = [line for line in bot.stderr.splitlines() if "started as @" + fake.bot_user["username"] in line]
        assert len(started) == 1, bot.describe()

        fake.user_message(USER, "/start", language_code="en")
        welcome = await bot.expect(sent_to(USER, button="Start a dispute"), what="the /start welcome")
        question = await press(bot, fake, welcome, "Start a dispute",
                               sent_to(USER, text="What went wrong with your order?"), "the reason question")
        reasons = [b for b in buttons(question.params) if ":reason:" in b.get("callback_data", "")]
        assert len(reasons) == 3, buttons(question.params)
        assert any("Item not received" in b["text"] for b in reasons), reasons

        assert await bot.terminate() == 0, bot.describe()
        assert "Traceback" not in bot.stderr, bot.describe()
    finally:
        await bot.kill()

    with sqlite3.connect(db_path) as db:
        disputes = db.execute("SELECT state FROM disputes WHERE user_id = ?", (USER,)).fetchall()
        users = db.execute("SELECT id FROM users WHERE id = ?", (USER,)).fetchall()
    db.close()
    assert disputes == [("reason",)]
    assert users == [(USER,)]


async def test_missing_token_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    bot = await run_to_exit(bot_env(CONFIG_FILE=str(empty)))
    assert bot.proc.returncode == 2, bot.describe()
    lines = bot.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), bot.describe()
    assert "BOT_TOKEN" in lines[0] and "Traceback" not in bot.stderr


async def test_malformed_token_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    bot = await run_to_exit(bot_env(CONFIG_FILE=str(empty), BOT_TOKEN="not-a-token"))
    assert bot.proc.returncode == 2, bot.describe()
    lines = bot.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), bot.describe()
    assert "BOT_TOKEN" in lines[0] and "Traceback" not in bot.stderr


async def test_restart_continues_where_the_user_was(fake: FakeBotAPI, env: dict[str, str]) -> None:
    first = await BotProcess.start(env, fake)
    try:
        await first.expect("getUpdates", since=0, what="the first getUpdates")
        fake.user_message(USER, "/start")
        welcome = await first.expect(sent_to(USER, button="Start a dispute"), what="the /start welcome")
        reason = await press(first, fake, welcome, "Start a dispute",
                             sent_to(USER, text="What went wrong with your order?"), "the reason question")
        tracking = await press(first, fake, reason, "Item not received", sent_to(USER, text="What does the tracking"),
                               "the tracking question")
        await press(first, fake, tracking, "Held at customs", sent_to(USER, text="order number"),
                    "the order number question")
        # The last update is confirmed before we stop: the second process must
        # continue from the database, not from a replayed tap.
        await wait_confirmed(first, fake._last_update_id)
        assert await first.terminate() == 0, first.describe()
        assert "Traceback" not in first.stderr, first.describe()
    finally:
        await first.kill()

    assert not fake.updates, list(fake.updates)
    since = fake.mark()
    second = await BotProcess.start(env, fake)
    try:
        await second.expect("getMe", since=since, what="the second process's getMe")
        await second.expect("getUpdates", since=since, what="the second process's first getUpdates")
        fake.user_message(USER, "8123456789012345")
        await second.expect(sent_to(USER, text="How much did you pay"), what="the order total question")
        assert await second.terminate() == 0, second.describe()
        assert "Traceback" not in second.stderr, second.describe()
    finally:
        await second.kill()
