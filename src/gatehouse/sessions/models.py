"""The sessions table: one row per sign-in, API or browser."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.core.db import Base, StrEnumType, one_of, utcnow


class SessionKind(StrEnum):
    API = "api"  # bearer tokens from /api/v1/auth
    BROWSER = "browser"  # the session cookie


class AuthSession(Base):
    """One sign-in: every access and refresh token of it dies with it."""

    __tablename__ = "auth_sessions"
    __table_args__ = (CheckConstraint(one_of("kind", SessionKind), name="kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[SessionKind] = mapped_column(StrEnumType(SessionKind, 16), default=SessionKind.API)
    # The cookie value of a browser session, hashed; null for API sessions.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # retention's range scans
    revoked_at: Mapped[datetime | None] = mapped_column(index=True)
