"""Logging that never shows the bot token (it sits in every Bot API URL)."""
from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable


class RedactToken(logging.Filter):
    def __init__(self, token: str) -> None:
        super().__init__()
        # The whole token and its secret half: some errors quote only the URL's tail.
        self.secrets = [s for s in {token, token.partition(":")[2]} if len(s) >= 8]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            record.msg, record.args = self._clean(message), ()
        if record.exc_info:
            # Render the traceback now, redacted, so no handler formats the raw one.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, self._clean(text)
        return True


def redactor(token: str) -> Callable[[str], str]:
    """``text`` with the token (and its secret half) replaced by ``<token>``."""
    return RedactToken(token)._clean


def setup_logging(token: str, level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactToken(token))
    # Everything else that could reach stderr goes through the filtered handlers too:
    # warnings (ResourceWarning quotes objects), uncaught exceptions in any thread.
    logging.captureWarnings(True)
    crash = logging.getLogger("bot.crash")
    sys.excepthook = lambda kind, value, tb: crash.critical("uncaught exception", exc_info=(kind, value, tb))
    threading.excepthook = lambda a: crash.critical("uncaught exception in thread %s", a.thread and a.thread.name,
                                                    exc_info=(a.exc_type, a.exc_value, a.exc_traceback))
    sys.unraisablehook = lambda u: crash.error("unraisable exception: %s", u.err_msg or "",
                                               exc_info=(u.exc_type, u.exc_value, u.exc_traceback))
