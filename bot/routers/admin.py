"""Operator commands, for ``admin_ids`` only, in private chat."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.filters import PRIVATE, Inline
from bot.services import Services


async def on_stats(message: Message, svc: Services) -> None:
    stats = await svc.store.stats()
    lines = [_("<b>Disputes by stage</b>")]
    lines += [f"• {state}: {n}" for state, n in sorted(stats["disputes"].items())] or ["• 0"]
    lines += ["", _("<b>Reminders by status</b>")]
    lines += [f"• {status}: {n}" for status, n in sorted(stats["reminders"].items())] or ["• 0"]
    await message.answer("\n".join(lines))


def create_router(admin_ids: list[int]) -> Router:
    router = Router(name="admin")
    # Anyone else gets the ordinary "unknown command" from the fallback router.
    router.message.filter(PRIVATE, Inline(F.from_user.id.in_(set(admin_ids))))
    router.message.register(on_stats, Command("stats"))
    return router
