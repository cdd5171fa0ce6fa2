"""What the commands share: loading settings, opening the database, failing with a message."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gatehouse.core.config import Settings, describe_settings_error
from gatehouse.core.db import make_engine, make_sessionmaker


def fail(message: str, code: int = 1) -> typer.Exit:
    print(message, file=sys.stderr)
    return typer.Exit(code)


def load_settings() -> Settings:
    """The environment's settings, or one line naming the bad variable and exit status 2."""
    try:
        return Settings()
    except ValidationError as exc:
        raise fail(describe_settings_error(exc), code=2) from None


@dataclass(frozen=True)
class Database:
    """An open database: its engine, and sessions on it."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]

    def session(self) -> AsyncSession:
        """A new database session (`async with database.session() as db:`)."""
        return self.sessionmaker()


@asynccontextmanager
async def open_database(settings: Settings | None = None) -> AsyncIterator[Database]:
    """The database of `settings` (the environment's when not given), its engine disposed
    on the way out. Every command that touches the database opens it with this."""
    if settings is None:
        settings = load_settings()
    engine = make_engine(settings, command_timeout=None)  # migrations may take long
    try:
        yield Database(engine, make_sessionmaker(engine))
    finally:
        await engine.dispose()
