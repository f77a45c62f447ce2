"""What every handler needs, passed through the dispatcher as the ``svc`` kwarg."""
from __future__ import annotations

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

    @property
    def policy(self) -> Policy:
        return self.config.policy
