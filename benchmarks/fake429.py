"""testkit/fake_bot_api.FakeBotAPI with Telegram's global flood limit: a sendMessage beyond
``limit`` accepted messages in the trailing ``window`` seconds is answered 429."""
from __future__ import annotations

import time
from collections import deque
from typing import Any

from testkit.fake_bot_api import APIError, FakeBotAPI


class RateLimitedFakeBotAPI(FakeBotAPI):
    def __init__(self, *args: Any, limit: int = 30, window: float = 1.0, retry_after: int = 1,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit, self.window, self.retry_after = limit, window, retry_after
        self._accepted: deque[float] = deque()
        self.too_many = 0

    def _dispatch(self, method: str, p: dict) -> Any:
        if method == "sendMessage":
            now = time.monotonic()
            while self._accepted and self._accepted[0] <= now - self.window:
                self._accepted.popleft()
            if len(self._accepted) >= self.limit:
                self.too_many += 1
                raise APIError(429, f"Too Many Requests: retry after {self.retry_after}",
                               retry_after=self.retry_after)
            self._accepted.append(now)
        return super()._dispatch(method, p)
