"""Cosmetic Bot API calls run beside the reply, not before it.

Once a buyer's answer is committed, the next question is what they wait for. The
callback answer (the button's spinner) and the edit that marks the old question
answered change nothing stored: ``cosmetic(coro)`` starts them as tasks, so the next
question's send does not wait one round trip for each. A failure is logged, never
raised (the answer is already committed: nothing can be lost).

``Cosmetics`` (an update middleware) collects the tasks an update started and waits
for them before the update counts as handled, so shutdown (``InFlight``), the
per-user lock and tests that feed an update see them finished. The buyer's next
update waits for nothing: the calls started a round trip before the question it
answers arrived.

An edit counts against its chat's flood limit like a message (bot.budget): when the chat has
no token to spare beside the next question, the edit is made later, once there is one, in a task
of its own (``later``) that no update waits for; stopping cancels those (nothing stored hangs on
them).

``CONCURRENT = False`` awaits each call in place, as before (the benchmarks' "before").
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware

from bot.budget import NoSpareSlot, cosmetic_call

log = logging.getLogger(__name__)
CONCURRENT = True
_started: ContextVar[list[asyncio.Task] | None] = ContextVar("cosmetic_tasks", default=None)
later: set[asyncio.Task] = set()  # edits put off until their chat has a token to spare


async def cosmetic(call: Coroutine[Any, Any, Any], what: str = "cosmetic call") -> None:
    """Runs ``call`` beside what follows (awaited in place when CONCURRENT is off or no update tracks it)."""
    tasks = _started.get()
    if not CONCURRENT or tasks is None:
        await _logged(call, what)
        return
    tasks.append(asyncio.create_task(_logged(call, what), name=what))
    # One turn of the loop: the call starts (its request goes out) before what follows,
    # so the calls keep their order (the spinner, the edit, then the next question).
    await asyncio.sleep(0)


async def _logged(call: Coroutine[Any, Any, Any], what: str) -> None:
    token = cosmetic_call.set(True)
    try:
        await call
    except NoSpareSlot as e:
        task = asyncio.create_task(_again(e, what), name=f"{what} (later)")
        later.add(task)
        task.add_done_callback(later.discard)
    except asyncio.CancelledError:
        raise
    except Exception as e:  # noqa: BLE001 - cosmetic: the answer is committed already
        log.warning("%s failed: %s", what, type(e).__name__)
    finally:
        cosmetic_call.reset(token)


async def _again(put_off: NoSpareSlot, what: str) -> None:
    cosmetic_call.set(True)  # this task's own context
    while True:
        await asyncio.sleep(put_off.wait)
        try:
            await put_off.bot(put_off.method)
            return
        except NoSpareSlot as e:
            put_off = e
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - cosmetic, as above
            log.warning("%s failed: %s", what, type(e).__name__)
            return


def cancel_later() -> None:
    """At shutdown: the edits still put off are dropped (cosmetic)."""
    for task in list(later):
        task.cancel()


class Cosmetics(BaseMiddleware):
    """Waits for the update's cosmetic calls once its handler is done."""

    async def __call__(self, handler, event, data):
        tasks: list[asyncio.Task] = []
        token = _started.set(tasks)
        try:
            return await handler(event, data)
        finally:
            _started.reset(token)
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
