"""Webhook mode and operator metrics, on the real process (``python -m bot``).

The bot serves Telegram's webhook on 127.0.0.1; the test posts updates to it the way
Telegram would (with and without ``X-Telegram-Bot-Api-Secret-Token``) and watches the
replies reach testkit/fake_bot_api.py. ``/healthz`` and ``/metrics`` are scraped as an
operator's monitoring would.
"""
from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from testkit.fake_bot_api import FakeBotAPI
from testkit.processes import BotProcess, bot_env, free_port
from testkit.seeding import BASE_UID, reminders_sent, seed, wait_until
from tests.test_e2e import sent_to
from tests.test_reminders_e2e import write_config

USER = 6001
SECRET = "webhook-secret_for-tests-0123456789"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "webhook.toml"
    path.write_text("[bot]\npolling_timeout = 1\n\n[webhook]\nhost = \"127.0.0.1\"\n\n"
                    "[metrics]\nhost = \"127.0.0.1\"\n", encoding="utf-8")
    return path


def webhook_env(env: dict[str, str], port: int, secret: str | None = SECRET) -> dict[str, str]:
    env = dict(env, BOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook", PORT=str(port))
    if secret:
        env["BOT_WEBHOOK_SECRET"] = secret
    return env


async def due_reminders(config_file: Path, db_path: Path, chats: int, listener: str) -> None:
    """The reminder engine's config with ``listener`` ("metrics" or "webhook") on 127.0.0.1, and ``chats``
    disputes whose seller-window reminder is due now (the next one pending)."""
    write_config(config_file)
    config_file.write_text(config_file.read_text() + f"\n[{listener}]\nhost = \"127.0.0.1\"\n", encoding="utf-8")
    await seed(db_path, chats, window_started=-timedelta(days=5) + timedelta(hours=2),
               planned_at=-timedelta(days=3), expect_due=1, expect_pending=2)


def update_for(fake: FakeBotAPI, user_id: int, text: str) -> dict:
    """The update Telegram would post (built by the fake, not queued for getUpdates)."""
    fake.user_message(user_id, text)
    return fake.updates.pop()


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if m and m.group(1) == name and ",".join(sorted((m.group(2) or "").split(","))) == want:
            return float(m.group(3))
    return 0.0


async def test_webhook_mode_answers_posts_with_the_secret_and_refuses_others(
        fake: FakeBotAPI, env: dict[str, str]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    bot = await BotProcess.start(webhook_env(env, port), fake, "webhook")
    try:
        hook = await bot.expect("setWebhook", since=0, what="setWebhook")
        assert hook.params["url"] == f"{base}/telegram/hook"
        assert hook.params["secret_token"] == SECRET
        assert "message" in hook.params.get("allowed_updates", []), hook.params
        assert not fake.calls("getUpdates"), "webhook mode must not poll"

        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200, await r.text()

            refused = []
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(f"{base}/telegram/hook", json=update_for(fake, USER, "/start"),
                                     headers=headers) as r:
                    refused.append(r.status)
            assert refused == [401, 401]
            await asyncio.sleep(0.5)
            assert not fake.sent_messages(USER), "a post without the secret was handled"

            async with http.post(f"{base}/telegram/hook", json=update_for(fake, USER, "/start"),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as r:
                assert r.status == 200, await r.text()
            await bot.expect(sent_to(USER, button="Start a dispute"), what="the /start welcome")

            async with http.get(f"{base}/metrics") as r:
                assert r.status == 200
                text = await r.text()
        assert metric(text, "bot_updates_total", type="message") == 1, text
        assert metric(text, "bot_update_seconds_count", type="message") == 1, text
        assert metric(text, "bot_database_up") == 1, text

        assert await bot.terminate() == 0, bot.describe()
        assert "Traceback" not in bot.stderr, bot.describe()
        assert SECRET not in bot.stderr + bot.stdout
        assert fake.token not in bot.stderr + bot.stdout
    finally:
        await bot.kill()


async def test_sigterm_finishes_the_update_in_flight_and_a_missing_secret_is_generated(
        fake: FakeBotAPI, env: dict[str, str]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    bot = await BotProcess.start(webhook_env(env, port, secret=None), fake)  # mode from BOT_WEBHOOK_URL
    try:
        hook = await bot.expect("setWebhook", since=0, what="setWebhook")
        secret = hook.params["secret_token"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{32,256}", secret), secret
        assert "generated a webhook secret" in bot.stderr, bot.describe()

        fake.delay_next("sendMessage", 1.5)  # the reply is on the network when SIGTERM comes
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/telegram/hook", json=update_for(fake, USER, "/start"),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as r:
                assert r.status == 200
        await bot.expect(lambda r: r.method == "sendMessage", since=0, what="the reply being sent")
        assert await bot.terminate() == 0, bot.describe()
        (reply,) = fake.calls("sendMessage")
        assert reply.status == 200, bot.describe()
        assert "Traceback" not in bot.stderr and "still in flight" not in bot.stderr, bot.describe()
        assert secret not in bot.stderr + bot.stdout
    finally:
        await bot.kill()


async def test_healthz_is_503_when_the_database_cannot_be_read(tmp_path: Path) -> None:
    from bot.web import web_app
    from aiohttp import web

    class Broken:
        async def ping(self) -> None:
            raise OSError("disk gone")

        async def disputes_by_state(self) -> dict[str, int]:
            raise OSError("disk gone")

    class Svc:
        store = Broken()

    runner = web.AppRunner(web_app(Svc()))  # type: ignore[arg-type]
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 503
            async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                assert r.status == 200
                assert metric(await r.text(), "bot_database_up") == 0
    finally:
        await runner.cleanup()


async def test_bad_webhook_config_is_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    cases = [({"BOT_WEBHOOK_SECRET": "has spaces!"}, "webhook.secret"),
             ({"PORT": "99999"}, "PORT"),
             ({"BOT_WEBHOOK_URL": "ftp://x"}, "webhook.url")]
    for extra, expected in cases:
        env = bot_env(**{"CONFIG_FILE": str(empty), "BOT_TOKEN": "123456:TEST-token-for-tests-only",
                         "BOT_WEBHOOK_URL": "https://bot.example.com/hook", **extra})
        bot = await BotProcess.start(env)
        try:
            assert await bot.finish() == 2, bot.describe()
        finally:
            await bot.kill()
        lines = bot.stderr.splitlines()
        assert len(lines) == 1 and expected in lines[0], (extra, bot.describe())
        assert "has spaces" not in lines[0]
    bot = await BotProcess.start(bot_env(CONFIG_FILE=str(empty), BOT_TOKEN="123456:TEST-token-for-tests-only"),
                                 None, "webhook")
    try:
        assert await bot.finish() == 2, bot.describe()
    finally:
        await bot.kill()
    assert bot.stderr.strip().splitlines() == [
        "error: webhook mode needs BOT_WEBHOOK_URL (the https URL Telegram posts updates to)"], bot.describe()


async def test_metrics_in_polling_mode_move_with_traffic_and_reminders(
        fake: FakeBotAPI, env: dict[str, str], db_path: Path, config_file: Path) -> None:
    await due_reminders(config_file, db_path, 3, "metrics")
    fake.block_user(BASE_UID + 1)
    fake.fail_next("sendMessage", status=429, retry_after=1)
    port = free_port()
    bot = await BotProcess.start(dict(env, METRICS_PORT=str(port)), fake, "polling")
    try:
        await bot.expect("getUpdates", since=0, what="the first getUpdates")
        await wait_until(bot, lambda: reminders_sent(fake, BASE_UID) and reminders_sent(fake, BASE_UID + 2),
                         timeout=20, what="reminders to chats 10000 and 10002")
        fake.user_message(USER, "/start")
        await bot.expect(sent_to(USER, button="Start a dispute"), what="the /start welcome")
        await asyncio.sleep(0.3)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200
            async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
                text = await r.text()
        assert metric(text, "bot_updates_total", type="message") == 1, text
        assert metric(text, "bot_reminders_total", outcome="due") == 3, text
        assert metric(text, "bot_reminders_total", outcome="sent") == 2, text
        assert metric(text, "bot_reminders_total", outcome="failed") == 1, text
        assert metric(text, "bot_telegram_429_total", method="SendMessage") == 1, text
        assert metric(text, "bot_disputes", state="negotiating") == 3, text
        assert metric(text, "bot_disputes", state="reason") == 0, text  # /start alone opens no dispute
        assert await bot.terminate() == 0, bot.describe()
    finally:
        await bot.kill()


async def test_reminders_go_out_in_webhook_mode(
        fake: FakeBotAPI, env: dict[str, str], db_path: Path, config_file: Path) -> None:
    await due_reminders(config_file, db_path, 2, "webhook")
    port = free_port()
    bot = await BotProcess.start(webhook_env(env, port), fake, "webhook")
    try:
        await bot.expect("setWebhook", since=0, what="setWebhook")
        await wait_until(bot, lambda: reminders_sent(fake, BASE_UID) and reminders_sent(fake, BASE_UID + 1),
                         timeout=20, what="reminders to chats 10000 and 10001")
        assert await bot.terminate() == 0, bot.describe()
    finally:
        await bot.kill()
