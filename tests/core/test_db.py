"""The database plumbing of the request path: connections handed out in arrival order, the
pool settings, and a connection that died while idle replaced before a request gets it."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import QueuePool

from gatehouse.core import db as core_db
from gatehouse.core.db import FairAsyncQueuePool, make_engine
from tests.conftest import make_settings


async def test_connections_are_handed_out_in_arrival_order(database_url: str) -> None:
    """A caller that comes last waits behind those already waiting, even when it asks at
    the moment a connection comes back (SQLAlchemy's own queue would give it that one)."""
    engine = make_engine(make_settings(database_url, DB_POOL_SIZE=1, DB_MAX_OVERFLOW=0))
    assert isinstance(engine.sync_engine.pool, FairAsyncQueuePool)
    served: list[str] = []
    try:
        holder = await engine.connect()

        async def take(name: str) -> None:
            async with engine.connect():
                served.append(name)
                await asyncio.sleep(0.01)

        waiting = []
        for name in ("first", "second"):
            waiting.append(asyncio.create_task(take(name)))
            await asyncio.sleep(0.05)  # each is waiting before the next arrives
        assert served == []
        await holder.close()
        await take("latecomer")  # asks right as the connection comes back
        await asyncio.gather(*waiting)
    finally:
        await engine.dispose()
    assert served == ["first", "second", "latecomer"]


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


async def test_a_caller_that_waits_too_long_gets_the_pools_timeout(database_url: str) -> None:
    engine = create_async_engine(
        database_url, poolclass=FairAsyncQueuePool, pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    try:
        async with engine.connect():
            with pytest.raises(sqlalchemy.exc.TimeoutError):
                await engine.connect()
        async with engine.connect() as connection:  # the pool still works: nothing was lost
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()
