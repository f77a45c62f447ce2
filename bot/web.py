"""The HTTP side (aiohttp): Telegram's webhook, ``/healthz`` and ``/metrics``.

Webhook mode (``BOT_WEBHOOK_URL`` set): one server on ``PORT`` takes Telegram's posts at the
URL's path (aiogram's ``SimpleRequestHandler``; a post without the right
``X-Telegram-Bot-Api-Secret-Token`` gets 401), answers ``/healthz`` and ``/metrics``, and
runs the dispatcher's startup and shutdown (the reminder engine, finishing the updates in
flight) with the server's (``setup_application``). Polling mode serves only ``/healthz``
and ``/metrics``, on ``METRICS_PORT`` when it is set.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from contextlib import suppress

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot import metrics
from bot.config import Config, FatalError
from bot.services import Services

log = logging.getLogger(__name__)
HEALTH_TIMEOUT = 3.0


def web_app(svc: Services, *, dp: Dispatcher | None = None, bot: Bot | None = None, secret: str | None = None,
            path: str = "/") -> web.Application:
    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        try:
            await asyncio.wait_for(svc.store.ping(), HEALTH_TIMEOUT)
        except Exception as e:  # noqa: BLE001 - any failure to read is "unhealthy"
            log.warning("health check: the database can't be read: %s", type(e).__name__)
            return web.Response(status=503, text="database unreachable\n")
        return web.Response(text="ok\n")

    async def scrape(request: web.Request) -> web.Response:
        body, content_type = await metrics.render(svc.store.disputes_by_state)
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", scrape)
    if dp is not None:
        assert bot is not None and secret
        # Startup/shutdown first: on shutdown the dispatcher finishes the updates in flight
        # before the request handler's own hook closes the bot's session.
        setup_application(app, dp, bot=bot)
        # Answered once handled, not on receipt: a worker killed mid-update leaves Telegram (or the
        # load balancer) without an answer, so the update is delivered again, to a live worker.
        SimpleRequestHandler(dp, bot, secret_token=secret, handle_in_background=False).register(app, path=path)
    return app


async def start_site(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()  # runs the app's startup (the dispatcher's, in webhook mode)
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as e:
        await runner.cleanup()
        raise FatalError(f"can't listen on {host}:{port}: {e.strerror or e}") from None
    return runner


def webhook_secret(config: Config) -> str:
    if config.webhook.secret is not None:
        return config.webhook.secret.get_secret_value()
    log.info("BOT_WEBHOOK_SECRET is not set: generated a webhook secret for this run "
             "(set one to keep it across restarts and processes)")
    return secrets.token_urlsafe(32)


async def run_webhook(bot: Bot, dp: Dispatcher, svc: Services, config: Config) -> None:
    """Serves the webhook until SIGTERM/SIGINT, then finishes the updates in flight."""
    w = config.webhook
    secret = webhook_secret(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = await start_site(web_app(svc, dp=dp, bot=bot, secret=secret, path=w.path), w.host, w.port)
    try:
        try:
            await bot.set_webhook(w.url, secret_token=secret, allowed_updates=dp.resolve_used_update_types(),
                                  drop_pending_updates=False)
        except TelegramNetworkError as e:
            raise FatalError(f"can't reach the Bot API to set the webhook: {e.message}") from None
        except TelegramAPIError as e:
            raise FatalError(f"the Bot API refused the webhook {w.url}: {e.message}") from None
        log.info("webhook set, listening on %s:%d%s", w.host, w.port, w.path)
        await stop.wait()
        log.info("stopping: finishing the updates in flight")
    finally:
        # Stops listening, then the dispatcher's shutdown (updates in flight, reminders).
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with suppress(Exception):
                loop.remove_signal_handler(sig)
