"""Users API: /api/v1/users (self-service and admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from gatehouse.auth import invitations, mfa, profile
from gatehouse.auth.dependencies import (
    AdminUser,
    AuthKitDep,
    CurrentCaller,
    CurrentUser,
    OriginDep,
    PasswordConfirmationDep,
    require_admin,
)
from gatehouse.core.db import DbDep
from gatehouse.core.errors import (
    Forbidden,
    InvalidToken,
    NotAuthenticated,
    RateLimited,
    ValidationFailed,
)
from gatehouse.core.openapi import error_responses
from gatehouse.core.pagination import Page, PageParamsDep
from gatehouse.core.ratelimit import default_rate_limit
from gatehouse.users import service as users_service
from gatehouse.users.dependencies import ManagedUser, VisibleUser
from gatehouse.users.exceptions import (
    EmailAlreadyRegistered,
    InvalidPassword,
    LastAdmin,
    UserNotFound,
)
from gatehouse.users.models import Role
from gatehouse.users.schemas import (
    AdminUserCreate,
    AdminUserUpdate,
    UserDeleteMe,
    UserRead,
    UserSort,
    UserUpdateMe,
)

router = APIRouter(
    prefix="/api/v1/users",
    tags=["users"],
    dependencies=[Depends(default_rate_limit)],
    responses=error_responses(NotAuthenticated, InvalidToken, RateLimited),
)

_ADMIN = [Depends(require_admin)]


@router.get("/me")
async def read_me(caller: CurrentCaller) -> UserRead:
    """The current user."""
    return UserRead.model_validate(caller)


@router.patch(
    "/me", responses=error_responses(InvalidPassword, EmailAlreadyRegistered, ValidationFailed)
)
async def update_me(
    data: UserUpdateMe,
    user: CurrentUser,
    db: DbDep,
    kit: AuthKitDep,
    confirm: PasswordConfirmationDep,
) -> UserRead:
    """Change your `full_name`, or your `email` (with `current_password`, which the login
    throttle guards). The new email is unverified until the link mailed to it is followed;
    the old address is told of the change. Privileged fields are ignored."""
    async with confirm(user, needed=data.email is not None):
        updated = await profile.update_profile(
            db, kit=kit, user=user, fields=data.model_dump(exclude_unset=True)
        )
    return UserRead.model_validate(updated)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(InvalidPassword, LastAdmin, ValidationFailed),
)
async def delete_me(
    data: UserDeleteMe,
    user: CurrentUser,
    db: DbDep,
    kit: AuthKitDep,
    confirm: PasswordConfirmationDep,
) -> None:
    """Delete your account with its sessions, tasks and conversations. Needs your password,
    which the login throttle guards."""
    async with confirm(user):
        await users_service.delete_me(db, hasher=kit.hasher, user=user, password=data.password)


@router.get("", dependencies=_ADMIN, responses=error_responses(Forbidden, ValidationFailed))
async def list_users(
    db: DbDep,
    params: PageParamsDep,
    q: Annotated[str | None, Query(max_length=200, description="In email or name")] = None,
    role: Role | None = None,
    is_active: bool | None = None,
    sort: UserSort = "-created_at",
) -> Page[UserRead]:
    """Users, newest first by default (admin)."""
    result = await users_service.list_users(
        db, params=params, q=q, role=role, is_active=is_active, sort=sort
    )
    return Page.of(result, [UserRead.model_validate(user) for user in result.items])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(Forbidden, EmailAlreadyRegistered, ValidationFailed),
)
async def create_user(
    data: AdminUserCreate,
    admin: AdminUser,
    response: Response,
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
) -> UserRead:
    """Create a user with any role (admin). Without `password` the user is mailed an
    invitation: a single-use link, expiring as a reset link, to choose a password (which
    also verifies the email). Until then signing in fails as with a wrong password.
    Audited `invitation_sent`."""
    user = await invitations.create_user(
        db,
        settings=kit.settings,
        hasher=kit.hasher,
        policy=kit.policy,
        email=str(data.email),
        password=data.password,
        full_name=data.full_name,
        role=data.role,
        is_verified=data.is_verified,
        by=str(admin.id),
        origin=origin,
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserRead.model_validate(user)


@router.get("/{user_id}", responses=error_responses(Forbidden, UserNotFound))
async def read_user(target: VisibleUser) -> UserRead:
    """A user: admins see anyone, others only themselves (403 for any other id)."""
    return UserRead.model_validate(target)


@router.patch(
    "/{user_id}",
    responses=error_responses(
        Forbidden, UserNotFound, EmailAlreadyRegistered, LastAdmin, ValidationFailed
    ),
)
async def update_user(
    target: ManagedUser, data: AdminUserUpdate, admin: AdminUser, db: DbDep, origin: OriginDep
) -> UserRead:
    """Change `full_name`, `email`, `role` or `is_active` (admin). Deactivating a user ends
    their sessions at once; the last active admin cannot be demoted or deactivated."""
    user = await users_service.admin_update_user(
        db,
        user=target,
        fields=data.model_dump(exclude_unset=True),
        actor_id=admin.id,
        origin=origin,
    )
    return UserRead.model_validate(user)


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(Forbidden, UserNotFound, LastAdmin),
)
async def delete_user(target: ManagedUser, db: DbDep) -> None:
    """Delete a user and everything they own (admin). Their sessions end with them."""
    await users_service.admin_delete_user(db, user=target)


@router.delete(
    "/{user_id}/mfa",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(Forbidden, UserNotFound),
)
async def reset_mfa(target: ManagedUser, admin: AdminUser, db: DbDep, origin: OriginDep) -> None:
    """Remove a user's second factor (TOTP and recovery codes), for a user who lost it
    (admin). Audited `mfa_disabled` with the admin in `details.by`; 204 also when the user
    had none."""
    await mfa.reset_by_admin(db, user=target, admin=admin, origin=origin)
