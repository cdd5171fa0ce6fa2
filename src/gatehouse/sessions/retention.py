"""Retention of sessions: a session goes RETENTION_SESSIONS_DAYS after it ended (signed
out, revoked) or expired, with its refresh tokens (their foreign key cascades)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.core.retention import BatchCallback, PurgeRule, TableStats, purge, table_stats
from gatehouse.sessions.models import AuthSession

RULES = (
    PurgeRule(AuthSession, AuthSession.revoked_at),
    PurgeRule(AuthSession, AuthSession.expires_at),
)


async def purge_sessions(
    db: AsyncSession,
    *,
    before: datetime,
    batch_size: int,
    dry_run: bool = False,
    on_batch: BatchCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Delete sessions that ended or expired before `before`, in batches."""
    return await purge(
        db,
        RULES,
        before=before,
        batch_size=batch_size,
        dry_run=dry_run,
        on_batch=on_batch,
        should_stop=should_stop,
    )


async def session_stats(db: AsyncSession) -> dict[str, TableStats]:
    return {"auth_sessions": await table_stats(db, AuthSession, AuthSession.created_at)}
