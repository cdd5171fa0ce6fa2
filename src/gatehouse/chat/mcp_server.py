"""The task tools over the Model Context Protocol (stdio), as one user, for desktop assistants.

It serves the very registry the chat assistants use (`gatehouse.chat.tools.TOOLS`); each
call runs in a transaction of its own, committed when the tool succeeds. The task limit
(TASKS_MAX_PER_USER) holds here too.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.chat import tools


def build_server(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID, *, max_tasks: int
) -> Server[Any, Any]:
    server: Server[Any, Any] = Server("gatehouse-tasks")
    caller = tools.Caller(user_id=user_id, max_tasks=max_tasks)

    @server.list_tools()  # type: ignore[no-untyped-call, untyped-decorator]
    async def list_tools() -> list[types.Tool]:
        return [
            types.Tool(name=tool.name, description=tool.description, inputSchema=tool.parameters)
            for tool in tools.TOOLS.values()
        ]

    @server.call_tool()  # type: ignore[untyped-decorator]
    async def call_tool(name: str, arguments: dict[str, Any]) -> list[types.TextContent]:
        async with sessionmaker() as db:
            result = await tools.call_tool(db, caller=caller, name=name, arguments=arguments)
            await db.commit()
        return [types.TextContent(type="text", text=json.dumps(result))]

    return server


async def serve_stdio(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID, *, max_tasks: int
) -> None:
    """Serve until stdin closes; the user's list holds at most `max_tasks` tasks."""
    server = build_server(sessionmaker, user_id, max_tasks=max_tasks)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
