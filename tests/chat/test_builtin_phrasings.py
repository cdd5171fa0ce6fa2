"""The built-in assistant, table-driven: phrasing -> tool calls -> the tasks afterwards."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.helpers import bearer, signed_up

TODAY = date.today()


def upcoming(weekday: int) -> str:
    return (TODAY + timedelta(days=(weekday - TODAY.weekday()) % 7 or 7)).isoformat()


TOMORROW = (TODAY + timedelta(days=1)).isoformat()
IN_3_DAYS = (TODAY + timedelta(days=3)).isoformat()
NEXT_WEEK = (TODAY + timedelta(days=7)).isoformat()
FRIDAY, MONDAY = upcoming(4), upcoming(0)

MILK = {"title": "buy milk"}
MUM = {"title": "call mum"}
DONE_BILLS = {"title": "pay bills", "completed": True}


@dataclass
class Case:
    message: str
    calls: list[str]
    setup: list[dict[str, Any]] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    has: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    count: int | None = None
    says: str | None = None


CASES: list[Case] = [
    # adding
    Case(
        "add a task to buy milk",
        ["add_task"],
        has=[{"title": "buy milk", "priority": "medium"}],
        count=1,
    ),
    Case("add buy milk", ["add_task"], has=[MILK]),
    Case("Add Buy Milk.", ["add_task"], has=[MILK]),
    Case(
        "create a task called water the plants", ["add_task"], has=[{"title": "water the plants"}]
    ),
    Case("remind me to call mum", ["add_task"], has=[MUM]),
    Case("I need to renew my passport", ["add_task"], has=[{"title": "renew my passport"}]),
    Case("please add book dentist to my list", ["add_task"], has=[{"title": "book dentist"}]),
    Case("new task: fix the bike", ["add_task"], has=[{"title": "fix the bike"}]),
    Case(
        "add milk and eggs",
        ["add_task", "add_task"],
        has=[{"title": "milk"}, {"title": "eggs"}],
        count=2,
    ),
    Case(
        "add bread, butter and jam",
        ["add_task"] * 3,
        has=[{"title": "bread"}, {"title": "butter"}, {"title": "jam"}],
    ),
    Case("add buy milk tomorrow", ["add_task"], has=[{"title": "buy milk", "due_date": TOMORROW}]),
    Case(
        "remind me to call mum next friday",
        ["add_task"],
        has=[{"title": "call mum", "due_date": FRIDAY}],
    ),
    Case("add pay rent by monday", ["add_task"], has=[{"title": "pay rent", "due_date": MONDAY}]),
    Case(
        "add submit report in 3 days",
        ["add_task"],
        has=[{"title": "submit report", "due_date": IN_3_DAYS}],
    ),
    Case(
        "add plan trip next week", ["add_task"], has=[{"title": "plan trip", "due_date": NEXT_WEEK}]
    ),
    Case(
        "add file taxes on 2030-04-15",
        ["add_task"],
        has=[{"title": "file taxes", "due_date": "2030-04-15"}],
    ),
    Case(
        "add clean garage today",
        ["add_task"],
        has=[{"title": "clean garage", "due_date": TODAY.isoformat()}],
    ),
    Case(
        "add fix the leak, high priority",
        ["add_task"],
        has=[{"title": "fix the leak", "priority": "high"}],
    ),
    Case(
        "add fix the leak with high priority",
        ["add_task"],
        has=[{"title": "fix the leak", "priority": "high"}],
    ),
    Case(
        "add water plants low priority",
        ["add_task"],
        has=[{"title": "water plants", "priority": "low"}],
    ),
    Case(
        "add call the bank urgently tomorrow",
        ["add_task"],
        has=[{"title": "call the bank", "priority": "high", "due_date": TOMORROW}],
    ),
    Case(
        "add read a book, not urgent",
        ["add_task"],
        has=[{"title": "read a book", "priority": "low"}],
    ),
    Case(
        "remind me to send the invoice tomorrow, high priority",
        ["add_task"],
        has=[{"title": "send the invoice", "priority": "high", "due_date": TOMORROW}],
    ),
    # listing
    Case("what are my tasks?", ["list_tasks"], setup=[MILK, DONE_BILLS], says="buy milk"),
    Case("what's on my list", ["list_tasks"], setup=[MILK], says="buy milk"),
    Case("show my tasks", ["list_tasks"], setup=[MILK], says="buy milk"),
    Case("list tasks", ["list_tasks"], setup=[MILK], says="buy milk"),
    Case("tasks", ["list_tasks"], setup=[MILK], says="buy milk"),
    Case("show pending tasks", ["list_tasks"], setup=[MILK, DONE_BILLS], says="pending"),
    Case("what's left to do?", ["list_tasks"], setup=[MILK, DONE_BILLS], says="buy milk"),
    Case("show completed tasks", ["list_tasks"], setup=[MILK, DONE_BILLS], says="pay bills"),
    Case("what have I finished?", ["list_tasks"], setup=[DONE_BILLS], says="pay bills"),
    Case("do i have anything to do", ["list_tasks"], setup=[], says="no"),
    # completing
    Case(
        "mark buy milk as done",
        ["complete_task"],
        setup=[MILK],
        has=[{"title": "buy milk", "completed": True}],
    ),
    Case(
        "mark buy milk done",
        ["complete_task"],
        setup=[MILK],
        has=[{"title": "buy milk", "completed": True}],
    ),
    Case(
        "finish call mum",
        ["complete_task"],
        setup=[MUM],
        has=[{"title": "call mum", "completed": True}],
    ),
    Case(
        "complete buy milk",
        ["complete_task"],
        setup=[MILK],
        has=[{"title": "buy milk", "completed": True}],
    ),
    Case(
        "I finished buy milk",
        ["complete_task"],
        setup=[MILK],
        has=[{"title": "buy milk", "completed": True}],
    ),
    Case(
        "buy milk is done",
        ["complete_task"],
        setup=[MILK],
        has=[{"title": "buy milk", "completed": True}],
    ),
    Case(
        "check off BUY MILK",
        ["complete_task"],
        setup=[MILK],
        has=[{"title": "buy milk", "completed": True}],
    ),
    Case(
        "mark buy milk and call mum as done",
        ["complete_task", "complete_task"],
        setup=[MILK, MUM],
        has=[{"title": "buy milk", "completed": True}, {"title": "call mum", "completed": True}],
    ),
    Case(
        "mark pay bills as not done",
        ["update_task"],
        setup=[DONE_BILLS],
        has=[{"title": "pay bills", "completed": False}],
    ),
    Case(
        "reopen pay bills",
        ["update_task"],
        setup=[DONE_BILLS],
        has=[{"title": "pay bills", "completed": False}],
    ),
    # updating
    Case(
        "rename buy milk to buy oat milk",
        ["update_task"],
        setup=[MILK],
        has=[{"title": "buy oat milk"}],
        missing=["buy milk"],
    ),
    Case("change call mum to call dad", ["update_task"], setup=[MUM], has=[{"title": "call dad"}]),
    Case(
        "update buy milk to buy soy milk",
        ["update_task"],
        setup=[MILK],
        has=[{"title": "buy soy milk"}],
    ),
    Case(
        "make buy milk high priority",
        ["update_task"],
        setup=[MILK],
        has=[{"title": "buy milk", "priority": "high"}],
    ),
    Case(
        "set the priority of call mum to low",
        ["update_task"],
        setup=[MUM],
        has=[{"title": "call mum", "priority": "low"}],
    ),
    Case(
        "move buy milk to tomorrow",
        ["update_task"],
        setup=[MILK],
        has=[{"title": "buy milk", "due_date": TOMORROW}],
    ),
    Case(
        "call mum is due next friday",
        ["update_task"],
        setup=[MUM],
        has=[{"title": "call mum", "due_date": FRIDAY}],
    ),
    Case(
        "change buy milk to monday",
        ["update_task"],
        setup=[MILK],
        has=[{"title": "buy milk", "due_date": MONDAY}],
    ),
    # deleting
    Case("delete buy milk", ["delete_task"], setup=[MILK, MUM], missing=["buy milk"], count=1),
    Case("remove call mum", ["delete_task"], setup=[MUM], missing=["call mum"], count=0),
    Case("get rid of pay bills", ["delete_task"], setup=[DONE_BILLS], count=0),
    Case("cancel buy milk please", ["delete_task"], setup=[MILK], count=0),
    # several actions in one message
    Case(
        "add milk and show my list",
        ["add_task", "list_tasks"],
        has=[{"title": "milk"}],
        says="milk",
    ),
    Case(
        "add eggs. then mark buy milk as done",
        ["add_task", "complete_task"],
        setup=[MILK],
        has=[{"title": "eggs"}, {"title": "buy milk", "completed": True}],
    ),
    Case(
        "delete buy milk and add buy oat milk",
        ["delete_task", "add_task"],
        setup=[MILK],
        has=[{"title": "buy oat milk"}],
        missing=["buy milk"],
    ),
    # references to earlier messages
    Case(
        "mark it done",
        ["complete_task"],
        before=["add buy milk"],
        has=[{"title": "buy milk", "completed": True}],
    ),
    Case("delete it", ["delete_task"], before=["add call mum"], count=0),
    Case(
        "make it high priority",
        ["update_task"],
        before=["add call mum"],
        has=[{"title": "call mum", "priority": "high"}],
    ),
    Case(
        "move it to tomorrow",
        ["update_task"],
        before=["add call mum"],
        has=[{"title": "call mum", "due_date": TOMORROW}],
    ),
    Case(
        "mark the second one done",
        ["complete_task"],
        setup=[MILK, MUM],
        before=["show my tasks"],
        has=[{"title": "call mum", "completed": True}, {"title": "buy milk", "completed": False}],
    ),
    Case(
        "delete them",
        ["delete_task", "delete_task"],
        setup=[MILK, MUM],
        before=["show my tasks"],
        count=0,
    ),
    Case(
        "mark both done",
        ["complete_task", "complete_task"],
        before=["add milk and eggs"],
        has=[{"title": "milk", "completed": True}, {"title": "eggs", "completed": True}],
    ),
    # unknown or ambiguous titles: a question, not a guess
    Case("delete walk the dog", ["delete_task"], setup=[MILK], count=1, says="couldn't find"),
    Case(
        "mark milk done",
        ["complete_task"],
        setup=[MILK],
        has=[{"title": "buy milk", "completed": True}],
    ),
    Case(
        "delete milk",
        ["delete_task"],
        setup=[MILK, {"title": "buy oat milk"}],
        count=2,
        says="Which one",
    ),
    Case("mark it done", [], says="Which task"),
    # not task requests: a polite answer and no tool call
    Case("hello", [], says="Hello"),
    Case("thanks!", [], says="welcome"),
    Case("what's the weather like?", [], says="only help with your tasks"),
    Case("tell me a joke", [], says="only help with your tasks"),
    Case("help", [], says="I can manage your tasks"),
    Case("what can you do?", [], says="add"),
]


async def _create(client: httpx.AsyncClient, headers: dict[str, str], task: dict[str, Any]) -> None:
    response = await client.post("/api/v1/tasks", headers=headers, json=task)
    assert response.status_code == 201


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{i:02d}-{c.message[:40]}" for i, c in enumerate(CASES)]
)
async def test_phrasing(client: httpx.AsyncClient, case: Case) -> None:
    account = await signed_up(client)
    headers = bearer(account["access_token"])
    for task in case.setup:
        await _create(client, headers, task)
    conversation_id = None
    for earlier in case.before:
        response = await client.post(
            "/api/v1/chat",
            headers=headers,
            json={"message": earlier, "conversation_id": conversation_id},
        )
        conversation_id = response.json()["conversation_id"]

    response = await client.post(
        "/api/v1/chat",
        headers=headers,
        json={"message": case.message, "conversation_id": conversation_id},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [call["name"] for call in body["tool_calls"]] == case.calls, body
    if case.says:
        assert case.says.lower() in body["response"].lower(), body["response"]

    tasks = (await client.get("/api/v1/tasks", headers=headers, params={"page_size": 100})).json()[
        "items"
    ]
    titles = {task["title"] for task in tasks}
    for expected in case.has:
        matching = [t for t in tasks if t["title"] == expected["title"]]
        assert matching, (expected, titles)
        for key, value in expected.items():
            assert matching[0][key] == value, (key, matching[0], body)
    for title in case.missing:
        assert title not in titles
    if case.count is not None:
        assert len(tasks) == case.count, tasks


def test_there_are_at_least_sixty_phrasings() -> None:
    assert len(CASES) >= 60
