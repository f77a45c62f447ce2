"""A PostgreSQL schema of its own per test or benchmark run: they never see each other's rows."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


@asynccontextmanager
async def fresh_schema(server_url: str) -> AsyncIterator[str]:
    """A URL whose tables live in a new, empty schema (dropped afterwards)."""
    import asyncpg

    schema = f"test_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    try:
        yield f"{server_url}{'&' if '?' in server_url else '?'}search_path={schema}"
    finally:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await conn.close()
