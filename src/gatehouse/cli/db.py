"""`gatehouse db ...`: the database schema (Alembic migrations)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from gatehouse import migrate
from gatehouse.cli.common import load_settings, open_database

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


@db_app.command("prune")
def db_prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")
    ] = False,
) -> None:
    """Delete what retention no longer keeps (RETENTION_*_DAYS), in batches, now.

    `gatehouse worker` does this every HOUSEKEEPING_INTERVAL_SECONDS; this runs it by hand
    and prints, per kind, the rows it deleted (or, with --dry-run, would delete).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    from gatehouse.ops import housekeeping

    settings = load_settings()
    console = Console()

    async def run() -> list[housekeeping.KindResult]:
        async with open_database(settings) as database:
            with Progress(
                TextColumn("{task.description:>8}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
                transient=True,
                disable=dry_run,
            ) as progress:
                tasks: dict[str, TaskID] = {}

                def started(kind: housekeeping.Kind, rows: int) -> None:
                    tasks[kind.name] = progress.add_task(kind.name, total=rows)

                def advanced(kind: housekeeping.Kind, rows: int) -> None:
                    progress.advance(tasks[kind.name], rows)

                return await housekeeping.prune(
                    database.sessionmaker,
                    settings,
                    dry_run=dry_run,
                    on_start=started,
                    on_batch=advanced,
                )

    verb = "would delete" if dry_run else "deleted"
    for result in asyncio.run(run()):
        if result.before is None:
            print(f"{result.kind}: kept forever (retention 0 days)")
        else:
            print(
                f"{result.kind}: {verb} {result.rows} row(s) "
                f"older than {result.days} day(s) (before {result.before:%Y-%m-%d %H:%M} UTC)"
            )
