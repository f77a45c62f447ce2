from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from testkit.chat import TODAY, BotHarness
from testkit.fake_bot_api import FakeBotAPI
from testkit.postgres import fresh_schema
from testkit.processes import bot_env



@pytest.fixture
async def harness(tmp_path, database_url):
    h = await BotHarness(tmp_path / "disputes.db", TODAY, database_url=database_url).start()
    yield h
    await h.stop()


@pytest.fixture
def user(harness):
    return harness.user()


@pytest.fixture
async def fake():
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


@pytest.fixture
def env(fake: FakeBotAPI, config_file: Path, db_path: Path) -> dict[str, str]:
    """The bot's environment; ``config_file`` is each end-to-end module's own fixture."""
    return bot_env(BOT_TOKEN=fake.token, BOT_API_URL=fake.url, DATABASE_URL=f"sqlite:///{db_path}",
                   CONFIG_FILE=str(config_file))


# ------------------------------------------------------------------ PostgreSQL
# Tests marked `postgres` get the server at TEST_DATABASE_URL (by default the local one) through the
# `postgres_url` fixture. With no server answering they are skipped with one line, except under
# CI=true, where that is a failure: CI must never go green with them silently skipped.
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.usefixtures("postgres_url"))


def _postgres_problem(url: str) -> str | None:
    """Why the server at ``url`` can't be used (None when it answers ``SELECT 1``)."""
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(url, timeout=3)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()

    try:
        # Its own thread and loop: the fixture may be asked for from inside a running event loop.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, probe()).result()
    except Exception as e:  # noqa: BLE001 - any failure to connect is "no server"
        return f"{type(e).__name__}: {e}".splitlines()[0]
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    problem = _postgres_problem(TEST_DATABASE_URL)
    if problem:
        where = TEST_DATABASE_URL.rpartition("@")[2]  # no password in the report
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {where} is needed under CI=true (TEST_DATABASE_URL): {problem}",
                        pytrace=False)
        pytest.skip(f"no PostgreSQL at {where} (set TEST_DATABASE_URL): {problem}")
    return TEST_DATABASE_URL


# ------------------------------------------------------------------ both backends
# A test or module marked ``@both_backends`` runs once on SQLite and once on PostgreSQL (the latter
# marked `postgres`); ``database_url`` (and the ``harness`` built on it) is SQLite otherwise.
both_backends = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


@pytest.fixture
async def database_url(request: pytest.FixtureRequest, tmp_path: Path):
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path}/disputes.db"
        return
    async with fresh_schema(request.getfixturevalue("postgres_url")) as url:
        yield url
