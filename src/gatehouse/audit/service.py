"""Recording and reading audit events. Recording joins the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit.models import AuditEvent, AuditKind
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.pagination import PageParams, PageResult, paginate


def record(
    db: AsyncSession,
    *,
    kind: AuditKind,
    user_id: uuid.UUID | None,
    origin: RequestOrigin | None,
    **details: Any,
) -> None:
    """Add an event to the current transaction (it lands when the use case commits)."""
    db.add(
        AuditEvent(
            kind=kind,
            user_id=user_id,
            ip=origin.ip if origin else None,
            user_agent=origin.user_agent if origin else None,
            details=details,
        )
    )


async def list_events(
    db: AsyncSession,
    *,
    params: PageParams,
    user_id: uuid.UUID | None = None,
    kind: str | None = None,
) -> PageResult[AuditEvent]:
    """Events, newest first, optionally of one user and one kind."""
    statement = select(AuditEvent)
    if user_id is not None:
        statement = statement.where(AuditEvent.user_id == user_id)
    if kind is not None:
        statement = statement.where(AuditEvent.kind == kind)
    statement = statement.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    return await paginate(db, statement, params)


async def count_by_kind(db: AsyncSession, kinds: tuple[str, ...]) -> dict[str, int]:
    rows = await db.execute(
        select(AuditEvent.kind, func.count())
        .where(AuditEvent.kind.in_(kinds))
        .group_by(AuditEvent.kind)
    )
    counts = dict.fromkeys(kinds, 0)
    counts.update({str(kind): int(count) for kind, count in rows})
    return counts
