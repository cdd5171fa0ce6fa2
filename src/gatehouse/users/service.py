"""Rules about users: lookup, creation, the first admin."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth.exceptions import EmailAlreadyRegistered
from gatehouse.auth.passwords import PasswordPolicy
from gatehouse.core.security import PasswordHasher
from gatehouse.users.exceptions import UserNotFound
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
