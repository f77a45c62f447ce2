"""Magic filters evaluated on the event loop.

aiogram calls a plain ``F`` expression through ``asyncio.to_thread`` (it can't know
the callable is cheap): a thread-pool round trip per check, several per update,
each far dearer than the attribute lookup it runs. ``Inline(F.…)`` is the same
filter as an async ``Filter``, which aiogram awaits in place; its result means what
the ``F`` expression's would (falsy: no match; a dict from ``.as_()``: handler kwargs).
"""
from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.filters import Filter
from magic_filter import MagicFilter


class Inline(Filter):
    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: Any) -> Any:
        return self.magic.resolve(event)

    def __str__(self) -> str:
        return f"Inline({self.magic!r})"


PRIVATE = Inline(F.chat.type == "private")
