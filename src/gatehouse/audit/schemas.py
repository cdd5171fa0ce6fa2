"""Wire shape of audit events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

AuditKind = Literal[
    "login_succeeded",
    "login_failed",
    "logout",
    "refresh_reuse_detected",
    "password_reset_requested",
    "password_reset_completed",
    "password_changed",
    "email_verified",
    "role_changed",
    "user_deactivated",
]


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    user_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    created_at: datetime
    details: dict[str, Any]
