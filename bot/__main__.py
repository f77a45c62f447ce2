"""``python -m bot [webhook|polling]``: loads the configuration and runs the bot until SIGTERM.

With no argument the mode follows the configuration: webhook when ``BOT_WEBHOOK_URL``
(``[webhook] url``) is set, else long polling. ``webhook`` insists on a URL; ``polling``
polls even when one is set (the Procfile's ``web:`` and ``worker:`` lines)."""
from __future__ import annotations

import asyncio
import gc
import sys

from bot.config import ConfigError, FatalError, load_config
from bot.logs import redactor, setup_logging


MODES = ("webhook", "polling")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0] not in MODES):
        print("usage: python -m bot [webhook|polling]", file=sys.stderr)
        return 2
    try:
        config = load_config()
        if args == ["webhook"] and not config.webhook.url:
            raise ConfigError("webhook mode needs BOT_WEBHOOK_URL (the https URL Telegram posts updates to)")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args == ["polling"]:
        config.webhook.url = None
    setup_logging(config.bot.token)
    # After the config check: a bad token fails fast and quietly. Importing aiogram
    # builds ~400 pydantic models (~200,000 objects that live as long as the process):
    # collecting while they are made is wasted work, and every later full collection
    # would scan them all again (a ~0.3 s pause): freeze them.
    gc.disable()
    try:
        from bot.app import run
    finally:
        gc.enable()
    gc.freeze()

    clean = redactor(config.bot.token)
    try:
        asyncio.run(run(config))
    except KeyboardInterrupt:
        pass
    except FatalError as e:
        print(f"error: {clean(str(e))}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - one line, never a traceback quoting the token
        print(f"error: {type(e).__name__}: {clean(str(e))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
