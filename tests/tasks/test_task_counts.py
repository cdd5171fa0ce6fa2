"""The kept count of each user's tasks (`task_counts`), which the unfiltered list's `total`
and the TASKS_MAX_PER_USER check read instead of counting every task.

Whatever changes the tasks (the API, the chat's tools, a chat turn that fails and is
rolled back, the pages, deleting the user), the counter must equal a real count.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from gatehouse import migrate
from gatehouse.tasks.models import Task, TaskCount
from gatehouse.users.models import User
from tests.helpers import bearer, running, signed_up

TASKS = "/api/v1/tasks"


async def _counts(app: FastAPI, user_id: str) -> tuple[int, int]:
    """(kept counter, real count) of a user's tasks."""
    async with app.state.sessionmaker() as db:
        kept = await db.scalar(
            select(TaskCount.total).where(TaskCount.user_id == uuid.UUID(user_id))
        )
        real = await db.scalar(select(func.count()).where(Task.user_id == uuid.UUID(user_id)))
    return kept or 0, int(real or 0)


async def test_the_kept_count_follows_every_change_of_the_tasks(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await signed_up(client)
    headers, user_id = bearer(account["access_token"]), account["user"]["id"]
    other = bearer((await signed_up(client))["access_token"])
    assert await _counts(app, user_id) == (0, 0)

    ids = []
    for index in range(5):
        response = await client.post(TASKS, headers=headers, json={"title": f"task {index}"})
        assert response.status_code == 201
        ids.append(response.json()["id"])
    await client.post(TASKS, headers=other, json={"title": "not alice's"})
    assert await _counts(app, user_id) == (5, 5)
    assert (await client.delete(f"{TASKS}/{ids[0]}", headers=headers)).status_code == 204
    assert (await client.delete(f"{TASKS}/{ids[0]}", headers=headers)).status_code == 404
    assert await _counts(app, user_id) == (4, 4)

    chat = "/api/v1/chat"
    for message in ("add a task to buy milk", "delete the task buy milk", "add a task to fly"):
        answer = await client.post(chat, headers=headers, json={"message": message})
        assert answer.status_code == 200, answer.text
    assert await _counts(app, user_id) == (5, 5)

    page = (await client.get(TASKS, headers=headers, params={"page_size": 2})).json()
    assert (page["total"], page["pages"], len(page["items"])) == (5, 3, 2)
    done = (await client.get(TASKS, headers=headers, params={"completed": "false"})).json()
    assert done["total"] == 5  # a filtered list still counts its rows

    async with app.state.sessionmaker() as db:  # the account goes, its counter with it
        await db.delete(await db.get_one(User, uuid.UUID(user_id)))
        await db.commit()
    assert await _counts(app, user_id) == (0, 0)


async def test_a_tasks_limit_reads_the_kept_count(app_factory: Callable[..., FastAPI]) -> None:
    async with running(app_factory(TASKS_MAX_PER_USER=2)) as http:
        headers = bearer((await signed_up(http))["access_token"])
        for expected in (201, 201, 409):
            response = await http.post(TASKS, headers=headers, json={"title": "t"})
            assert response.status_code == expected
        task = (await http.get(TASKS, headers=headers)).json()["items"][0]
        assert (await http.delete(f"{TASKS}/{task['id']}", headers=headers)).status_code == 204
        assert (await http.post(TASKS, headers=headers, json={"title": "t"})).status_code == 201


async def test_the_migration_counts_the_tasks_already_there(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        await migrate.downgrade(engine, "0008_passkeys")
        user_ids = [uuid.uuid4(), uuid.uuid4()]
        now = datetime.now(UTC)
        async with engine.begin() as connection:
            for number, user_id in enumerate(user_ids):
                await connection.execute(
                    insert(User).values(
                        id=user_id, email=f"m{number}-{user_id.hex}@example.com", password_hash="x"
                    )
                )
            await connection.execute(
                insert(Task),
                [
                    {
                        "id": uuid.uuid4(),
                        "user_id": user_ids[index % 2],
                        "title": "t",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for index in range(7)
                ],
            )
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            kept = (await connection.scalars(text("SELECT total FROM task_counts"))).all()
        assert sorted(kept) == [3, 4]
    finally:
        await engine.dispose()
