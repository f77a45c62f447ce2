"""``python -m bot``: loads the configuration and runs the bot until SIGTERM."""
from __future__ import annotations

import asyncio
import sys

from bot.config import ConfigError, load_config
from bot.logs import setup_logging


def main() -> int:
    try:
        config = load_config()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    setup_logging(config.bot.token)
    from bot.app import run  # after the config check: a bad token fails fast and quietly

    try:
        asyncio.run(run(config))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
