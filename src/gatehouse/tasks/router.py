"""Tasks API: /api/v1/tasks, each user's own list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from gatehouse.auth.dependencies import CurrentCaller
from gatehouse.core.config import SettingsDep
from gatehouse.core.db import DbDep
from gatehouse.core.errors import InvalidToken, NotAuthenticated, RateLimited, ValidationFailed
from gatehouse.core.openapi import error_responses
from gatehouse.core.pagination import Page, PageParamsDep
from gatehouse.core.ratelimit import default_rate_limit
from gatehouse.tasks import service as task_service
from gatehouse.tasks.dependencies import OwnedTask
from gatehouse.tasks.exceptions import TaskLimitReached, TaskNotFound
from gatehouse.tasks.schemas import TaskCreate, TaskRead, TaskReplace, TaskSort, TaskUpdate

router = APIRouter(
    prefix="/api/v1/tasks",
    tags=["tasks"],
    dependencies=[Depends(default_rate_limit)],
    responses=error_responses(NotAuthenticated, InvalidToken, RateLimited),
)


@router.get("", responses=error_responses(ValidationFailed))
async def list_tasks(
    caller: CurrentCaller,
    db: DbDep,
    params: PageParamsDep,
    completed: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="In title or description")] = None,
    sort: TaskSort = "-created_at",
) -> Page[TaskRead]:
    """Your tasks, newest first by default. Null due dates sort last either way."""
    result = await task_service.list_tasks(
        db, owner_id=caller.id, params=params, completed=completed, q=q, sort=sort
    )
    return Page.of(result, [TaskRead.model_validate(task) for task in result.items])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(TaskLimitReached, ValidationFailed),
)
async def create_task(
    data: TaskCreate, caller: CurrentCaller, db: DbDep, response: Response, settings: SettingsDep
) -> TaskRead:
    """Add a task to your list (409 `TASK_LIMIT_REACHED` at TASKS_MAX_PER_USER tasks)."""
    task = await task_service.create_task(
        db, owner_id=caller.id, max_tasks=settings.TASKS_MAX_PER_USER, fields=data.model_dump()
    )
    response.headers["Location"] = f"/api/v1/tasks/{task.id}"
    return TaskRead.model_validate(task)


@router.get("/{task_id}", responses=error_responses(TaskNotFound))
async def read_task(task: OwnedTask) -> TaskRead:
    """One of your tasks (another user's is 404)."""
    return TaskRead.model_validate(task)


@router.patch("/{task_id}", responses=error_responses(TaskNotFound, ValidationFailed))
async def update_task(task: OwnedTask, data: TaskUpdate, db: DbDep) -> TaskRead:
    """Change some fields of one of your tasks."""
    fields = data.model_dump(exclude_unset=True)
    updated = await task_service.update_task(db, task=task, fields=fields)
    return TaskRead.model_validate(updated)


@router.put("/{task_id}", responses=error_responses(TaskNotFound, ValidationFailed))
async def replace_task(task: OwnedTask, data: TaskReplace, db: DbDep) -> TaskRead:
    """Replace one of your tasks; fields left out take their defaults."""
    updated = await task_service.update_task(db, task=task, fields=data.model_dump())
    return TaskRead.model_validate(updated)


@router.delete(
    "/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(TaskNotFound)
)
async def delete_task(task: OwnedTask, db: DbDep) -> None:
    """Delete one of your tasks."""
    await task_service.remove_task(db, task=task)
