"""Sessions: listing a user's live ones and ending them.

Shared by auth (logout, refresh-token reuse, password change) and users (deactivation),
so it sits below both and imports neither.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.core.db import rowcount, utcnow
from gatehouse.sessions.exceptions import SessionNotFound
from gatehouse.sessions.models import AuthSession


async def revoke_sessions(
    db: AsyncSession, *, session_ids: list[uuid.UUID], now: datetime | None = None
) -> None:
    """End these sessions (flushed, not committed)."""
    await db.execute(
        update(AuthSession)
        .where(AuthSession.id.in_(session_ids), AuthSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )


async def end_all_sessions(
    db: AsyncSession, *, user_id: uuid.UUID, except_session: uuid.UUID | None = None
) -> None:
    """End every session of a user, optionally but one (flushed, not committed)."""
    statement = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if except_session is not None:
        statement = statement.where(AuthSession.id != except_session)
    await db.execute(statement.values(revoked_at=utcnow()))


async def list_sessions(db: AsyncSession, *, user_id: uuid.UUID) -> list[AuthSession]:
    """The user's live sessions, newest first."""
    result = await db.scalars(
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
        .order_by(AuthSession.created_at.desc())
    )
    return list(result)


async def revoke_session(db: AsyncSession, *, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """End one of the user's own live sessions; anything else is SessionNotFound."""
    result = await db.execute(
        update(AuthSession)
        .where(
            AuthSession.id == session_id,
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise SessionNotFound()
    await db.commit()
