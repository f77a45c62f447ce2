"""Acknowledges an album (media group) once, after its last part arrived.

Telegram delivers each photo of an album as its own update. Every part is
stored at once (nothing waits in memory); only the "saved" line waits until no
part came for a moment, so the buyer sees one line for ten photos, not ten.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class AlbumAcks:
    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task] = {}
        self._last_part: dict[str, float] = {}

    def part_arrived(self, media_group_id: str, quiet: float, ack: Callable[[], Awaitable[None]]) -> None:
        """Runs ``ack`` once, after ``quiet`` seconds without a new part of this album."""
        loop = asyncio.get_running_loop()
        self._last_part[media_group_id] = loop.time()
        if media_group_id in self._tasks:
            return

        async def when_quiet() -> None:
            try:
                while (wait := self._last_part[media_group_id] + quiet - loop.time()) > 0:
                    await asyncio.sleep(wait)
                await ack()
            finally:
                self._tasks.pop(media_group_id, None)
                self._last_part.pop(media_group_id, None)

        self._tasks[media_group_id] = asyncio.create_task(when_quiet())

    async def drain(self) -> None:
        """Waits for every pending acknowledgement (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
