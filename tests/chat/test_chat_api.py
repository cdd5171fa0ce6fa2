"""The chat routes: conversations, their messages, and isolation between users."""

from __future__ import annotations

import uuid

import httpx

from tests.helpers import assert_envelope, bearer, signed_up


async def test_a_conversation_keeps_its_messages_in_order(client: httpx.AsyncClient) -> None:
    headers = bearer((await signed_up(client))["access_token"])
    long_message = "add " + "x" * 120
    first = await client.post("/api/v1/chat", headers=headers, json={"message": long_message})
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"conversation_id", "response", "tool_calls"}
    conversation_id = body["conversation_id"]
    second = await client.post(
        "/api/v1/chat",
        headers=headers,
        json={"message": "hello", "conversation_id": conversation_id},
    )
    assert second.json()["conversation_id"] == conversation_id
    assert second.json()["tool_calls"] == []

    listing = (await client.get("/api/v1/conversations", headers=headers)).json()
    assert listing["total"] == 1
    (item,) = listing["items"]
    assert set(item) == {"id", "title", "created_at", "updated_at"}
    assert item["title"] == long_message[:80]

    detail = (await client.get(f"/api/v1/conversations/{conversation_id}", headers=headers)).json()
    roles = [m["role"] for m in detail["messages"]]
    assert roles == ["user", "assistant", "user", "assistant"]
    assistant = detail["messages"][1]
    assert assistant["content"] == body["response"]
    assert assistant["tool_calls"] == body["tool_calls"]
    assert detail["messages"][0]["tool_calls"] == []
    for message in detail["messages"]:
        assert set(message) == {"id", "role", "content", "tool_calls", "created_at"}


async def test_conversations_are_listed_most_recently_updated_first(
    client: httpx.AsyncClient,
) -> None:
    headers = bearer((await signed_up(client))["access_token"])
    older = (await client.post("/api/v1/chat", headers=headers, json={"message": "first"})).json()
    await client.post("/api/v1/chat", headers=headers, json={"message": "second"})
    await client.post(
        "/api/v1/chat",
        headers=headers,
        json={"message": "again", "conversation_id": older["conversation_id"]},
    )
    titles = [
        c["title"]
        for c in (await client.get("/api/v1/conversations", headers=headers)).json()["items"]
    ]
    assert titles == ["first", "second"]


async def test_another_users_conversation_is_404_everywhere(client: httpx.AsyncClient) -> None:
    alice = bearer((await signed_up(client))["access_token"])
    bob = bearer((await signed_up(client))["access_token"])
    conversation_id = (
        await client.post("/api/v1/chat", headers=alice, json={"message": "add secret plan"})
    ).json()["conversation_id"]
    path = f"/api/v1/conversations/{conversation_id}"
    assert_envelope(await client.get(path, headers=bob), 404, "NOT_FOUND")
    assert_envelope(await client.delete(path, headers=bob), 404, "NOT_FOUND")
    hijack = await client.post(
        "/api/v1/chat",
        headers=bob,
        json={"message": "delete secret plan", "conversation_id": conversation_id},
    )
    assert_envelope(hijack, 404, "NOT_FOUND")
    assert (await client.get("/api/v1/conversations", headers=bob)).json()["total"] == 0
    for bad in (str(uuid.uuid4()), "not-an-id"):
        assert_envelope(
            await client.get(f"/api/v1/conversations/{bad}", headers=alice), 404, "NOT_FOUND"
        )
    # Bob's assistant cannot touch Alice's tasks either.
    await client.post("/api/v1/chat", headers=bob, json={"message": "delete secret plan"})
    assert (await client.get("/api/v1/tasks", headers=alice)).json()["total"] == 1


async def test_deleting_a_conversation(client: httpx.AsyncClient) -> None:
    headers = bearer((await signed_up(client))["access_token"])
    conversation_id = (
        await client.post("/api/v1/chat", headers=headers, json={"message": "hi"})
    ).json()["conversation_id"]
    assert (
        await client.delete(f"/api/v1/conversations/{conversation_id}", headers=headers)
    ).status_code == 204
    assert_envelope(
        await client.get(f"/api/v1/conversations/{conversation_id}", headers=headers),
        404,
        "NOT_FOUND",
    )


async def test_chat_on_the_user_path_is_for_yourself_only(client: httpx.AsyncClient) -> None:
    me = await signed_up(client)
    other = await signed_up(client)
    headers = bearer(me["access_token"])
    mine = await client.post(
        f"/api/{me['user']['id']}/chat", headers=headers, json={"message": "add tea"}
    )
    assert mine.status_code == 200
    assert mine.json()["tool_calls"][0]["name"] == "add_task"
    theirs = await client.post(
        f"/api/{other['user']['id']}/chat", headers=headers, json={"message": "add tea"}
    )
    assert_envelope(theirs, 403, "FORBIDDEN")


async def test_chat_validation(client: httpx.AsyncClient) -> None:
    headers = bearer((await signed_up(client))["access_token"])
    for body in ({"message": ""}, {"message": "x" * 10_001}, {}):
        assert_envelope(
            await client.post("/api/v1/chat", headers=headers, json=body), 422, "VALIDATION_ERROR"
        )
    assert_envelope(
        await client.post("/api/v1/chat", json={"message": "hi"}), 401, "NOT_AUTHENTICATED"
    )
    assert_envelope(
        await client.get("/api/v1/conversations", headers=headers, params={"page_size": 500}),
        422,
        "VALIDATION_ERROR",
    )


async def test_a_due_date_past_the_calendar_is_part_of_the_title_not_a_500(
    client: httpx.AsyncClient,
) -> None:
    """`in 3000000 days` overflowed the date type (found by the parsing properties)."""
    headers = bearer((await signed_up(client))["access_token"])
    message = "add pay rent in 3000000 days"
    response = await client.post("/api/v1/chat", headers=headers, json={"message": message})
    assert response.status_code == 200, response.text
    tasks = (await client.get("/api/v1/tasks", headers=headers)).json()["items"]
    assert [(task["title"], task["due_date"]) for task in tasks] == [
        ("pay rent in 3000000 days", None)
    ]
