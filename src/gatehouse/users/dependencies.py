"""Users loaded from the path: `VisibleUser` (read) and `ManagedUser` (admin changes)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from gatehouse.auth.dependencies import AdminUser, CurrentUser
from gatehouse.core.db import DbDep
from gatehouse.core.ids import parse_id
from gatehouse.users import service as users_service
from gatehouse.users.exceptions import UserNotFound
from gatehouse.users.models import User


async def visible_user(user_id: str, actor: CurrentUser, db: DbDep) -> User:
    """The user of the path as `actor` may see it: admins anyone (else 404), others only
    themselves (403 for any other id, well-formed or not)."""
    try:
        target_id: uuid.UUID | None = uuid.UUID(user_id)
    except ValueError:
        target_id = None
    return await users_service.get_visible_user(db, actor=actor, user_id=target_id)


async def managed_user(user_id: str, _admin: AdminUser, db: DbDep) -> User:
    """The user of the path, for an admin to change; 404 when there is none."""
    return await users_service.get_user(db, user_id=parse_id(user_id, not_found=UserNotFound))


VisibleUser = Annotated[User, Depends(visible_user)]
ManagedUser = Annotated[User, Depends(managed_user)]
