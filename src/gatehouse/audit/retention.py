"""Retention of the audit trail: an event goes RETENTION_AUDIT_DAYS after it happened."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit.models import AuditEvent
from gatehouse.core.retention import PurgeRule, TableStats, table_stats

# ix_audit_events_created_at makes each batch's select a range scan.
RULES = (PurgeRule(AuditEvent, AuditEvent.created_at),)


async def audit_stats(db: AsyncSession) -> dict[str, TableStats]:
    return {"audit_events": await table_stats(db, AuditEvent, AuditEvent.created_at)}
