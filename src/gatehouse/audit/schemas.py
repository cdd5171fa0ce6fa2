"""Wire shape of audit events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from gatehouse.audit.models import AuditKind

__all__ = ["AuditEventRead", "AuditKind"]


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    user_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    created_at: datetime
    details: dict[str, Any]
