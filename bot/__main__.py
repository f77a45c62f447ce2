"""``python -m bot``: loads the configuration and runs the bot until SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import sys

from bot.config import ConfigError, load_config


def main() -> int:
    try:
        config = load_config()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bot.app import run  # after the config check: a bad token fails fast and quietly

    try:
        asyncio.run(run(config))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
