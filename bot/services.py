"""What every handler needs, passed through the dispatcher as the ``svc`` kwarg."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiogram.utils.i18n import I18n

from bot.albums import AlbumAcks
from bot.config import Config
from bot.storage import Storage
from flows.clock import Clock
from flows.policy import Policy


@dataclass
class Services:
    config: Config
    store: Storage
    clock: Clock
    i18n: I18n
    albums: AlbumAcks = field(default_factory=AlbumAcks)
    # Set when a reminder plan changed: the delivery loop may need to wake earlier.
    reminders_changed: asyncio.Event = field(default_factory=asyncio.Event)
    # Seconds for rate decisions (flood control); tests inject their own.
    monotonic: Callable[[], float] = time.monotonic
    # Groups already told that the bot works in private chats (in memory only).
    groups_told: set[int] = field(default_factory=set)
    # How many more updates of a user are already waiting to be handled (set by the
    # dispatcher's per-user locks): a batch of forwarded evidence gets one acknowledgement.
    backlog: Callable[[int], int] = lambda user_id: 0

    @property
    def policy(self) -> Policy:
        return self.config.policy
