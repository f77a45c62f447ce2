from __future__ import annotations

from datetime import date

import pytest

from tests.chat import BotHarness

TODAY = date(2026, 11, 21)


@pytest.fixture
async def harness(tmp_path):
    h = await BotHarness(tmp_path / "disputes.db", TODAY).start()
    yield h
    await h.stop()


@pytest.fixture
def user(harness):
    return harness.user()
