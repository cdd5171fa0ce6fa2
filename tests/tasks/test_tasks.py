"""Tasks: CRUD, validation, filters, sorting, pagination and isolation between users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import assert_envelope, bearer, running, signed_up

TASKS = "/api/v1/tasks"


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer((await signed_up(client))["access_token"])


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer((await signed_up(client))["access_token"])


async def _add(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await client.post(TASKS, headers=headers, json=fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_and_read_a_task(client: httpx.AsyncClient, alice: dict[str, str]) -> None:
    task = await _add(client, alice, title="Buy milk")
    assert set(task) == {
        "id",
        "title",
        "description",
        "completed",
        "priority",
        "due_date",
        "created_at",
        "updated_at",
    }
    assert (task["completed"], task["priority"], task["due_date"], task["description"]) == (
        False,
        "medium",
        None,
        None,
    )
    assert (await client.get(f"{TASKS}/{task['id']}", headers=alice)).json() == task


async def test_validation(client: httpx.AsyncClient, alice: dict[str, str]) -> None:
    bad_bodies = [
        {"title": ""},
        {"title": "x" * 201},
        {"title": "ok", "description": "d" * 1001},
        {"title": "ok", "priority": "urgent"},
        {"title": "ok", "due_date": "2026-01-01T10:00:00"},
        {"title": "ok", "due_date": "tomorrow"},
        {},
    ]
    for body in bad_bodies:
        assert_envelope(await client.post(TASKS, headers=alice, json=body), 422, "VALIDATION_ERROR")
    task = await _add(client, alice, title="x" * 200, description="d" * 1000, due_date="2026-12-31")
    assert task["due_date"] == "2026-12-31"


@pytest.mark.parametrize(
    "due_date",
    [
        1893456000,
        1893456000.0,
        0,
        True,
        False,
        "2030-01-01T00:00:00",
        "2030-01-01\n",
        "\uff12\uff10\uff13\uff10-01-01",  # fullwidth digits
    ],
)
async def test_due_date_is_only_a_date_string(
    client: httpx.AsyncClient, alice: dict[str, str], due_date: object
) -> None:
    """Pydantic alone reads a number as a Unix time (1893456000 is 2030-01-01) and a bool as
    0 or 1: only the string YYYY-MM-DD or null is a date, on create, replace and update."""
    task = await _add(client, alice, title="dated", due_date="2030-01-01")
    for method, path in (("POST", TASKS), ("PUT", f"{TASKS}/{task['id']}")):
        response = await client.request(
            method, path, headers=alice, json={"title": "t", "due_date": due_date}
        )
        error = assert_envelope(response, 422, "VALIDATION_ERROR")
        assert ["body", "due_date"] in [field["loc"] for field in error["details"]["fields"]]
    patched = await client.patch(
        f"{TASKS}/{task['id']}", headers=alice, json={"due_date": due_date}
    )
    assert_envelope(patched, 422, "VALIDATION_ERROR")
    cleared = await client.patch(f"{TASKS}/{task['id']}", headers=alice, json={"due_date": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["due_date"] is None


async def test_patch_put_and_delete(client: httpx.AsyncClient, alice: dict[str, str]) -> None:
    task = await _add(client, alice, title="Draft", description="first", priority="high")
    path = f"{TASKS}/{task['id']}"
    patched = (await client.patch(path, headers=alice, json={"completed": True})).json()
    assert (patched["completed"], patched["title"], patched["priority"]) == (True, "Draft", "high")
    assert patched["updated_at"] >= task["updated_at"]
    assert_envelope(
        await client.patch(path, headers=alice, json={"title": None}), 422, "VALIDATION_ERROR"
    )

    replaced = (await client.put(path, headers=alice, json={"title": "Final"})).json()
    assert (
        replaced["title"],
        replaced["description"],
        replaced["priority"],
        replaced["completed"],
    ) == ("Final", None, "medium", False)
    assert replaced["created_at"] == task["created_at"]
    assert (await client.delete(path, headers=alice)).status_code == 204
    assert_envelope(await client.get(path, headers=alice), 404, "NOT_FOUND")


async def test_another_users_task_is_404_everywhere_and_never_listed(
    client: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    task = await _add(client, alice, title="Alice's secret")
    path = f"{TASKS}/{task['id']}"
    for method, body in (
        ("GET", None),
        ("PATCH", {"title": "x"}),
        ("PUT", {"title": "x"}),
        ("DELETE", None),
    ):
        assert_envelope(
            await client.request(method, path, headers=bob, json=body), 404, "NOT_FOUND"
        )
    listed = (await client.get(TASKS, headers=bob, params={"q": "secret"})).json()
    assert (listed["total"], listed["items"]) == (0, [])
    unchanged = (await client.get(path, headers=alice)).json()
    assert unchanged == task
    assert_envelope(await client.get(f"{TASKS}/not-an-id", headers=alice), 404, "NOT_FOUND")


async def test_filters_and_literal_search(client: httpx.AsyncClient, alice: dict[str, str]) -> None:
    await _add(client, alice, title="Pay 100% of rent", completed=True)
    await _add(client, alice, title="Buy MILK", description="semi_skimmed")
    await _add(client, alice, title="Call mum")

    def titles(page: dict[str, Any]) -> set[str]:
        return {item["title"] for item in page["items"]}

    done = (await client.get(TASKS, headers=alice, params={"completed": "true"})).json()
    assert titles(done) == {"Pay 100% of rent"}
    pending = (await client.get(TASKS, headers=alice, params={"completed": "false"})).json()
    assert pending["total"] == 2
    assert titles((await client.get(TASKS, headers=alice, params={"q": "milk"})).json()) == {
        "Buy MILK"
    }
    assert titles((await client.get(TASKS, headers=alice, params={"q": "100%"})).json()) == {
        "Pay 100% of rent"
    }
    assert (await client.get(TASKS, headers=alice, params={"q": "%"})).json()["total"] == 1
    assert titles((await client.get(TASKS, headers=alice, params={"q": "k_m"})).json()) == set()
    assert titles((await client.get(TASKS, headers=alice, params={"q": "semi_"})).json()) == {
        "Buy MILK"
    }


async def test_sorting(client: httpx.AsyncClient, alice: dict[str, str]) -> None:
    await _add(client, alice, title="b", priority="low", due_date="2026-03-01")
    await _add(client, alice, title="a", priority="high")
    await _add(client, alice, title="c", priority="medium", due_date="2026-01-01")

    async def order(sort: str) -> list[str]:
        page = (await client.get(TASKS, headers=alice, params={"sort": sort})).json()
        return [item["title"] for item in page["items"]]

    assert await order("-created_at") == ["c", "a", "b"]
    assert await order("created_at") == ["b", "a", "c"]
    assert await order("title") == ["a", "b", "c"]
    assert await order("-title") == ["c", "b", "a"]
    assert await order("priority") == ["b", "c", "a"]
    assert await order("-priority") == ["a", "c", "b"]
    assert await order("due_date") == ["c", "b", "a"]  # null last
    assert await order("-due_date") == ["b", "c", "a"]  # null last either way
    assert_envelope(
        await client.get(TASKS, headers=alice, params={"sort": "user_id"}), 422, "VALIDATION_ERROR"
    )


async def test_pagination(client: httpx.AsyncClient, alice: dict[str, str]) -> None:
    for index in range(25):
        await _add(client, alice, title=f"task {index:02d}")
    first = (await client.get(TASKS, headers=alice)).json()
    assert (
        first["total"],
        first["page"],
        first["page_size"],
        first["pages"],
        len(first["items"]),
    ) == (25, 1, 20, 2, 20)
    second = (await client.get(TASKS, headers=alice, params={"page": 2})).json()
    assert len(second["items"]) == 5
    ids = {item["id"] for item in first["items"]} | {item["id"] for item in second["items"]}
    assert len(ids) == 25
    beyond = (await client.get(TASKS, headers=alice, params={"page": 9})).json()
    assert (beyond["items"], beyond["total"]) == ([], 25)
    for params in ({"page_size": 101}, {"page": 0}, {"page_size": 0}):
        assert_envelope(
            await client.get(TASKS, headers=alice, params=params), 422, "VALIDATION_ERROR"
        )
    hundred = await client.get(TASKS, headers=alice, params={"page_size": 100})
    assert hundred.status_code == 200


async def test_tasks_need_a_token(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get(TASKS), 401, "NOT_AUTHENTICATED")


async def test_a_user_has_at_most_tasks_max_per_user_tasks(
    app_factory: Callable[..., FastAPI],
) -> None:
    async with running(app_factory(TASKS_MAX_PER_USER=3)) as client:
        alice = bearer((await signed_up(client))["access_token"])
        bob = bearer((await signed_up(client))["access_token"])
        first = await _add(client, alice, title="one")
        for title in ("two", "three"):
            await _add(client, alice, title=title)
        refused = await client.post(TASKS, headers=alice, json={"title": "four"})
        error = assert_envelope(refused, 409, "TASK_LIMIT_REACHED")
        assert error["details"] == {"limit": 3}
        assert (await client.get(TASKS, headers=alice)).json()["total"] == 3
        await _add(client, bob, title="bob's own")  # the limit is per user
        # Editing is not adding; deleting makes room.
        patched = await client.patch(f"{TASKS}/{first['id']}", headers=alice, json={"title": "1"})
        assert patched.status_code == 200
        assert (await client.delete(f"{TASKS}/{first['id']}", headers=alice)).status_code == 204
        await _add(client, alice, title="four")
