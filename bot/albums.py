"""Acknowledges an album (media group) once, after its last part arrived.

Telegram delivers each photo of an album as its own update. Every part is
stored at once (nothing waits in memory); only the "saved" line waits a moment
so the buyer sees one line for ten photos instead of ten.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class AlbumAcks:
    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Task] = {}

    def seen(self, media_group_id: str) -> bool:
        return media_group_id in self._pending

    def schedule(self, media_group_id: str, delay: float, ack: Callable[[], Awaitable[None]]) -> None:
        """Runs ``ack`` once, ``delay`` seconds after the album's first part."""
        if media_group_id in self._pending:
            return

        async def later() -> None:
            try:
                await asyncio.sleep(delay)
                await ack()
            finally:
                self._pending.pop(media_group_id, None)

        self._pending[media_group_id] = asyncio.create_task(later())

    async def drain(self) -> None:
        """Waits for every scheduled acknowledgement (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending.values()), return_exceptions=True)
