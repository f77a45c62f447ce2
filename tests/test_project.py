"""Configuration, storage and translation catalogs."""
from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.storage import MIGRATIONS, Storage
from tests.conftest import both_backends

ROOT = Path(__file__).resolve().parent.parent


def test_env_overrides_the_file(tmp_path):
    config_file = tmp_path / "c.toml"
    config_file.write_text('[bot]\ntoken = "1:file-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"\n[policy]\nseller_response_days = 15\n')
    config = load_config({"CONFIG_FILE": str(config_file), "BOT_TOKEN": "2:env-token",
                          "DATABASE_URL": "sqlite:///x/y.db", "BOT_API_URL": "http://127.0.0.1:8081"})
    assert config.bot.token == "2:env-token" and config.database.url == "sqlite:///x/y.db"
    assert config.bot.api_url == "http://127.0.0.1:8081" and config.policy.seller_response_days == 15


@pytest.mark.parametrize("env, message", [
    ({}, "BOT_TOKEN is not set"),
    ({"BOT_TOKEN": "nope"}, "BOT_TOKEN is malformed"),
    ({"BOT_TOKEN": "1:x", "CONFIG_FILE": "/nonexistent.toml"}, "does not exist"),
])
def test_config_errors_are_one_clear_line(env, message, tmp_path):
    env = {"CONFIG_FILE": str(tmp_path / "absent.toml"), **env} if "CONFIG_FILE" not in env else env
    if env["CONFIG_FILE"].endswith("absent.toml"):
        (tmp_path / "absent.toml").write_text("")
    with pytest.raises(ConfigError, match=message) as info:
        load_config(env)
    assert "\n" not in str(info.value)


def test_bad_policy_value_names_the_key(tmp_path):
    config_file = tmp_path / "c.toml"
    config_file.write_text("[policy]\nseller_response_days = 0\n")
    with pytest.raises(ConfigError, match="policy.seller_response_days"):
        load_config({"CONFIG_FILE": str(config_file), "BOT_TOKEN": "1:x"})


def test_config_example_is_valid(tmp_path):
    config = load_config({"CONFIG_FILE": str(ROOT / "config.example.toml"), "BOT_TOKEN": "1:x"})
    assert config.policy.earliest_open_day == 11 and config.bot.api_url is None


async def test_migrations_run_once_and_pragmas_are_set(tmp_path):
    url = f"sqlite:///{tmp_path}/nested/dir/d.db"
    store = await Storage.open(url)
    await store.close()
    store = await Storage.open(url)  # a second start applies nothing twice
    await store.close()
    db = sqlite3.connect(tmp_path / "nested/dir/d.db")
    assert db.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@both_backends
async def test_stale_save_is_refused(database_url):
    store = await Storage.open(database_url)
    d = await store.create_dispute(7, "reason")
    other = await store.get_dispute(7, d.id)
    d.reason = "damaged"
    assert await store.save_dispute(d)
    other.reason = "not_received"
    assert not await store.save_dispute(other)  # loaded before d was saved
    assert (await store.get_dispute(7, d.id)).reason == "damaged"
    assert await store.get_dispute(8, d.id) is None  # scoped by user
    await store.close()


def test_catalogs_are_complete_and_fresh():
    result = subprocess.run([sys.executable, "scripts/i18n.py", "check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_tools_and_the_harness_never_import_tests():
    """scripts/, benchmarks/ and the shared harness (testkit/) stand on their own: tests import them,
    never the other way round."""
    offenders = [f"{path.relative_to(ROOT)}:{n}" for folder in ("scripts", "benchmarks", "testkit")
                 for path in (ROOT / folder).rglob("*.py")
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if re.match(r"\s*(from tests[. ]|import tests\b)", line)]
    assert not offenders, offenders
