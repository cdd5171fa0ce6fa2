"""Retention of mail: a delivered message goes RETENTION_MAIL_DAYS after it was sent.
Pending messages and those that failed for good stay (`gatehouse mail retry`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.core.retention import PurgeRule, TableStats, table_stats
from gatehouse.mail.models import OutboxMessage

# ix_mail_outbox_due leads with sent_at: the batch's select is a range scan of it.
RULES = (PurgeRule(OutboxMessage, OutboxMessage.sent_at),)


async def mail_stats(db: AsyncSession) -> dict[str, TableStats]:
    return {"mail_outbox": await table_stats(db, OutboxMessage, OutboxMessage.created_at)}


@dataclass(frozen=True)
class QueueStats:
    depth: int  # pending messages: not sent, not failed for good
    oldest: datetime | None  # when the oldest of them was written


async def queue_stats(db: AsyncSession) -> QueueStats:
    row = (
        await db.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(
                OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)
            )
        )
    ).one()
    return QueueStats(depth=int(row[0] or 0), oldest=row[1])
