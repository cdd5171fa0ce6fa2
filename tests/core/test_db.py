"""The database plumbing of the request path: connections handed out in arrival order, the
pool settings, a connection that died while idle replaced before a request gets it, and the
caller's read by key (`KeyReader`)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid

import pytest
import sqlalchemy.exc
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

from gatehouse.core import db as core_db
from gatehouse.core.db import FairAsyncQueuePool, KeyReader, make_engine, make_sessionmaker
from gatehouse.users.models import Role, User
from tests.conftest import make_settings
from tests.helpers import unique_email


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


_EMAIL_OF = select(User.email, User.role).where(User.id == bindparam("user_id"))


async def _new_user(engine: AsyncEngine) -> uuid.UUID:
    async with make_sessionmaker(engine)() as db:
        user = User(email=unique_email("reader"), password_hash="not-a-hash")
        db.add(user)
        await db.commit()
        return user.id


async def test_a_key_read_sees_each_commit_at_once_and_leaves_no_transaction_open(
    database_url: str,
) -> None:
    """The caller read (`KeyReader`) caches nothing: a change committed elsewhere is what
    the next read returns; and it holds no transaction (PostgreSQL: autocommit)."""
    engine = make_engine(make_settings(database_url))
    other = make_engine(make_settings(database_url))
    reader = KeyReader(engine)
    try:
        user_id = await _new_user(other)
        row = await reader.first(_EMAIL_OF, {"user_id": user_id})
        assert row is not None
        assert row[1] == Role.USER
        for role in (Role.ADMIN, Role.USER, Role.ADMIN):
            async with other.begin() as connection:
                await connection.execute(update(User).where(User.id == user_id).values(role=role))
            row = await reader.first(_EMAIL_OF, {"user_id": user_id})
            assert row is not None
            assert row[1] == role
        assert await reader.first(_EMAIL_OF, {"user_id": uuid.uuid4()}) is None
        if database_url.startswith("postgresql"):
            async with other.connect() as connection:
                open_transactions = await connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND state LIKE 'idle in transaction%'"
                    )
                )
            assert open_transactions == 0
    finally:
        reader.close()
        await engine.dispose()
        await other.dispose()


async def test_a_key_read_does_not_hold_the_event_loop_while_sqlite_is_locked(
    database_url: str,
) -> None:
    """SQLite reads run on the event loop; while another process holds the file locked the
    read moves to the driver's thread and waits there, and the loop keeps serving."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's loop read")
    engine = make_engine(make_settings(database_url))
    user_id = await _new_user(engine)
    await engine.dispose()  # the locker below must be the file's only connection
    locker = sqlite3.connect(make_url(database_url).database or "", check_same_thread=False)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("UPDATE users SET full_name = 'locked' WHERE id IS NOT NULL")
    locker.commit()  # the file stays locked for this connection alone
    reader = KeyReader(engine)
    try:
        gaps: list[float] = []

        async def ticker() -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)  # ticking
        release = threading.Timer(0.5, locker.close)  # another process, in effect
        release.start()
        started = time.perf_counter()
        row = await reader.first(_EMAIL_OF, {"user_id": user_id})
        waited = time.perf_counter() - started
        await asyncio.sleep(0.01)  # a tick after the read, which sees any gap it made
        ticking.cancel()
        release.join()
    finally:
        reader.close()
        await engine.dispose()
    assert row is not None
    assert waited >= 0.4  # it did wait for the lock...
    assert max(gaps) < 0.2  # ...off the loop, which went on ticking meanwhile
