"""`gatehouse mcp`: the task tools over MCP (stdio), as one user."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer

from gatehouse.cli.common import fail, load_settings, open_database


def mcp_server(
    user: Annotated[
        str, typer.Option("--user", help="The email of the user whose tasks to serve.")
    ],
) -> None:
    """Serve the task tools over MCP (stdio) as one user, for desktop assistants."""
    from gatehouse.chat.mcp_server import serve_stdio
    from gatehouse.users import service as users_service

    settings = load_settings()

    async def serve() -> None:
        async with open_database(settings) as database:
            async with database.session() as db:
                account = await users_service.find_user_by_email(db, email=user)
            if account is None or not account.is_active:
                raise fail(f"error: no active user with email {user}")
            await serve_stdio(
                database.sessionmaker, account.id, max_tasks=settings.TASKS_MAX_PER_USER
            )

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
