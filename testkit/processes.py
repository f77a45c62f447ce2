"""Helpers for running the real bot (``python -m bot``) as a subprocess.

Shared by the end-to-end tests, benchmarks/reminders.py and scripts/chaos.py.
"""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Callable

import pytest

from testkit.fake_bot_api import FakeBotAPI, Request

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 15.0
ENV_KEYS = ("BOT_TOKEN", "BOT_API_URL", "DATABASE_URL", "CONFIG_FILE", "BOT_WEBHOOK_URL", "BOT_WEBHOOK_SECRET",
            "PORT", "METRICS_PORT")


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


class BotProcess:
    """``python -m bot`` with its stdout/stderr drained in the background."""

    def __init__(self, proc: asyncio.subprocess.Process, fake: FakeBotAPI | None = None) -> None:
        self.proc = proc
        self.fake = fake
        self._out: list[str] = []
        self._err: list[str] = []
        self._drains = [asyncio.create_task(self._drain(proc.stdout, self._out)),
                        asyncio.create_task(self._drain(proc.stderr, self._err))]

    @classmethod
    async def start(cls, env: dict[str, str], fake: FakeBotAPI | None = None, *args: str,
                    python: str = sys.executable, cwd: Path = REPO) -> "BotProcess":
        """``python -m bot *args``; ``python`` and ``cwd`` for another install (tests/test_deploy.py)."""
        proc = await asyncio.create_subprocess_exec(
            python, "-m", "bot", *args, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        return cls(proc, fake)

    @staticmethod
    async def _drain(stream: asyncio.StreamReader, buf: list[str]) -> None:
        while chunk := await stream.read(65536):
            buf.append(chunk.decode("utf-8", "replace"))

    @property
    def stdout(self) -> str:
        return "".join(self._out)

    @property
    def stderr(self) -> str:
        return "".join(self._err)

    def describe(self) -> str:
        return (f"--- bot exit code: {self.proc.returncode}\n--- bot stderr:\n{self.stderr}"
                f"\n--- bot stdout:\n{self.stdout}")

    async def finish(self, timeout: float = TIMEOUT) -> int:
        """Waits for the exit and for the pipes to be read to the end."""
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            pytest.fail(f"bot did not exit within {timeout}s\n{self.describe()}")
        await asyncio.wait_for(asyncio.gather(*self._drains), 5)
        return self.proc.returncode

    async def terminate(self, timeout: float = TIMEOUT) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return await self.finish(timeout)

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        for t in self._drains:
            t.cancel()
        await asyncio.gather(*self._drains, return_exceptions=True)

    async def expect(self, predicate: Callable[[Request], bool] | str, *, timeout: float = TIMEOUT,
                     since: int | None = None, what: str = "") -> Request:
        """fake.wait_for(), failing at once (with the bot's log) if the process dies."""
        assert self.fake is not None
        waiter = asyncio.ensure_future(self.fake.wait_for(predicate, timeout, since=since))
        died = asyncio.ensure_future(self.proc.wait())
        try:
            done, _ = await asyncio.wait({waiter, died}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            died.cancel()
        if waiter in done:
            try:
                return waiter.result()
            except TimeoutError as e:
                pytest.fail(f"waiting for {what or predicate}: {e}\n{self.describe()}")
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        await asyncio.gather(*self._drains, return_exceptions=True)
        pytest.fail(f"bot exited while waiting for {what or predicate}\n{self.describe()}")


async def quiet_restart(env: dict[str, str], fake: FakeBotAPI, *, settle: float = 0.5) -> list[Request]:
    """One more start after a clean stop: waits for it to poll, lets it run ``settle`` seconds, and
    stops it cleanly (exit code 0). Returns every request it made, for the caller to check that it
    did nothing else (sent no message, set no profile)."""
    since = fake.mark()
    bot = await BotProcess.start(env, fake)
    try:
        await bot.expect("getUpdates", since=since, what="polling after a clean stop")
        await asyncio.sleep(settle)
        assert await bot.terminate() == 0, bot.describe()
    finally:
        await bot.kill()
    return fake.requests[since:]


def max_in_window(times: list[float], window: float) -> int:
    """The most of ``times`` that fall within any span shorter than ``window``."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
