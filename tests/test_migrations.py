"""Migrations go up and down cleanly on each backend."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from gatehouse import migrate
from gatehouse.models import Base


async def test_migrations_create_every_table_and_downgrade_to_nothing(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        assert await migrate.is_up_to_date(engine)
        async with engine.connect() as connection:
            tables = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        assert set(Base.metadata.tables) <= tables

        await migrate.downgrade(engine, "base")
        async with engine.connect() as connection:
            left = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        assert not (set(Base.metadata.tables) & left)
        assert not await migrate.is_up_to_date(engine)

        await migrate.upgrade(engine)
        assert await migrate.is_up_to_date(engine)
    finally:
        await engine.dispose()


async def test_the_models_match_the_migrations(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []
