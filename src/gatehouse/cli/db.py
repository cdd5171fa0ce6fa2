"""`gatehouse db ...`: the database schema (Alembic migrations)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from gatehouse import migrate
from gatehouse.cli.common import open_database

db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""

    async def upgrade() -> None:
        async with open_database() as database:
            await migrate.upgrade(database.engine, revision)

    asyncio.run(upgrade())
    print(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Revert migrations down to REVISION (`base` removes every table)."""

    async def downgrade() -> None:
        async with open_database() as database:
            await migrate.downgrade(database.engine, revision)

    asyncio.run(downgrade())
    print(f"database at {revision}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and the one this code needs."""

    async def current_revision() -> str | None:
        async with open_database() as database:
            return await migrate.current_revision(database.engine)

    current = asyncio.run(current_revision())
    print(f"current: {current or 'none'}\nhead:    {migrate.head_revision()}")
