"""Acknowledges an album (media group) once, after its last part arrived.

Telegram delivers each photo of an album as its own update. Every part is
stored at once (nothing waits in memory); only the "saved" line waits until no
part came for a moment, so the buyer sees one line for ten photos, not ten.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class AlbumAcks:
    """Also used for a burst of single items (a batch of forwarded messages), keyed by chat."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task] = {}
        self._last_part: dict[str, float] = {}
        self._parts: dict[str, list[Any]] = {}

    def part_arrived(self, media_group_id: str, quiet: float, ack: Callable[[], Awaitable[None]],
                     part: Any = None) -> None:
        """Runs ``ack`` once, after ``quiet`` seconds without a new part of this album.

        ``part``, if given, is remembered until then: ``ack`` reads them with ``parts()``."""
        loop = asyncio.get_running_loop()
        self._last_part[media_group_id] = loop.time()
        if part is not None:
            self._parts.setdefault(media_group_id, []).append(part)
        if media_group_id in self._tasks:
            return

        async def when_quiet() -> None:
            try:
                while (wait := self._last_part[media_group_id] + quiet - loop.time()) > 0:
                    await asyncio.sleep(wait)
                try:
                    await ack()
                except Exception as e:  # noqa: BLE001 - e.g. a 5xx: the parts are stored, try the line once more
                    log.warning("album acknowledgement failed (%s): trying again in 1 s", type(e).__name__)
                    await asyncio.sleep(1)
                    try:
                        await ack()
                    except Exception as e:  # noqa: BLE001
                        log.warning("album acknowledgement not sent: %s", type(e).__name__)
            finally:
                self._tasks.pop(media_group_id, None)
                self._last_part.pop(media_group_id, None)
                self._parts.pop(media_group_id, None)

        self._tasks[media_group_id] = asyncio.create_task(when_quiet())

    def pending(self, key: str) -> bool:
        """Whether an acknowledgement for ``key`` is still waiting for its quiet moment."""
        return key in self._tasks

    def parts(self, key: str) -> list[Any]:
        return list(self._parts.get(key, ()))

    async def drain(self) -> None:
        """Waits for every pending acknowledgement (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
