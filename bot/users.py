"""The sender's user row, read once per update.

``UserRow`` (an update middleware) reads it before the handlers run and passes it
on as the ``user`` kwarg (a ``UserRecord``, or None for someone the bot has never
stored), the way aiogram's templates inject ``user``. Code deeper down that needs
it without the kwarg (the language middleware, ``planning.user_zone`` inside
``conversation.advance``) asks ``user_record``, which answers from the same read.

A write to the row during the update (``Storage.set_locale``, ``set_timezone``,
``focus``, ``create_dispute``, ``forget_user``) marks the snapshot stale, so a later
``user_record`` reads the row again: what it answers is what the database holds,
as before the snapshot existed.
"""
from __future__ import annotations

from contextvars import ContextVar
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware

if TYPE_CHECKING:
    from bot.storage import Storage, UserRecord


class _Snapshot:
    __slots__ = ("user_id", "record", "fresh")

    def __init__(self, user_id: int, record: "UserRecord | None") -> None:
        self.user_id, self.record, self.fresh = user_id, record, True


_snapshot: ContextVar[_Snapshot | None] = ContextVar("user_row", default=None)


class UserRow(BaseMiddleware):
    """One ``get_user`` per update with a sender; the row as ``data["user"]``."""

    def __init__(self, store: "Storage") -> None:
        self.store = store

    async def __call__(self, handler, event, data: dict[str, Any]):
        sender = data.get("event_from_user")
        if sender is None:
            return await handler(event, data)
        record = await self.store.get_user(sender.id)
        data["user"] = record
        token = _snapshot.set(_Snapshot(sender.id, record))
        try:
            return await handler(event, data)
        finally:
            _snapshot.reset(token)


async def user_record(store: "Storage", user_id: int) -> "UserRecord | None":
    """The user's row: this update's read when it is the sender's and still current, else a read."""
    snap = _snapshot.get()
    if snap is not None and snap.fresh and snap.user_id == user_id:
        return snap.record
    record = await store.get_user(user_id)
    if snap is not None and snap.user_id == user_id:
        snap.record, snap.fresh = record, True
    return record


def user_changed(user_id: int, **fields: Any) -> None:
    """Called by Storage after writing a user's row. ``fields``: the columns written, when
    that is all that changed (an UPDATE of an existing row): the snapshot takes them.
    Without them (a row created or deleted) the snapshot is stale and is read again."""
    snap = _snapshot.get()
    if snap is None or snap.user_id != user_id:
        return
    if fields and snap.fresh and snap.record is not None:
        snap.record = replace(snap.record, **fields)
    else:
        snap.fresh = False
