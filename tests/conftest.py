from __future__ import annotations

from pathlib import Path

import pytest

from testkit.chat import TODAY, BotHarness
from testkit.fake_bot_api import FakeBotAPI
from testkit.processes import bot_env



@pytest.fixture
async def harness(tmp_path):
    h = await BotHarness(tmp_path / "disputes.db", TODAY).start()
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
