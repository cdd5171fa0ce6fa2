"""Setting a password: the step shared by reset and change, the change itself, and the
throttle around every confirmation of a signed-in user's password."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit import service as audit_service
from gatehouse.auth.kit import AuthKit
from gatehouse.core.db import utcnow
from gatehouse.core.origin import RequestOrigin
from gatehouse.mail import service as mail_service
from gatehouse.sessions import service as sessions_service
from gatehouse.users.exceptions import InvalidPassword
from gatehouse.users.models import User


async def set_password(
    db: AsyncSession,
    *,
    kit: AuthKit,
    user: User,
    new_password: str,
    keep_session: uuid.UUID | None,
) -> None:
    """Replace the password, end the user's other sessions and mail a notice (flushed)."""
    kit.policy.check(new_password, email=user.email, field="new_password")
    user.password_hash = await kit.hasher.hash(new_password)
    user.password_changed_at = utcnow()
    await sessions_service.end_all_sessions(db, user_id=user.id, except_session=keep_session)
    await mail_service.enqueue(
        db,
        to=user.email,
        template="password_changed",
        context={
            "name": user.full_name,
            "reset_url": f"{kit.settings.PUBLIC_URL}/reset-password",
        },
    )


@asynccontextmanager
async def password_attempt(
    kit: AuthKit, *, user: User, device_token: str | None = None
) -> AsyncIterator[None]:
    """Around a use case that confirms the user's current password (change-password, email
    change, account deletion): a guess there is a login attempt. It is refused (429) while
    the account's login throttle makes it wait, and a wrong password (InvalidPassword)
    counts as a failed login, so a stolen access token cannot be used to guess the
    password past the throttle. A known device of the user (`device_token`) is counted on
    its own counters, as at login."""
    email = user.email
    device = kit.devices.device_of(device_token, user.id)
    await kit.throttle.check(email, device=device)
    try:
        yield
    except InvalidPassword:
        await kit.throttle.record_failure(email, device=device)
        raise


async def change_password(
    db: AsyncSession,
    *,
    kit: AuthKit,
    user: User,
    current_session: uuid.UUID | None,
    current_password: str,
    new_password: str,
    origin: RequestOrigin,
    device_token: str | None = None,
) -> None:
    """Change the password (the current one confirms it, under the login throttle); the
    user's other sessions end."""
    async with password_attempt(kit, user=user, device_token=device_token):
        matches, _ = await kit.hasher.verify_and_update(current_password, user.password_hash)
        if not matches:
            raise InvalidPassword()
    await set_password(
        db, kit=kit, user=user, new_password=new_password, keep_session=current_session
    )
    audit_service.record(db, kind="password_changed", user_id=user.id, origin=origin)
    await db.commit()
