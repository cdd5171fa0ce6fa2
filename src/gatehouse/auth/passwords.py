"""Setting a password: the step shared by reset and change, and the change itself."""

from __future__ import annotations

import uuid

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


async def change_password(
    db: AsyncSession,
    *,
    kit: AuthKit,
    user: User,
    current_session: uuid.UUID | None,
    current_password: str,
    new_password: str,
    origin: RequestOrigin,
) -> None:
    """Change the password (the current one confirms it); the user's other sessions end."""
    matches, _ = await kit.hasher.verify_and_update(current_password, user.password_hash)
    if not matches:
        raise InvalidPassword()
    await set_password(
        db, kit=kit, user=user, new_password=new_password, keep_session=current_session
    )
    audit_service.record(db, kind="password_changed", user_id=user.id, origin=origin)
    await db.commit()
