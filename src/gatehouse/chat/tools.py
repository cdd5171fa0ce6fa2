"""The task tools: one registry for the built-in assistant, the OpenAI-compatible one and MCP.

Each tool is a typed function with a JSON schema (from its Pydantic arguments) that calls
`tasks.service` as the current user (a `Caller`), in the caller's transaction. A tool that
names a task accepts an id or a title; an unknown or ambiguous title gets a clarifying
result rather than a guess or an error, and a refusal of the tasks service (such as
TaskLimitReached) is an error result with its code.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.core.errors import AppError
from gatehouse.core.inputs import string_problem
from gatehouse.core.pagination import PageParams
from gatehouse.tasks import service as task_service
from gatehouse.tasks.exceptions import TaskLimitReached
from gatehouse.tasks.models import Priority, Task
from gatehouse.tasks.schemas import DueDate

LIST_LIMIT = 50


@dataclass(frozen=True)
class Caller:
    """Whom the tools act for, and that user's bound on tasks (TASKS_MAX_PER_USER)."""

    user_id: uuid.UUID
    max_tasks: int


class ToolArguments(BaseModel):
    """Arguments a model (or an MCP client) sends: plain text only, as the HTTP input
    guard requires of every request, since they do not pass through it."""

    @field_validator("*", mode="before")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        if isinstance(value, str) and string_problem(value) is not None:
            raise ValueError("must not contain control characters")
        return value


class AddTaskArgs(ToolArguments):
    title: str = Field(min_length=1, max_length=200, description="What to do")
    description: str | None = Field(default=None, max_length=1000)
    priority: Priority = Priority.MEDIUM
    due_date: DueDate = None


class ListTasksArgs(ToolArguments):
    status: Literal["all", "pending", "completed"] = Field(
        default="all", description="Which tasks to list"
    )
    q: str | None = Field(default=None, max_length=200, description="Words in title or description")


class TaskRef(ToolArguments):
    task: str = Field(min_length=1, max_length=200, description="The task's id or its title")


class UpdateTaskArgs(TaskRef):
    title: str | None = Field(default=None, min_length=1, max_length=200, description="New title")
    description: str | None = Field(default=None, max_length=1000)
    priority: Priority | None = None
    due_date: DueDate = None
    completed: bool | None = None


def task_summary(task: Task) -> dict[str, Any]:
    return {
        "id": str(task.id),
        "title": task.title,
        "completed": task.completed,
        "priority": task.priority,
        "due_date": task.due_date.isoformat() if task.due_date else None,
    }


async def resolve_task(db: AsyncSession, *, user_id: uuid.UUID, ref: str) -> Task | dict[str, Any]:
    """The task `ref` names (id or exact title), or a result asking which one is meant."""
    try:
        task_id = uuid.UUID(ref)
    except ValueError:
        task_id = None
    if task_id is not None:
        found = await task_service.find_task(db, owner_id=user_id, task_id=task_id)
        if found is not None:
            return found
    matches = await task_service.find_tasks_by_title(db, owner_id=user_id, title=ref)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        similar = await task_service.list_tasks(
            db, owner_id=user_id, params=PageParams(page_size=5), q=ref
        )
        if len(similar.items) == 1:
            return similar.items[0]
        return {
            "status": "not_found" if not similar.items else "ambiguous",
            "query": ref,
            "candidates": [task_summary(task) for task in similar.items],
        }
    return {"status": "ambiguous", "query": ref, "candidates": [task_summary(t) for t in matches]}


def error_result(error: AppError) -> dict[str, Any]:
    """A refusal of the tasks service, as a result the model can read."""
    return {"status": "error", "code": error.code, "error": error.detail_message, **error.details}


async def add_task(db: AsyncSession, caller: Caller, args: AddTaskArgs) -> dict[str, Any]:
    try:
        task = await task_service.add_task(
            db,
            owner_id=caller.user_id,
            max_tasks=caller.max_tasks,
            title=args.title,
            description=args.description,
            priority=args.priority,
            due_date=args.due_date,
        )
    except TaskLimitReached as error:  # nothing was written: the turn goes on
        return error_result(error)
    return {"status": "ok", "task": task_summary(task)}


async def list_tasks(db: AsyncSession, caller: Caller, args: ListTasksArgs) -> dict[str, Any]:
    completed = {"all": None, "pending": False, "completed": True}[args.status]
    page = await task_service.list_tasks(
        db,
        owner_id=caller.user_id,
        params=PageParams(page_size=LIST_LIMIT),
        completed=completed,
        q=args.q,
        sort="created_at",
    )
    return {
        "status": "ok",
        "filter": args.status,
        "total": page.total,
        "tasks": [task_summary(task) for task in page.items],
    }


async def _change(
    db: AsyncSession, caller: Caller, ref: str, fields: dict[str, Any]
) -> dict[str, Any]:
    target = await resolve_task(db, user_id=caller.user_id, ref=ref)
    if isinstance(target, dict):
        return target
    await task_service.change_task(db, task=target, fields=fields)
    return {"status": "ok", "task": task_summary(target)}


async def complete_task(db: AsyncSession, caller: Caller, args: TaskRef) -> dict[str, Any]:
    return await _change(db, caller, args.task, {"completed": True})


async def update_task(db: AsyncSession, caller: Caller, args: UpdateTaskArgs) -> dict[str, Any]:
    fields = args.model_dump(exclude_unset=True, exclude={"task"})
    fields = {k: v for k, v in fields.items() if v is not None or k in ("description", "due_date")}
    if not fields:
        return {"status": "nothing_to_change", "query": args.task}
    return await _change(db, caller, args.task, fields)


async def delete_task(db: AsyncSession, caller: Caller, args: TaskRef) -> dict[str, Any]:
    target = await resolve_task(db, user_id=caller.user_id, ref=args.task)
    if isinstance(target, dict):
        return target
    summary = task_summary(target)
    await task_service.delete_task(db, task=target)
    return {"status": "ok", "task": summary}


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: type[BaseModel]
    run: Callable[[AsyncSession, Caller, Any], Awaitable[dict[str, Any]]]

    @property
    def parameters(self) -> dict[str, Any]:
        return self.arguments.model_json_schema()


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool("add_task", "Add a task to the user's list.", AddTaskArgs, add_task),
        Tool(
            "list_tasks",
            "List the user's tasks: all, pending or completed.",
            ListTasksArgs,
            list_tasks,
        ),
        Tool(
            "complete_task",
            "Mark one of the user's tasks as done (by id or title).",
            TaskRef,
            complete_task,
        ),
        Tool(
            "update_task",
            "Change a task (by id or title): title, description, priority, due date, completed.",
            UpdateTaskArgs,
            update_task,
        ),
        Tool(
            "delete_task", "Delete one of the user's tasks (by id or title).", TaskRef, delete_task
        ),
    )
}


async def call_tool(
    db: AsyncSession, *, caller: Caller, name: str, arguments: dict[str, Any]
) -> dict[str, Any]:
    """Run a tool as the caller. Unknown tools, invalid arguments and refusals (the task
    limit) are results, not errors, so that a model can read them and correct itself."""
    tool = TOOLS.get(name)
    if tool is None:
        return {"status": "error", "error": f"unknown tool {name!r}", "tools": sorted(TOOLS)}
    try:
        args = tool.arguments.model_validate(arguments)
    except ValidationError as exc:
        problems = [
            {"loc": [str(p) for p in err["loc"]], "msg": err["msg"]} for err in exc.errors()
        ]
        return {"status": "error", "error": "invalid arguments", "details": problems}
    return await tool.run(db, caller, args)
