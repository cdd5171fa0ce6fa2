"""The database plumbing of the request path: sessions taken in arrival order, the pool
settings, and a connection that died while idle replaced before a request gets it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.pool import QueuePool
from starlette.requests import Request

from gatehouse.core import db as core_db
from gatehouse.core.db import get_db, make_engine
from tests.conftest import make_settings
from tests.helpers import running


def _request(app: FastAPI) -> Request:
    return Request({"type": "http", "app": app, "headers": []})


async def test_requests_get_their_database_session_in_arrival_order(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(DB_POOL_SIZE=1)
    async with running(app):
        first = get_db(_request(app))
        await anext(first)  # holds the only slot
        entered: list[int] = []

        async def take(number: int) -> None:
            session = get_db(_request(app))
            await anext(session)
            entered.append(number)
            await session.aclose()

        waiting = []
        for number in range(3):
            waiting.append(asyncio.create_task(take(number)))
            await asyncio.sleep(0)  # each arrives before the next
        await asyncio.sleep(0.05)
        assert entered == []  # nobody passes the request that holds the slot
        await first.aclose()
        await asyncio.gather(*waiting)
        assert entered == [0, 1, 2]


def test_a_sqlite_file_gets_the_configured_pool(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's pool")
    engine = make_engine(make_settings(database_url, DB_POOL_SIZE=7, DB_MAX_OVERFLOW=3))
    pool = engine.sync_engine.pool
    assert isinstance(pool, QueuePool)
    assert (pool.size(), pool._max_overflow) == (7, 3)
    memory = make_engine(make_settings("sqlite+aiosqlite:///:memory:"))
    assert not isinstance(memory.sync_engine.pool, QueuePool)


async def test_a_connection_that_died_while_idle_is_replaced_before_use(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL: a server that ends a connection")
    monkeypatch.setattr(core_db, "POOL_PING_IDLE_SECONDS", 0.0)  # every checkout counts as idle
    settings = make_settings(database_url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0)
    engine = make_engine(settings)
    admin = make_engine(settings)
    try:
        async with engine.connect() as connection:
            dead = await connection.scalar(text("SELECT pg_backend_pid()"))
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead})
            gone = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            for _ in range(500):  # until the backend has exited
                if not await connection.scalar(gone, {"pid": dead}):
                    break
                await asyncio.sleep(0.01)
        async with engine.connect() as connection:
            alive = await connection.scalar(text("SELECT pg_backend_pid()"))
        assert alive != dead
    finally:
        await engine.dispose()
        await admin.dispose()
