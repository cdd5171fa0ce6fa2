"""`OwnedTask`: a task of the caller's, loaded by id and owner, else 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gatehouse.auth.dependencies import CurrentCaller
from gatehouse.core.db import DbDep
from gatehouse.core.ids import parse_id
from gatehouse.tasks import service as task_service
from gatehouse.tasks.exceptions import TaskNotFound
from gatehouse.tasks.models import Task


async def owned_task(task_id: str, caller: CurrentCaller, db: DbDep) -> Task:
    """The caller's task of the path; anyone else's, or none, is 404."""
    return await task_service.get_task(
        db, owner_id=caller.id, task_id=parse_id(task_id, not_found=TaskNotFound)
    )


OwnedTask = Annotated[Task, Depends(owned_task)]
