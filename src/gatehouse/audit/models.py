"""The audit trail. Never a password or a token; user ids stay after a user is deleted."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.core.db import Base, utcnow

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
    "mfa_enabled",
    "mfa_disabled",
    "mfa_failed",
    "recovery_code_used",
    "recovery_codes_regenerated",
    "passkey_added",
    "passkey_removed",
    "invitation_sent",
]


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_created_at", "created_at"),
        Index("ix_audit_events_user_id_created_at", "user_id", "created_at"),
        Index("ix_audit_events_kind_created_at", "kind", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[uuid.UUID | None]  # no foreign key: the trail outlives the account
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
