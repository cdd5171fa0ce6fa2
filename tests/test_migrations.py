"""Migrations go up and down cleanly on each backend."""

from __future__ import annotations

from pathlib import Path

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


def test_the_head_read_without_alembic_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    alembic_head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert migrate._head_from_files() == alembic_head
    assert migrate.head_revision() == alembic_head


def test_a_revision_file_not_spelled_in_literals_is_left_to_alembic(tmp_path: Path) -> None:
    plain = tmp_path / "plain.py"
    plain.write_text('revision: str = "0002"\ndown_revision: str | None = "0001"\n')
    merge = tmp_path / "merge.py"
    merge.write_text('revision = "0003"\ndown_revision = ("0001", "0002")\n')
    computed = tmp_path / "computed.py"
    computed.write_text('revision = "0004"\ndown_revision = make_it()\n')
    assert migrate._revisions_of(plain) == ("0002", "0001")
    assert migrate._revisions_of(merge) == ("0003", ("0001", "0002"))
    assert migrate._revisions_of(computed) is None


async def test_the_current_revision_is_read_without_alembic(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            by_alembic = await connection.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
        assert await migrate.current_revision(engine) == by_alembic == migrate.head_revision()
    finally:
        await engine.dispose()
