"""What one chat message may cost: tool calls per message, tasks per user, and the
built-in assistant's work on a long message."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gatehouse.chat.providers.base import TOO_MANY_CALLS, HistoryItem, Turn
from gatehouse.chat.providers.builtin import BuiltinAssistant
from gatehouse.chat.tools import Caller, call_tool
from tests.helpers import bearer, running, signed_up


async def _total_tasks(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    total: int = (await client.get("/api/v1/tasks", headers=headers)).json()["total"]
    return total


def _adds(count: int) -> str:
    return "add " + " and ".join(f"task {index}" for index in range(count))


async def test_a_turn_runs_at_most_its_bound_of_tool_calls() -> None:
    ran: list[str] = []

    async def run_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        ran.append(name)
        return {"status": "ok"}

    turn = Turn(history=[], message="", today=date.today(), run_tool=run_tool, max_calls=2)
    assert await turn.call("list_tasks", {}) == {"status": "ok"}
    turn.record("add_task", {"raw": "{"}, {"status": "error"})
    assert not turn.limit_reached
    assert await turn.call("list_tasks", {}) == TOO_MANY_CALLS
    turn.record("add_task", {"raw": "{"}, {"status": "error"})
    assert ran == ["list_tasks"]
    assert len(turn.calls) == 2
    assert turn.limit_reached


async def test_a_message_asking_for_more_tasks_than_the_bound_creates_that_many(
    app_factory: Callable[..., FastAPI],
) -> None:
    async with running(app_factory(CHAT_MAX_TOOL_CALLS=5)) as client:
        headers = bearer((await signed_up(client))["access_token"])
        response = await client.post("/api/v1/chat", headers=headers, json={"message": _adds(12)})
        assert response.status_code == 200, response.text
        body = response.json()
        assert [call["name"] for call in body["tool_calls"]] == ["add_task"] * 5
        assert await _total_tasks(client, headers) == 5
        assert body["response"].count("Added") == 5
        assert "I stopped after 5 tool calls" in body["response"]

        # Exactly the bound: everything is done, and nothing is said about a limit.
        exact = await client.post("/api/v1/chat", headers=headers, json={"message": _adds(5)})
        assert len(exact.json()["tool_calls"]) == 5
        assert "stopped" not in exact.json()["response"]
        assert await _total_tasks(client, headers) == 10


async def test_the_default_bound_is_twenty_calls(client: httpx.AsyncClient) -> None:
    headers = bearer((await signed_up(client))["access_token"])
    message = _adds(3_300)[:10_000]
    response = await client.post("/api/v1/chat", headers=headers, json={"message": message})
    assert response.status_code == 200
    assert len(response.json()["tool_calls"]) == 20
    assert await _total_tasks(client, headers) == 20


async def test_the_task_limit_holds_in_the_chat(app_factory: Callable[..., FastAPI]) -> None:
    async with running(app_factory(TASKS_MAX_PER_USER=3)) as client:
        headers = bearer((await signed_up(client))["access_token"])
        response = await client.post(
            "/api/v1/chat", headers=headers, json={"message": "add a and b and c and d"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        results = [call["result"] for call in body["tool_calls"]]
        assert [result["status"] for result in results] == ["ok", "ok", "ok", "error"]
        assert results[3]["code"] == "TASK_LIMIT_REACHED"
        assert results[3]["limit"] == 3
        assert "I couldn't add “d”: you have 3 tasks" in body["response"]
        assert await _total_tasks(client, headers) == 3


class CountingHistory(list[HistoryItem]):
    """A history that counts how often it is read through."""

    reads = 0

    def __iter__(self) -> Iterator[HistoryItem]:
        self.reads += 1
        return super().__iter__()


async def test_it_and_them_read_the_history_once_per_call_not_once_per_item() -> None:
    failed = {"name": "complete_task", "arguments": {"task": "x"}, "result": {"status": "x"}}
    history = CountingHistory(
        [HistoryItem("user", "finish x"), HistoryItem("assistant", "no", [failed] * 20)] * 100
    )

    async def run_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("nothing to act on: no tool runs")

    turn = Turn(
        history=history,
        message="finish it" + " and it" * 500,
        today=date.today(),
        run_tool=run_tool,
        max_calls=20,
    )
    answer = await BuiltinAssistant().respond(turn)
    assert answer.count("Which task do you mean?") == 501
    assert history.reads == 1


@pytest.mark.parametrize("text", ["milk\x00", "tea\x1b[2J", "bad\ud800"])
async def test_tool_arguments_with_control_characters_are_an_error_result_not_a_500(
    app: FastAPI, client: httpx.AsyncClient, text: str
) -> None:
    """A model or an MCP client does not pass through the HTTP input guard; the tools
    refuse the same text (on PostgreSQL a NUL would otherwise fail the insert)."""
    account = await signed_up(client)
    user_id = uuid.UUID(account["user"]["id"])
    async with app.state.sessionmaker() as db:
        caller = Caller(user_id=user_id, max_tasks=10)
        result = await call_tool(db, caller=caller, name="add_task", arguments={"title": text})
        assert result["status"] == "error"
        assert result["error"] == "invalid arguments"
        listed = await call_tool(db, caller=caller, name="list_tasks", arguments={"q": text})
        assert listed["status"] == "error"
    tasks = await client.get("/api/v1/tasks", headers=bearer(account["access_token"]))
    assert tasks.json()["total"] == 0
