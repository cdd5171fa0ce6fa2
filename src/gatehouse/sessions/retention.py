"""Retention of sessions: a session goes RETENTION_SESSIONS_DAYS after it ended (signed
out, revoked) or expired, with its refresh tokens (their foreign key cascades)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.core.retention import PurgeRule, TableStats, table_stats
from gatehouse.sessions.models import AuthSession

RULES = (
    PurgeRule(AuthSession, AuthSession.revoked_at),
    PurgeRule(AuthSession, AuthSession.expires_at),
)


async def session_stats(db: AsyncSession) -> dict[str, TableStats]:
    return {"auth_sessions": await table_stats(db, AuthSession, AuthSession.created_at)}
