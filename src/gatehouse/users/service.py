"""Rules about users: lookup, creation, the first admin."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit import service as audit_service
from gatehouse.auth.exceptions import EmailAlreadyRegistered, InvalidPassword
from gatehouse.auth.passwords import PasswordPolicy
from gatehouse.auth.sessions import end_all_sessions
from gatehouse.core.client import ClientInfo
from gatehouse.core.errors import Forbidden
from gatehouse.core.ids import parse_id
from gatehouse.core.pagination import PageParams, PageResult, contains_pattern, paginate
from gatehouse.core.security import PasswordHasher
from gatehouse.users.exceptions import LastAdmin, UserNotFound
from gatehouse.users.models import User

logger = logging.getLogger("gatehouse.users")


def normalize_email(email: str) -> str:
    """The form emails are stored and compared in: trimmed and lower-cased."""
    return email.strip().lower()


async def get_user(session: AsyncSession, *, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user


async def find_user_by_email(session: AsyncSession, *, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email == normalize_email(email)))
    return result.scalar_one_or_none()


async def create_user(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    email: str,
    password: str,
    full_name: str | None = None,
    role: str = "user",
    is_verified: bool = False,
) -> User:
    """Add a user (flushed, not committed). A taken email is EMAIL_ALREADY_REGISTERED."""
    email = normalize_email(email)
    policy.check(password, email=email)
    if await find_user_by_email(session, email=email) is not None:
        raise EmailAlreadyRegistered()
    user = User(
        email=email,
        full_name=full_name,
        password_hash=await hasher.hash(password),
        role=role,
        is_verified=is_verified,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another request registered the same email between our check and insert:
        # the unique index decides, and the loser gets a 409, not a 500.
        await session.rollback()
        raise EmailAlreadyRegistered() from exc
    return user


async def ensure_admin(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    email: str,
    password: str,
) -> User | None:
    """Create the first admin when no account has that email; returns the new user, if any."""
    if await find_user_by_email(session, email=email) is not None:
        return None
    try:
        user = await create_user(
            session,
            hasher=hasher,
            policy=policy,
            email=email,
            password=password,
            role="admin",
            is_verified=True,
        )
    except EmailAlreadyRegistered:
        return None  # another process created it at the same moment
    await session.commit()
    logger.info("created the first admin account")
    return user


def _user_filter(
    statement: Select[tuple[User]], *, q: str | None, role: str | None, is_active: bool | None
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
    session: AsyncSession,
    *,
    params: PageParams,
    q: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
    sort: str = "-created_at",
) -> PageResult[User]:
    """A page of users matching the filters (q looks in email and full name)."""
    statement = _user_filter(select(User), q=q, role=role, is_active=is_active)
    return await paginate(session, statement.order_by(*_USER_ORDER[sort]), params)


async def _check_password(hasher: PasswordHasher, user: User, password: str) -> None:
    matches, _ = await hasher.verify_and_update(password, user.password_hash)
    if not matches:
        raise InvalidPassword()


async def _change_email(session: AsyncSession, *, user: User, email: str) -> None:
    email = normalize_email(email)
    if email == user.email:
        return
    existing = await find_user_by_email(session, email=email)
    if existing is not None:
        raise EmailAlreadyRegistered()
    user.email = email
    user.is_verified = False


async def _commit_user_change(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:  # an email taken by a concurrent change
        await session.rollback()
        raise EmailAlreadyRegistered() from exc


async def update_me(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    user: User,
    fields: dict[str, Any],
) -> User:
    """Change your name, or your email (needs the current password; marks it unverified)."""
    if "full_name" in fields:
        user.full_name = fields["full_name"]
    if fields.get("email") is not None:
        await _check_password(hasher, user, fields["current_password"])
        await _change_email(session, user=user, email=fields["email"])
    await _commit_user_change(session)
    return user


async def _active_admins(session: AsyncSession) -> int:
    statement = select(func.count()).where(User.role == "admin", User.is_active.is_(True))
    return int(await session.scalar(statement) or 0)


async def _guard_last_admin(session: AsyncSession, user: User) -> None:
    if user.is_admin and user.is_active and await _active_admins(session) <= 1:
        raise LastAdmin()


async def delete_me(
    session: AsyncSession, *, hasher: PasswordHasher, user: User, password: str
) -> None:
    """Remove your account and everything it owns (sessions, tasks, conversations)."""
    await _check_password(hasher, user, password)
    await _guard_last_admin(session, user)
    await _delete(session, user)
    await session.commit()


async def _delete(session: AsyncSession, user: User) -> None:
    # The database cascades to sessions, tokens and owned rows (ON DELETE CASCADE).
    await session.execute(delete(User).where(User.id == user.id))
    session.expunge(user)


async def get_visible_user(session: AsyncSession, *, actor: User, user_id: str) -> User:
    """An admin sees anyone (404 when absent); anyone else only themself: 403 for any
    other id, existing or not, so ids cannot be probed."""
    if not actor.is_admin:
        if user_id != str(actor.id):
            raise Forbidden()
        return actor
    return await get_user(session, user_id=parse_id(user_id, not_found=UserNotFound.message))


async def admin_create_user(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    email: str,
    password: str,
    full_name: str | None,
    role: str,
    is_verified: bool,
) -> User:
    user = await create_user(
        session,
        hasher=hasher,
        policy=policy,
        email=email,
        password=password,
        full_name=full_name,
        role=role,
        is_verified=is_verified,
    )
    await session.commit()
    return user


async def admin_update_user(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    fields: dict[str, Any],
    actor_id: uuid.UUID | None,
    client: ClientInfo | None,
) -> User:
    """Change a user's name, email, role or active flag. Deactivation ends their sessions;
    demoting or deactivating the last active admin is refused."""
    user = await get_user(session, user_id=user_id)
    losing_admin = (fields.get("role") not in (None, "admin")) or fields.get("is_active") is False
    if losing_admin:
        await _guard_last_admin(session, user)
    if "full_name" in fields:
        user.full_name = fields["full_name"]
    if fields.get("email") is not None:
        await _change_email(session, user=user, email=fields["email"])
    by = str(actor_id) if actor_id else "cli"
    if fields.get("role") is not None and fields["role"] != user.role:
        audit_service.record(
            session,
            kind="role_changed",
            user_id=user.id,
            client=client,
            old=user.role,
            new=fields["role"],
            by=by,
        )
        user.role = fields["role"]
    if fields.get("is_active") is not None:
        if user.is_active and not fields["is_active"]:
            await end_all_sessions(session, user_id=user.id)
            audit_service.record(
                session, kind="user_deactivated", user_id=user.id, client=client, by=by
            )
        user.is_active = fields["is_active"]
    await _commit_user_change(session)
    return user


async def admin_delete_user(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    user = await get_user(session, user_id=user_id)
    await _guard_last_admin(session, user)
    await _delete(session, user)
    await session.commit()
