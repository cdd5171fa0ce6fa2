"""Refresh tokens and one-time (reset, verification) tokens, stored only as SHA-256 hashes."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.core.db import Base, StrEnumType, one_of, utcnow


class TokenPurpose(StrEnum):
    RESET = "reset"
    VERIFY = "verify"


class RefreshToken(Base):
    """A single-use refresh token; a second use of one ends its session (reuse detection)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class OneTimeToken(Base):
    """A password-reset or email-verification token: hashed, single-use, expiring."""

    __tablename__ = "one_time_tokens"
    __table_args__ = (
        CheckConstraint(one_of("purpose", TokenPurpose), name="purpose"),
        Index("ix_one_time_tokens_user_id_purpose", "user_id", "purpose"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[TokenPurpose] = mapped_column(StrEnumType(TokenPurpose, 16))
    # The address the token was sent to: a verification is void once the email changes.
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
