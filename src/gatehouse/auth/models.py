"""Refresh tokens and one-time (reset, verification) tokens, stored only as SHA-256 hashes;
the second factor: TOTP secrets (encrypted), recovery codes and login challenges (hashed);
passkeys (WebAuthn credentials) and their ceremonies' challenges (hashed)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.core.db import Base, StrEnumType, one_of, utcnow
from gatehouse.sessions.models import SessionKind


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
    expires_at: Mapped[datetime] = mapped_column(index=True)  # retention's range scans
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
    expires_at: Mapped[datetime] = mapped_column(index=True)  # retention's range scans
    used_at: Mapped[datetime | None]


class TotpCredential(Base):
    """A user's TOTP secret, encrypted (AES-GCM, see `mfa.py`); active once confirmed.
    `last_used_step` is the time step of the last code accepted: no code of that step or
    an earlier one works again (replay)."""

    __tablename__ = "totp_credentials"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(Base):
    """A single-use recovery code of a user with TOTP, stored as its SHA-256."""

    __tablename__ = "recovery_codes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class MfaChallenge(Base):
    """The second step of a login whose password was right: an opaque `mfa_token` (stored
    hashed), single-use, short-lived, ended by too many wrong codes. `kind` is the kind of
    session the login opens once the code is right."""

    __tablename__ = "mfa_challenges"
    __table_args__ = (CheckConstraint(one_of("kind", SessionKind), name="kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[SessionKind] = mapped_column(StrEnumType(SessionKind, 16))
    failures: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # retention's range scans
    used_at: Mapped[datetime | None]


class PasskeyPurpose(StrEnum):
    REGISTER = "register"
    LOGIN = "login"


class Passkey(Base):
    """A user's WebAuthn credential: its id (base64url), COSE public key and signature
    counter (a counter that goes back is refused: a cloned authenticator)."""

    __tablename__ = "passkeys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[Any]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class PasskeyChallenge(Base):
    """The challenge of one WebAuthn ceremony, stored as its SHA-256: single-use,
    short-lived, for one purpose, and bound to the user it was made for (if any)."""

    __tablename__ = "passkey_challenges"
    __table_args__ = (CheckConstraint(one_of("purpose", PasskeyPurpose), name="purpose"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[PasskeyPurpose] = mapped_column(StrEnumType(PasskeyPurpose, 16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
