"""Audit API: /api/v1/audit (admin)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from gatehouse.audit import service as audit_service
from gatehouse.audit.schemas import AuditEventRead, AuditKind
from gatehouse.auth.dependencies import require_admin
from gatehouse.core.db import DbDep
from gatehouse.core.errors import (
    Forbidden,
    InvalidToken,
    NotAuthenticated,
    RateLimited,
    ValidationFailed,
)
from gatehouse.core.openapi import error_responses
from gatehouse.core.pagination import Page, PageParamsDep
from gatehouse.core.ratelimit import default_rate_limit

router = APIRouter(
    prefix="/api/v1/audit",
    tags=["audit"],
    dependencies=[Depends(default_rate_limit), Depends(require_admin)],
    responses=error_responses(
        NotAuthenticated, InvalidToken, Forbidden, ValidationFailed, RateLimited
    ),
)


@router.get("")
async def list_audit_events(
    db: DbDep,
    params: PageParamsDep,
    user_id: uuid.UUID | None = None,
    kind: AuditKind | None = None,
) -> Page[AuditEventRead]:
    """Audit events, newest first (admin). Filter by user and kind."""
    result = await audit_service.list_events(db, params=params, user_id=user_id, kind=kind)
    return Page.of(result, [AuditEventRead.model_validate(event) for event in result.items])
