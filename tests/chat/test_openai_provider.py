"""The OpenAI-compatible provider against a local fake server speaking the wire format."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.chat.fake_openai import FakeOpenAI, completion, running_fake_openai, tool_call
from tests.helpers import assert_envelope, bearer, running, signed_up


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with running_fake_openai() as server:
        yield server


@pytest.fixture
def openai_app(app_factory: Callable[..., FastAPI], fake: FakeOpenAI) -> FastAPI:
    return app_factory(
        CHAT_PROVIDER="openai",
        OPENAI_BASE_URL=f"http://127.0.0.1:{fake.port}/v1",
        OPENAI_API_KEY="sk-test-key",
        CHAT_MODEL="fake-model",
        OPENAI_TIMEOUT_SECONDS=1.0,
    )


async def _chat(
    client: httpx.AsyncClient, headers: dict[str, str], message: str, **extra: Any
) -> httpx.Response:
    return await client.post("/api/v1/chat", headers=headers, json={"message": message, **extra})


async def _tasks(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get("/api/v1/tasks", headers=headers)).json()[
        "items"
    ]
    return items


async def test_one_tool_call_then_an_answer(openai_app: FastAPI, fake: FakeOpenAI) -> None:
    fake.script = [
        completion(tool_calls=[tool_call("add_task", {"title": "buy milk", "priority": "high"})]),
        completion("Added buy milk for you."),
    ]
    async with running(openai_app) as client:
        headers = bearer((await signed_up(client))["access_token"])
        response = await _chat(client, headers, "please remember milk, it's important")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["response"] == "Added buy milk for you."
        assert [c["name"] for c in body["tool_calls"]] == ["add_task"]
        assert body["tool_calls"][0]["arguments"] == {"title": "buy milk", "priority": "high"}
        assert body["tool_calls"][0]["result"]["status"] == "ok"
        assert [(t["title"], t["priority"]) for t in await _tasks(client, headers)] == [
            ("buy milk", "high")
        ]

    first, second = fake.requests
    assert first["model"] == "fake-model"
    assert {t["function"]["name"] for t in first["tools"]} == {
        "add_task",
        "list_tasks",
        "complete_task",
        "update_task",
        "delete_task",
    }
    assert first["messages"][0]["role"] == "system"
    assert first["messages"][-1] == {
        "role": "user",
        "content": "please remember milk, it's important",
    }
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["tool_call_id"] == "call_1"
    assert json.loads(tool_message["content"])["task"]["title"] == "buy milk"


async def test_several_rounds_and_the_conversation_history(
    openai_app: FastAPI, fake: FakeOpenAI
) -> None:
    async with running(openai_app) as client:
        headers = bearer((await signed_up(client))["access_token"])
        fake.script = [
            completion(tool_calls=[tool_call("add_task", {"title": "call mum"})]),
            completion("Done."),
        ]
        first = (await _chat(client, headers, "add call mum")).json()
        fake.script = [
            completion(tool_calls=[tool_call("list_tasks", {"status": "pending"}, "a")]),
            completion(tool_calls=[tool_call("complete_task", {"task": "call mum"}, "b")]),
            completion("Marked call mum as done."),
        ]
        second = await _chat(
            client,
            headers,
            "finish the first pending one",
            conversation_id=first["conversation_id"],
        )
        body = second.json()
        assert [c["name"] for c in body["tool_calls"]] == ["list_tasks", "complete_task"]
        assert (await _tasks(client, headers))[0]["completed"] is True
    history = fake.requests[2]["messages"]
    assert [m["role"] for m in history[1:3]] == ["user", "assistant"]
    assert history[1]["content"] == "add call mum"


async def test_malformed_tool_arguments_are_reported_back_to_the_model(
    openai_app: FastAPI, fake: FakeOpenAI
) -> None:
    fake.script = [
        completion(tool_calls=[tool_call("add_task", "{not json")]),
        completion(tool_calls=[tool_call("add_task", {"priority": "high"}, "c2")]),
        completion(tool_calls=[tool_call("no_such_tool", {}, "c3")]),
        completion("Sorry, I could not add that."),
    ]
    async with running(openai_app) as client:
        headers = bearer((await signed_up(client))["access_token"])
        response = await _chat(client, headers, "add something")
        assert response.status_code == 200
        calls = response.json()["tool_calls"]
        assert [c["result"]["status"] for c in calls] == ["error", "error", "error"]
        assert await _tasks(client, headers) == []
    fed_back = [json.loads(r["messages"][-1]["content"]) for r in fake.requests[1:]]
    assert "not a JSON object" in fed_back[0]["error"]
    assert fed_back[1]["error"] == "invalid arguments"
    assert "unknown tool" in fed_back[2]["error"]


async def test_a_provider_timeout_is_503_and_keeps_the_users_message(
    openai_app: FastAPI, fake: FakeOpenAI
) -> None:
    fake.script = [("sleep", 3.0)]
    async with running(openai_app) as client:
        headers = bearer((await signed_up(client))["access_token"])
        response = await _chat(client, headers, "add buy bread")
        assert_envelope(response, 503, "SERVICE_UNAVAILABLE")
        conversations = (await client.get("/api/v1/conversations", headers=headers)).json()["items"]
        assert len(conversations) == 1
        detail = (
            await client.get(f"/api/v1/conversations/{conversations[0]['id']}", headers=headers)
        ).json()
        assert [(m["role"], m["content"]) for m in detail["messages"]] == [
            ("user", "add buy bread")
        ]


async def test_a_provider_error_is_503_and_its_tool_work_is_not_half_done(
    openai_app: FastAPI, fake: FakeOpenAI
) -> None:
    fake.script = [
        completion(tool_calls=[tool_call("add_task", {"title": "half done"})]),
        ("status", 500),
    ]
    async with running(openai_app) as client:
        headers = bearer((await signed_up(client))["access_token"])
        response = await _chat(client, headers, "add half done")
        assert_envelope(response, 503, "SERVICE_UNAVAILABLE")
        assert await _tasks(client, headers) == []


async def test_an_unreachable_provider_is_503(app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory(CHAT_PROVIDER="openai", OPENAI_BASE_URL="http://127.0.0.1:1/v1")
    async with running(app) as client:
        headers = bearer((await signed_up(client))["access_token"])
        assert_envelope(await _chat(client, headers, "hello"), 503, "SERVICE_UNAVAILABLE")


async def test_the_rounds_are_bounded(openai_app: FastAPI, fake: FakeOpenAI) -> None:
    fake.script = [completion(tool_calls=[tool_call("list_tasks", {}, f"r{i}")]) for i in range(20)]
    async with running(openai_app) as client:
        headers = bearer((await signed_up(client))["access_token"])
        response = await _chat(client, headers, "loop forever")
        assert response.status_code == 200
        assert "too many steps" in response.json()["response"]
    assert len(fake.requests) == 6


async def test_tool_calls_past_the_bound_run_nothing_and_the_model_is_told(
    app_factory: Callable[..., FastAPI], fake: FakeOpenAI
) -> None:
    app = app_factory(
        CHAT_PROVIDER="openai",
        OPENAI_BASE_URL=f"http://127.0.0.1:{fake.port}/v1",
        CHAT_MODEL="fake-model",
        OPENAI_TIMEOUT_SECONDS=1.0,
        CHAT_MAX_TOOL_CALLS=3,
    )
    fake.script = [
        completion(
            tool_calls=[tool_call("add_task", {"title": f"task {i}"}, f"c{i}") for i in range(8)]
        ),
        completion("I added what I could."),
    ]
    async with running(app) as client:
        headers = bearer((await signed_up(client))["access_token"])
        response = await _chat(client, headers, "add eight tasks")
        assert response.status_code == 200, response.text
        body = response.json()
        assert [c["arguments"]["title"] for c in body["tool_calls"]] == [
            "task 0",
            "task 1",
            "task 2",
        ]
        assert body["response"].startswith("I added what I could.\n")
        assert "I stopped after 3 tool calls" in body["response"]
        assert sorted(t["title"] for t in await _tasks(client, headers)) == [
            "task 0",
            "task 1",
            "task 2",
        ]
    tool_messages = [m for m in fake.requests[1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == [f"c{i}" for i in range(8)]
    results = [json.loads(m["content"]) for m in tool_messages]
    assert [r["status"] for r in results[:3]] == ["ok"] * 3
    assert results[3:] == [{"status": "error", "error": "too many tool calls for one message"}] * 5
