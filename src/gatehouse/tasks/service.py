"""Rules about tasks. Every query is scoped by the owner's id here, never filtered later."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.core.db import add_to_counter, utcnow
from gatehouse.core.pagination import PageParams, PageResult, contains_pattern, paginate
from gatehouse.tasks.exceptions import TaskLimitReached, TaskNotFound
from gatehouse.tasks.models import DUE_DATE_MISSING, PRIORITY_RANK, Priority, Task, TaskCount

# Each sort ends with the id so pages never overlap or skip; null due dates sort last.
# Every order is one an index serves, read forwards or backwards (see models.py).
_TASK_ORDER: dict[str, tuple[ColumnElement[Any], ...]] = {
    "created_at": (Task.created_at.asc(), Task.id.asc()),
    "-created_at": (Task.created_at.desc(), Task.id.desc()),
    "due_date": (DUE_DATE_MISSING.asc(), Task.due_date.asc(), Task.id.asc()),
    "-due_date": (DUE_DATE_MISSING.asc(), Task.due_date.desc(), Task.id.desc()),
    "priority": (PRIORITY_RANK.asc(), Task.created_at.asc(), Task.id.asc()),
    "-priority": (PRIORITY_RANK.desc(), Task.created_at.desc(), Task.id.desc()),
    "title": (Task.title.asc(), Task.id.asc()),
    "-title": (Task.title.desc(), Task.id.desc()),
}


async def list_tasks(
    db: AsyncSession,
    *,
    owner_id: uuid.UUID,
    params: PageParams,
    completed: bool | None = None,
    q: str | None = None,
    sort: str = "-created_at",
) -> PageResult[Task]:
    """A page of the owner's tasks; `q` looks in title and description."""
    statement = select(Task).where(Task.user_id == owner_id)
    if completed is not None:
        statement = statement.where(Task.completed == completed)
    if q:
        pattern = contains_pattern(q.lower())
        statement = statement.where(
            or_(
                func.lower(Task.title).like(pattern, escape="\\"),
                func.lower(Task.description).like(pattern, escape="\\"),
            )
        )
    # The unfiltered list's total is the kept counter, not a count over every task.
    total = await count_tasks(db, owner_id=owner_id) if completed is None and not q else None
    return await paginate(db, statement.order_by(*_TASK_ORDER[sort]), params, total=total)


async def get_task(db: AsyncSession, *, owner_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    """The owner's task; anyone else's, or none, is TaskNotFound."""
    task = await find_task(db, owner_id=owner_id, task_id=task_id)
    if task is None:
        raise TaskNotFound()
    return task


async def find_task(db: AsyncSession, *, owner_id: uuid.UUID, task_id: uuid.UUID) -> Task | None:
    """The owner's task with this id, or None."""
    return await db.scalar(select(Task).where(Task.id == task_id, Task.user_id == owner_id))


async def find_tasks_by_title(db: AsyncSession, *, owner_id: uuid.UUID, title: str) -> list[Task]:
    """The owner's tasks whose title is `title` (case-insensitively)."""
    result = await db.scalars(
        select(Task)
        .where(Task.user_id == owner_id, func.lower(Task.title) == title.strip().lower())
        .order_by(Task.created_at.asc())
    )
    return list(result)


async def count_tasks(db: AsyncSession, *, owner_id: uuid.UUID) -> int:
    """How many tasks the owner has (the kept counter: one row)."""
    total = await db.scalar(select(TaskCount.total).where(TaskCount.user_id == owner_id))
    return total or 0


async def add_task(
    db: AsyncSession,
    *,
    owner_id: uuid.UUID,
    max_tasks: int,
    title: str,
    description: str | None = None,
    completed: bool = False,
    priority: Priority = Priority.MEDIUM,
    due_date: date | None = None,
) -> Task:
    """Add a task to the owner's list (flushed, not committed); TaskLimitReached when the
    owner has `max_tasks` (TASKS_MAX_PER_USER) already.

    The count and the insert are not atomic: requests racing at the limit may pass it by
    a few tasks. It is a bound on abuse, not an exact quota.
    """
    if await count_tasks(db, owner_id=owner_id) >= max_tasks:
        raise TaskLimitReached(details={"limit": max_tasks})
    task = Task(
        user_id=owner_id,
        title=title,
        description=description,
        completed=completed,
        priority=priority,
        due_date=due_date,
    )
    db.add(task)
    await db.flush()
    await add_to_counter(db, TaskCount.total, {"user_id": owner_id}, 1)
    return task


async def change_task(db: AsyncSession, *, task: Task, fields: dict[str, Any]) -> Task:
    """Apply `fields` (already validated) to one of the caller's tasks (flushed)."""
    for name, value in fields.items():
        setattr(task, name, value)
    task.updated_at = utcnow()
    await db.flush()
    return task


async def delete_task(db: AsyncSession, *, task: Task) -> None:
    """Remove one of the caller's tasks (flushed)."""
    await db.delete(task)
    await db.flush()
    await add_to_counter(db, TaskCount.total, {"user_id": task.user_id}, -1)


# The use cases of the tasks API: each is one helper above, committed.


async def create_task(
    db: AsyncSession, *, owner_id: uuid.UUID, max_tasks: int, fields: dict[str, Any]
) -> Task:
    """Add a task to the owner's list, unless it holds `max_tasks` already."""
    task = await add_task(db, owner_id=owner_id, max_tasks=max_tasks, **fields)
    await db.commit()
    return task


async def update_task(db: AsyncSession, *, task: Task, fields: dict[str, Any]) -> Task:
    """Change some fields of one of the caller's tasks."""
    await change_task(db, task=task, fields=fields)
    await db.commit()
    return task


async def remove_task(db: AsyncSession, *, task: Task) -> None:
    """Delete one of the caller's tasks."""
    await delete_task(db, task=task)
    await db.commit()
