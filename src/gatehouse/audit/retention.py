"""Retention of the audit trail: an event goes RETENTION_AUDIT_DAYS after it happened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit.models import AuditEvent
from gatehouse.core.retention import BatchCallback, PurgeRule, TableStats, purge, table_stats

# ix_audit_events_created_at makes each batch's select a range scan.
RULES = (PurgeRule(AuditEvent, AuditEvent.created_at),)


async def purge_audit_events(
    db: AsyncSession,
    *,
    before: datetime,
    batch_size: int,
    dry_run: bool = False,
    on_batch: BatchCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Delete events older than `before`, in batches."""
    return await purge(
        db,
        RULES,
        before=before,
        batch_size=batch_size,
        dry_run=dry_run,
        on_batch=on_batch,
        should_stop=should_stop,
    )


async def audit_stats(db: AsyncSession) -> dict[str, TableStats]:
    return {"audit_events": await table_stats(db, AuditEvent, AuditEvent.created_at)}
