"""Migrations go up and down cleanly on each backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
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


# Expression indexes: PostgreSQL reflects them in a normalised spelling and SQLite not at
# all, so autogenerate cannot compare them; the test checks that they exist instead.
EXPRESSION_INDEXES = {"ix_tasks_user_id_priority", "ix_tasks_user_id_due_date"}


def _compared(obj: object, name: str | None, type_: str, *_: object) -> bool:
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
async def test_the_models_match_the_migrations(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"include_object": _compared}),
                    Base.metadata,
                )
            )
            catalog = (
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tasks'"
                if connection.dialect.name == "sqlite"
                else "SELECT indexname FROM pg_indexes WHERE tablename = 'tasks'"
            )
            indexes = set((await connection.execute(text(catalog))).scalars())
    finally:
        await engine.dispose()
    assert diff == []
    assert indexes >= EXPRESSION_INDEXES
