"""Users API: /api/v1/users."""

from __future__ import annotations

from fastapi import APIRouter

from gatehouse.auth.dependencies import CurrentUser
from gatehouse.core.openapi import error_responses
from gatehouse.users.schemas import UserRead

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", responses=error_responses(401))
async def read_me(user: CurrentUser) -> UserRead:
    """The current user."""
    return UserRead.model_validate(user)
