"""Ending sessions: shared by auth (logout, reuse) and users (deactivation, deletion)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth.models import AuthSession
from gatehouse.core.db import utcnow


async def revoke_sessions(
    session: AsyncSession, *, session_ids: list[uuid.UUID], now: datetime | None = None
) -> None:
    """End these sessions (flushed, not committed)."""
    await session.execute(
        update(AuthSession)
        .where(AuthSession.id.in_(session_ids), AuthSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )


async def end_all_sessions(
    session: AsyncSession, *, user_id: uuid.UUID, except_session: uuid.UUID | None = None
) -> None:
    """End every session of a user, optionally but one (flushed, not committed)."""
    statement = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if except_session is not None:
        statement = statement.where(AuthSession.id != except_session)
    await session.execute(statement.values(revoked_at=utcnow()))
