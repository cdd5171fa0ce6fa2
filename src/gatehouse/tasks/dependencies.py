"""`OwnedTask`: a task of the caller's, loaded by id and owner, else 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gatehouse.auth.dependencies import CurrentUser
from gatehouse.core.db import SessionDep
from gatehouse.core.ids import parse_id
from gatehouse.tasks import service as task_service
from gatehouse.tasks.exceptions import TaskNotFound
from gatehouse.tasks.models import Task


async def owned_task(task_id: str, user: CurrentUser, session: SessionDep) -> Task:
    return await task_service.get_task(
        session, owner_id=user.id, task_id=parse_id(task_id, not_found=TaskNotFound.message)
    )


OwnedTask = Annotated[Task, Depends(owned_task)]
