"""Your own profile: a name change, or an email change that both addresses hear about."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth import verification
from gatehouse.auth.kit import AuthKit
from gatehouse.mail import service as mail_service
from gatehouse.users import service as users_service
from gatehouse.users.exceptions import EmailAlreadyRegistered
from gatehouse.users.models import User


async def update_profile(
    db: AsyncSession, *, kit: AuthKit, user: User, fields: dict[str, Any]
) -> User:
    """Change your `full_name`, or your email (with your current password).

    A new email is unverified until the link mailed to it is followed; the old address is
    told of the change (no link that acts on the account), so a hijacked session cannot
    move the account away silently.
    """
    old_email = await users_service.change_profile(db, hasher=kit.hasher, user=user, fields=fields)
    if old_email is not None:
        await mail_service.enqueue(
            db,
            to=old_email,
            template="email_changed",
            context={
                "name": user.full_name,
                "new_email": user.email,
                "reset_url": f"{kit.settings.PUBLIC_URL}/reset-password",
            },
        )
        await verification.queue_verification(db, user=user, settings=kit.settings)
    try:
        await db.commit()
    except IntegrityError as exc:  # the email was taken by a concurrent change
        raise EmailAlreadyRegistered() from exc
    return user
