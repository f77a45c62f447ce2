"""Logging that never shows the bot token (it sits in every Bot API URL)."""
from __future__ import annotations

import logging


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


def setup_logging(token: str, level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactToken(token))
