"""The PostgreSQL plumbing the PostgreSQL backend will build on (tests/conftest.py).

A test marked ``postgres`` runs against TEST_DATABASE_URL (default: the local server,
postgresql://postgres@127.0.0.1:5432/test); it is skipped with one line when no server
answers, and fails instead under CI=true.
"""
from __future__ import annotations

import os
import subprocess
import sys

import asyncpg
import pytest

from testkit.processes import REPO


@pytest.mark.postgres
async def test_select_1(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url, timeout=5)
    try:
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


def _run_marked_test(ci: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env.update(CI=ci, TEST_DATABASE_URL="postgresql://nobody@127.0.0.1:9/none")  # port 9: nothing listens
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly",
                           "tests/test_postgres.py::test_select_1"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_no_server_skips_with_one_line_but_fails_under_ci() -> None:
    local = _run_marked_test("")
    assert local.returncode == 0, local.stdout + local.stderr
    skipped = [line for line in local.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1 and "no PostgreSQL at 127.0.0.1:9/none" in skipped[0], local.stdout
    assert "nobody" not in local.stdout

    ci = _run_marked_test("true")
    assert ci.returncode != 0, ci.stdout + ci.stderr
    assert "needed under CI=true" in ci.stdout, ci.stdout
