"""The MCP server over stdio, driven by the `mcp` client: it adds a task as the user."""

from __future__ import annotations

import json
import os
import sys

from fastapi import FastAPI
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import TextContent

from tests.helpers import bearer, running, signed_up


async def test_the_mcp_server_lists_the_tools_and_adds_a_task(
    app: FastAPI, database_url: str
) -> None:
    async with running(app) as client:
        account = await signed_up(client)
        await client.post(
            "/api/v1/tasks", headers=bearer(account["access_token"]), json={"title": "existing"}
        )

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "gatehouse", "mcp", "--user", account["user"]["email"]],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "mcp-test-secret-key-0123456789abcdef",
            "ENVIRONMENT": "development",
            "TASKS_MAX_PER_USER": "2",
        },
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = await session.list_tools()
        assert {tool.name for tool in listed.tools} == {
            "add_task",
            "list_tasks",
            "complete_task",
            "update_task",
            "delete_task",
        }
        added = await session.call_tool(
            "add_task", {"title": "from my desktop assistant", "priority": "high"}
        )
        assert isinstance(added.content[0], TextContent)
        result = json.loads(added.content[0].text)
        assert result["status"] == "ok"
        assert result["task"]["title"] == "from my desktop assistant"
        over = await session.call_tool("add_task", {"title": "one too many"})
        assert isinstance(over.content[0], TextContent)
        assert json.loads(over.content[0].text)["code"] == "TASK_LIMIT_REACHED"
        completed = await session.call_tool("complete_task", {"task": "existing"})
        assert isinstance(completed.content[0], TextContent)
        assert json.loads(completed.content[0].text)["status"] == "ok"

    async with running(app) as client:
        tokens = (
            await client.post(
                "/api/v1/auth/login",
                json={
                    "email": account["user"]["email"],
                    "password": "correct horse battery staple",
                },
            )
        ).json()
        tasks = (await client.get("/api/v1/tasks", headers=bearer(tokens["access_token"]))).json()[
            "items"
        ]
    by_title = {task["title"]: task for task in tasks}
    assert by_title["from my desktop assistant"]["priority"] == "high"
    assert by_title["existing"]["completed"] is True
