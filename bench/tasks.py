"""Listing one page of 20 tasks: a user with 1,000 tasks beside one with 100,000 (PostgreSQL).

Creates a database of its own on the server of `--database-url` (default: the local
`postgresql+asyncpg://postgres@127.0.0.1:5432/test`), applies the migrations, loads the
two users' tasks, then times `GET /api/v1/tasks` (default sort, and with `completed` and
`sort=-priority`) through the real app, and the service call alone. Prints both sizes and
their ratio (target: within 2x). The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from gatehouse import migrate
from gatehouse.core.config import Settings
from gatehouse.core.pagination import PageParams
from gatehouse.main import create_app
from gatehouse.tasks import service as task_service
from gatehouse.tasks.models import Task

PASSWORD = "bench password that is long enough"
SIZES = (1_000, 100_000)
QUERIES: dict[str, dict[str, str]] = {
    "default (-created_at)": {},
    "completed=false": {"completed": "false"},
    "sort=-priority": {"sort": "-priority"},
}


async def admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def load_tasks(url: str, user_id: uuid.UUID, count: int) -> None:
    engine = create_async_engine(url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    priorities = ("low", "medium", "high")
    try:
        async with engine.begin() as connection:
            for offset in range(0, count, 10_000):
                rows = [
                    {
                        "id": uuid.uuid4(),
                        "user_id": user_id,
                        "title": f"task {index}",
                        "description": None,
                        "completed": index % 3 == 0,
                        "priority": priorities[index % 3],
                        "due_date": None,
                        "created_at": start + timedelta(seconds=index),
                        "updated_at": start + timedelta(seconds=index),
                    }
                    for index in range(offset, min(count, offset + 10_000))
                ]
                await connection.execute(insert(Task), rows)
            # Loaded around the service, so its kept count is set here, as the migration
            # that introduced it does for tasks already there.
            await connection.execute(
                text(
                    "INSERT INTO task_counts (user_id, total) SELECT user_id, count(*) "
                    "FROM tasks WHERE user_id = :user_id GROUP BY user_id"
                ),
                {"user_id": user_id},
            )
        async with engine.connect() as connection:
            await connection.execute(text("COMMIT"))
            await connection.execute(text("VACUUM ANALYZE tasks"))
    finally:
        await engine.dispose()


def timed(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(0.95 * (len(ordered) - 1))] * 1000
    return f"p50 {p50:7.2f} ms  p95 {p95:7.2f} ms"


async def run(url: str, repeats: int) -> None:
    settings = Settings(
        _env_file=None,
        DATABASE_URL=url,
        SECRET_KEY="bench-secret-key-0123456789-0123456789",
        RATE_LIMIT_ENABLED=False,
    )
    engine = create_async_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            users: dict[int, tuple[uuid.UUID, dict[str, str]]] = {}
            for size in SIZES:
                email = f"bench-{size}@example.com"
                registered = await client.post(
                    "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
                )
                tokens = await client.post(
                    "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
                )
                user_id = uuid.UUID(registered.json()["id"])
                users[size] = (
                    user_id,
                    {"Authorization": f"Bearer {tokens.json()['access_token']}"},
                )
                started = time.perf_counter()
                await load_tasks(url, user_id, size)
                print(f"loaded {size:>7,} tasks in {time.perf_counter() - started:5.1f} s")

            print(f"\none page of 20, {repeats} requests each (PostgreSQL, in-process app)")
            for label, params in QUERIES.items():
                results: dict[int, dict[str, list[float]]] = {}
                for size, (user_id, headers) in users.items():
                    http_samples: list[float] = []
                    service_samples: list[float] = []
                    for _ in range(repeats):
                        started = time.perf_counter()
                        response = await client.get("/api/v1/tasks", headers=headers, params=params)
                        http_samples.append(time.perf_counter() - started)
                        assert response.status_code == 200
                        assert len(response.json()["items"]) == 20
                        service_samples.append(await _service_call(app, user_id, params))
                    results[size] = {"http": http_samples, "service": service_samples}
                print(f"\n  {label}")
                for kind in ("http", "service"):
                    small, large = (results[size][kind] for size in SIZES)
                    ratio = statistics.median(large) / statistics.median(small)
                    print(
                        f"    {kind:<7}  1k: {timed(small)}   100k: {timed(large)}   "
                        f"ratio {ratio:4.2f}x"
                    )


async def _service_call(app: Any, user_id: uuid.UUID, params: dict[str, str]) -> float:
    completed = {"false": False, "true": True}.get(params.get("completed", ""))
    async with app.state.sessionmaker() as session:
        started = time.perf_counter()
        await task_service.list_tasks(
            session,
            owner_id=user_id,
            params=PageParams(),
            completed=completed,
            sort=params.get("sort", "-created_at"),
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    server = make_url(args.database_url)
    name = f"gatehouse_bench_{uuid.uuid4().hex[:8]}"
    url = server.set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(args.database_url, f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(run(url, args.repeats))
    finally:
        asyncio.run(admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
