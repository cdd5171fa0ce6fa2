"""Fixtures: every test runs on SQLite, and again on PostgreSQL when TEST_DATABASE_URL is set.

Each backend's schema is built once per run with the real migrations. On SQLite every
test gets a copy of the migrated file; on PostgreSQL the run creates a database of its
own (dropped at the end) and empties the tables after each test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from gatehouse import migrate
from gatehouse.core.config import Settings
from gatehouse.main import create_app
from gatehouse.models import Base
from tests.helpers import running
from tests.servers import start_server
from tests.smtp import smtp_server, stopped_smtp_server

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
__all__ = ["smtp_server", "start_server", "stopped_smtp_server"]  # fixtures for every module


@dataclass(frozen=True)
class Database:
    backend: str
    url: str  # the migrated database (SQLite: the template file)


async def _migrate(url: str) -> None:
    engine = create_async_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


async def _admin_execute(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.db"
        url = f"sqlite+aiosqlite:///{path}"
        asyncio.run(_migrate(url))
        yield Database("sqlite", url)
        return
    assert TEST_DATABASE_URL is not None
    server = make_url(TEST_DATABASE_URL)
    name = f"gatehouse_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin_execute(TEST_DATABASE_URL, f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        asyncio.run(_migrate(url))
        yield Database("postgresql", url)
    finally:
        asyncio.run(
            _admin_execute(TEST_DATABASE_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


@pytest.fixture
def database_url(database: Database, tmp_path: Path) -> Iterator[str]:
    if database.backend == "sqlite":
        template = Path(make_url(database.url).database or "")
        copy = tmp_path / "gatehouse.db"
        shutil.copyfile(template, copy)
        yield f"sqlite+aiosqlite:///{copy}"
        return
    yield database.url
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    asyncio.run(_admin_execute(database.url, f"TRUNCATE {tables} CASCADE"))


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test: a fixed key and cheap hashing, unless the test overrides them.

    On PostgreSQL (with TEST_REDIS_URL) limits are shared through Redis, under the key
    prefix of this test alone.
    """
    values: dict[str, Any] = {
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "ARGON2_MEMORY_COST_KIB": 1024,
        "ARGON2_TIME_COST": 1,
        "RATE_LIMIT_ENABLED": False,
        "MAIL_WORKER_ENABLED": False,
        "FORGOT_PASSWORD_MIN_SECONDS": 0,
        "PUBLIC_URL": "http://testserver",
    }
    if TEST_REDIS_URL and database_url.startswith("postgresql"):
        values["REDIS_URL"] = TEST_REDIS_URL
        values["REDIS_KEY_PREFIX"] = redis_prefix.get()
    values.update(overrides)
    return Settings(_env_file=None, **values)


redis_prefix: ContextVar[str] = ContextVar("redis_prefix", default="gatehouse-test")


@pytest.fixture(autouse=True)
def isolated_redis_prefix() -> Iterator[str]:
    """A Redis key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"gatehouse-test-{uuid.uuid4().hex[:12]}"
    token = redis_prefix.set(prefix)
    yield prefix
    redis_prefix.reset(token)
    if TEST_REDIS_URL:
        client = redis.Redis.from_url(TEST_REDIS_URL)
        try:
            keys = list(client.scan_iter(match=f"*{prefix}*", count=500))
            if keys:
                client.delete(*keys)
        except redis.RedisError:
            pass  # a test that stopped Redis on purpose
        finally:
            client.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app_factory(database_url: str) -> Callable[..., FastAPI]:
    """Build an app on this test's database with some settings changed; `seams` are the
    keyword arguments of create_app (clock, throttle_policy)."""

    def build(seams: dict[str, Any] | None = None, **overrides: Any) -> FastAPI:
        return create_app(make_settings(database_url, **overrides), **(seams or {}))

    return build


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as http:
        yield http
