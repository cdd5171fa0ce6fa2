"""Users API: /api/v1/users (self-service and admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from gatehouse.auth.dependencies import (
    AdminUser,
    ClientDep,
    CurrentUser,
    HasherDep,
    PolicyDep,
    require_admin,
)
from gatehouse.core.db import SessionDep
from gatehouse.core.ids import parse_id
from gatehouse.core.openapi import error_responses
from gatehouse.core.pagination import Page, PageParamsDep
from gatehouse.core.ratelimit import default_rate_limit
from gatehouse.users import service as users_service
from gatehouse.users.schemas import (
    AdminUserCreate,
    AdminUserUpdate,
    Role,
    UserDeleteMe,
    UserRead,
    UserSort,
    UserUpdateMe,
)

router = APIRouter(
    prefix="/api/v1/users", tags=["users"], dependencies=[Depends(default_rate_limit)]
)

_ADMIN = [Depends(require_admin)]
_NOT_FOUND = "User not found"


@router.get("/me", responses=error_responses(401))
async def read_me(user: CurrentUser) -> UserRead:
    """The current user."""
    return UserRead.model_validate(user)


@router.patch(
    "/me",
    responses=error_responses(400, 401, 409, 422, codes={400: "INVALID_PASSWORD"}),
)
async def update_me(
    data: UserUpdateMe, user: CurrentUser, session: SessionDep, hasher: HasherDep
) -> UserRead:
    """Change your `full_name`, or your `email` (with `current_password`; the new email is
    unverified). Privileged fields are ignored."""
    updated = await users_service.update_me(
        session, hasher=hasher, user=user, fields=data.model_dump(exclude_unset=True)
    )
    return UserRead.model_validate(updated)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(
        400, 401, 409, 422, codes={400: "INVALID_PASSWORD", 409: "LAST_ADMIN"}
    ),
)
async def delete_me(
    data: UserDeleteMe, user: CurrentUser, session: SessionDep, hasher: HasherDep
) -> None:
    """Delete your account with its sessions, tasks and conversations. Needs your password."""
    await users_service.delete_me(session, hasher=hasher, user=user, password=data.password)


@router.get("", dependencies=_ADMIN, responses=error_responses(401, 403, 422))
async def list_users(
    session: SessionDep,
    params: PageParamsDep,
    q: Annotated[str | None, Query(max_length=200, description="In email or name")] = None,
    role: Role | None = None,
    is_active: bool | None = None,
    sort: UserSort = "-created_at",
) -> Page[UserRead]:
    """Users, newest first by default (admin)."""
    result = await users_service.list_users(
        session, params=params, q=q, role=role, is_active=is_active, sort=sort
    )
    return Page.of(result, [UserRead.model_validate(user) for user in result.items])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 422, codes={409: "EMAIL_ALREADY_REGISTERED"}),
)
async def create_user(
    data: AdminUserCreate,
    _admin: AdminUser,
    response: Response,
    session: SessionDep,
    hasher: HasherDep,
    policy: PolicyDep,
) -> UserRead:
    """Create a user with any role (admin)."""
    user = await users_service.admin_create_user(
        session,
        hasher=hasher,
        policy=policy,
        email=str(data.email),
        password=data.password,
        full_name=data.full_name,
        role=data.role,
        is_verified=data.is_verified,
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserRead.model_validate(user)


@router.get("/{user_id}", responses=error_responses(401, 403, 404))
async def read_user(user_id: str, actor: CurrentUser, session: SessionDep) -> UserRead:
    """A user: admins see anyone, others only themselves (403 for any other id)."""
    target = await users_service.get_visible_user(session, actor=actor, user_id=user_id)
    return UserRead.model_validate(target)


@router.patch(
    "/{user_id}",
    dependencies=_ADMIN,
    responses=error_responses(401, 403, 404, 409, 422, codes={409: "LAST_ADMIN"}),
)
async def update_user(
    user_id: str, data: AdminUserUpdate, admin: AdminUser, session: SessionDep, client: ClientDep
) -> UserRead:
    """Change `full_name`, `email`, `role` or `is_active` (admin). Deactivating a user ends
    their sessions at once; the last active admin cannot be demoted or deactivated."""
    user = await users_service.admin_update_user(
        session,
        user_id=parse_id(user_id, not_found=_NOT_FOUND),
        fields=data.model_dump(exclude_unset=True),
        actor_id=admin.id,
        client=client,
    )
    return UserRead.model_validate(user)


@router.delete(
    "/{user_id}",
    dependencies=_ADMIN,
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 403, 404, 409, codes={409: "LAST_ADMIN"}),
)
async def delete_user(user_id: str, session: SessionDep) -> None:
    """Delete a user and everything they own (admin). Their sessions end with them."""
    await users_service.admin_delete_user(session, user_id=parse_id(user_id, not_found=_NOT_FOUND))
