"""Audit API: /api/v1/audit (admin)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from gatehouse.audit import service as audit_service
from gatehouse.audit.schemas import AuditEventRead, AuditKind
from gatehouse.auth.dependencies import require_admin
from gatehouse.core.db import SessionDep
from gatehouse.core.openapi import error_responses
from gatehouse.core.pagination import Page, PageParamsDep
from gatehouse.core.ratelimit import default_rate_limit

router = APIRouter(
    prefix="/api/v1/audit",
    tags=["audit"],
    dependencies=[Depends(default_rate_limit), Depends(require_admin)],
    responses=error_responses(401, 403, 422),
)


@router.get("")
async def list_audit_events(
    session: SessionDep,
    params: PageParamsDep,
    user_id: uuid.UUID | None = None,
    kind: AuditKind | None = None,
) -> Page[AuditEventRead]:
    """Audit events, newest first (admin). Filter by user and kind."""
    result = await audit_service.list_events(session, params=params, user_id=user_id, kind=kind)
    return Page.of(result, [AuditEventRead.model_validate(event) for event in result.items])
