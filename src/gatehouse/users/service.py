"""Rules about users: lookup, creation, the first admin."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit import service as audit_service
from gatehouse.core.errors import Forbidden
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.pagination import PageParams, PageResult, contains_pattern, paginate
from gatehouse.core.security import UNUSABLE_PASSWORD_HASH, PasswordHasher
from gatehouse.sessions import service as sessions_service
from gatehouse.users.emails import normalize_email
from gatehouse.users.exceptions import (
    EmailAlreadyRegistered,
    InvalidPassword,
    LastAdmin,
    UserNotFound,
)
from gatehouse.users.models import Role, User
from gatehouse.users.passwords import PasswordPolicy

logger = logging.getLogger(__name__)


async def get_user(db: AsyncSession, *, user_id: uuid.UUID) -> User:
    """The user with this id, or UserNotFound."""
    user = await db.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user


async def find_user_by_email(db: AsyncSession, *, email: str) -> User | None:
    result = await db.execute(select(User).where(User.email == normalize_email(email)))
    return result.scalar_one_or_none()


async def create_user(
    db: AsyncSession,
    *,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    email: str,
    password: str | None,
    full_name: str | None = None,
    role: Role = Role.USER,
    is_verified: bool = False,
) -> User:
    """Add a user (flushed, not committed). A taken email is EMAIL_ALREADY_REGISTERED.
    Without a password the account has none that works (UNUSABLE_PASSWORD_HASH) until
    one is set through a mailed link.

    A concurrent registration of the same email loses at the unique index; the failed
    flush leaves the transaction for the caller's database session to roll back when it closes.
    """
    email = normalize_email(email)
    if password is not None:
        policy.check(password, email=email)
    if await find_user_by_email(db, email=email) is not None:
        raise EmailAlreadyRegistered()
    user = User(
        email=email,
        full_name=full_name,
        password_hash=UNUSABLE_PASSWORD_HASH if password is None else await hasher.hash(password),
        role=role,
        is_verified=is_verified,
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:
        raise EmailAlreadyRegistered() from exc
    return user


async def ensure_admin(
    db: AsyncSession,
    *,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    email: str,
    password: str,
) -> User | None:
    """Create the first admin when no account has that email; returns the new user, if any."""
    if await find_user_by_email(db, email=email) is not None:
        return None
    try:
        user = await create_user(
            db,
            hasher=hasher,
            policy=policy,
            email=email,
            password=password,
            role=Role.ADMIN,
            is_verified=True,
        )
    except EmailAlreadyRegistered:
        await db.rollback()  # the failed flush left the transaction unusable
        return None  # another process created it at the same moment
    await db.commit()
    logger.info("created the first admin account")
    return user


def _user_filter(
    statement: Select[tuple[User]], *, q: str | None, role: Role | None, is_active: bool | None
) -> Select[tuple[User]]:
    if q:
        pattern = contains_pattern(q.lower())
        statement = statement.where(
            or_(
                User.email.like(pattern, escape="\\"),
                func.lower(User.full_name).like(pattern, escape="\\"),
            )
        )
    if role is not None:
        statement = statement.where(User.role == role)
    if is_active is not None:
        statement = statement.where(User.is_active == is_active)
    return statement


_USER_ORDER = {
    "created_at": (User.created_at.asc(), User.id.asc()),
    "-created_at": (User.created_at.desc(), User.id.desc()),
    "email": (User.email.asc(),),
    "-email": (User.email.desc(),),
}


async def list_users(
    db: AsyncSession,
    *,
    params: PageParams,
    q: str | None = None,
    role: Role | None = None,
    is_active: bool | None = None,
    sort: str = "-created_at",
) -> PageResult[User]:
    """A page of users matching the filters (q looks in email and full name)."""
    statement = _user_filter(select(User), q=q, role=role, is_active=is_active)
    return await paginate(db, statement.order_by(*_USER_ORDER[sort]), params)


async def _check_password(hasher: PasswordHasher, user: User, password: str) -> None:
    matches, _ = await hasher.verify_and_update(password, user.password_hash)
    if not matches:
        raise InvalidPassword()


async def _change_email(db: AsyncSession, *, user: User, email: str) -> None:
    email = normalize_email(email)
    if email == user.email:
        return
    existing = await find_user_by_email(db, email=email)
    if existing is not None:
        raise EmailAlreadyRegistered()
    user.email = email
    user.is_verified = False


async def _commit_user_change(db: AsyncSession) -> None:
    """Commit an account change; an email taken meanwhile by a concurrent change loses at
    the unique index (the request's database session rolls back as it closes)."""
    try:
        await db.commit()
    except IntegrityError as exc:
        raise EmailAlreadyRegistered() from exc


async def change_profile(
    db: AsyncSession,
    *,
    hasher: PasswordHasher,
    user: User,
    fields: dict[str, Any],
) -> str | None:
    """Apply your name, or your email (needs the current password; marks it unverified).
    Returns the old email when the email changed (flushed, not committed)."""
    if "full_name" in fields:
        user.full_name = fields["full_name"]
    old_email = user.email
    if fields.get("email") is not None:
        await _check_password(hasher, user, fields["current_password"])
        await _change_email(db, user=user, email=fields["email"])
    try:
        await db.flush()
    except IntegrityError as exc:  # the email was taken by a concurrent change
        raise EmailAlreadyRegistered() from exc
    return old_email if user.email != old_email else None


async def _active_admins(db: AsyncSession) -> int:
    statement = select(func.count()).where(User.role == Role.ADMIN, User.is_active.is_(True))
    return int(await db.scalar(statement) or 0)


async def _guard_last_admin(db: AsyncSession, user: User) -> None:
    if user.is_admin and user.is_active and await _active_admins(db) <= 1:
        raise LastAdmin()


async def delete_me(db: AsyncSession, *, hasher: PasswordHasher, user: User, password: str) -> None:
    """Remove your account and everything it owns (sessions, tasks, conversations)."""
    await _check_password(hasher, user, password)
    await _guard_last_admin(db, user)
    await _delete(db, user)
    await db.commit()


async def _delete(db: AsyncSession, user: User) -> None:
    # The database cascades to sessions, tokens and owned rows (ON DELETE CASCADE).
    await db.execute(delete(User).where(User.id == user.id))
    db.expunge(user)


async def get_visible_user(db: AsyncSession, *, actor: User, user_id: uuid.UUID | None) -> User:
    """An admin sees anyone (404 when absent; `None` is an id that is not one); anyone else
    only themself: 403 for any other id, existing or not, so ids cannot be probed."""
    if not actor.is_admin:
        if user_id != actor.id:
            raise Forbidden()
        return actor
    if user_id is None:
        raise UserNotFound()
    return await get_user(db, user_id=user_id)


async def admin_update_user(
    db: AsyncSession,
    *,
    user: User,
    fields: dict[str, Any],
    actor_id: uuid.UUID | None,
    origin: RequestOrigin | None,
    operator: str = "cli",
) -> User:
    """Change a user's name, email, role or active flag. Deactivation ends their sessions;
    demoting or deactivating the last active admin is refused. The audit names the admin
    (`actor_id`), or else the `operator` (`cli`, `accounts-api`)."""
    losing_admin = (fields.get("role") not in (None, Role.ADMIN)) or fields.get(
        "is_active"
    ) is False
    if losing_admin:
        await _guard_last_admin(db, user)
    if "full_name" in fields:
        user.full_name = fields["full_name"]
    if fields.get("email") is not None:
        await _change_email(db, user=user, email=fields["email"])
    by = str(actor_id) if actor_id else operator
    if fields.get("role") is not None and fields["role"] != user.role:
        audit_service.record(
            db,
            kind="role_changed",
            user_id=user.id,
            origin=origin,
            old=user.role,
            new=fields["role"],
            by=by,
        )
        user.role = fields["role"]
    if fields.get("is_active") is not None:
        if user.is_active and not fields["is_active"]:
            await sessions_service.end_all_sessions(db, user_id=user.id)
            audit_service.record(db, kind="user_deactivated", user_id=user.id, origin=origin, by=by)
        user.is_active = fields["is_active"]
    await _commit_user_change(db)
    return user


async def admin_delete_user(db: AsyncSession, *, user: User) -> None:
    """Delete a user and everything they own (admin); the last active admin stays."""
    await _guard_last_admin(db, user)
    await _delete(db, user)
    await db.commit()
