"""The second factor's building blocks: TOTP secrets encrypted at rest, RFC 6238 codes
accepted once, single-use recovery codes stored hashed, and the login challenge that a
right password opens for an account with a second factor.

TOTP is RFC 6238 with the authenticator apps' defaults: SHA-1, 6 digits, 30-second steps,
one step of drift either way. The step of the last accepted code is stored, and only a
later step is accepted after it, so a code (or an older one) never works twice.

Secrets are sealed with AES-256-GCM under a key derived by HKDF-SHA256 from
MFA_ENCRYPTION_KEY, or from SECRET_KEY when that is not set, with a purpose label of its
own; the user's id is the associated data, so a sealed secret copied to another row
does not open.
"""

from __future__ import annotations

import base64
import hmac
import logging
import secrets
import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal, NoReturn

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit import service as audit_service
from gatehouse.auth.exceptions import MfaRequired
from gatehouse.auth.models import MfaChallenge, Passkey, RecoveryCode, TotpCredential
from gatehouse.core.config import Settings
from gatehouse.core.db import claim_once, rowcount, utcnow
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.security import hash_token, new_opaque_token, token_matches
from gatehouse.sessions.models import SessionKind
from gatehouse.users.models import User

logger = logging.getLogger(__name__)

TOTP_DIGITS = 6
TOTP_INTERVAL_SECONDS = 30
TOTP_DRIFT_STEPS = 1
TOTP_ISSUER = "Gatehouse"
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_BYTES = 10  # 80 bits: 16 base32 characters
MFA_TOKEN_TTL = timedelta(minutes=5)
MFA_TOKEN_MAX_FAILURES = 5
METHODS = ("totp", "recovery_code")
_KEY_PURPOSE = b"gatehouse totp secret v1"
_NONCE_BYTES = 12

Method = Literal["totp", "recovery_code"]


class SecretBox:
    """AES-256-GCM sealing of TOTP secrets under a key derived from a configured secret."""

    def __init__(self, key_material: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_PURPOSE).derive(
            key_material.encode("utf-8")
        )
        self._aead = AESGCM(key)

    def seal(self, secret: str, *, user_id: uuid.UUID) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode("ascii"), user_id.bytes)
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str, *, user_id: uuid.UUID) -> str | None:
        """The secret, or None when it does not open (another key, another row)."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], user_id.bytes)
        except (InvalidTag, ValueError):
            logger.error("a TOTP secret did not decrypt: was the encryption key changed?")
            return None
        return plain.decode("ascii")


@lru_cache(maxsize=4)
def _box(key_material: str) -> SecretBox:
    return SecretBox(key_material)


def secret_box(settings: Settings) -> SecretBox:
    """The box of MFA_ENCRYPTION_KEY, else of SECRET_KEY."""
    key = settings.MFA_ENCRYPTION_KEY
    return _box(key.get_secret_value() if key is not None else settings.secret_key)


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, *, email: str) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL_SECONDS).provisioning_uri(
        name=email, issuer_name=TOTP_ISSUER
    )


def matching_step(secret: str, code: str, *, now: datetime) -> int | None:
    """The time step (within one step of `now`) whose code `code` is; None if none is."""
    if len(code) != TOTP_DIGITS or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL_SECONDS)
    current = totp.timecode(now)
    found = None
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


async def claim_step(db: AsyncSession, credential: TotpCredential, step: int) -> bool:
    """Record `step` as the last one used, if it is later than the last one: of two uses
    of a code (even concurrent), one wins."""
    result = await db.execute(
        update(TotpCredential)
        .where(
            TotpCredential.id == credential.id,
            or_(TotpCredential.last_used_step.is_(None), TotpCredential.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def _normalized_recovery_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode("ascii").lower()
    return "-".join(raw[index : index + 4] for index in range(0, len(raw), 4))


async def replace_recovery_codes(db: AsyncSession, *, user_id: uuid.UUID) -> list[str]:
    """A new set of recovery codes (flushed); the old set stops working."""
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    now = utcnow()
    db.add_all(
        RecoveryCode(
            user_id=user_id, code_hash=hash_token(_normalized_recovery_code(code)), created_at=now
        )
        for code in codes
    )
    await db.flush()
    return codes


async def use_recovery_code(db: AsyncSession, *, user_id: uuid.UUID, code: str) -> bool:
    """Spend one of the user's unused recovery codes (flushed); whether `code` was one."""
    normalized = _normalized_recovery_code(code)
    if not normalized:
        return False
    record = await db.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == hash_token(normalized),
            RecoveryCode.used_at.is_(None),
        )
    )
    if record is None or not token_matches(normalized, record.code_hash):
        return False
    return await claim_once(db, RecoveryCode.used_at, record.id, at=utcnow())


async def remaining_recovery_codes(db: AsyncSession, *, user_id: uuid.UUID) -> int:
    count = await db.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return int(count or 0)


async def totp_of(db: AsyncSession, *, user_id: uuid.UUID) -> TotpCredential | None:
    """The user's TOTP credential, confirmed or pending."""
    credential: TotpCredential | None = await db.scalar(
        select(TotpCredential).where(TotpCredential.user_id == user_id)
    )
    return credential


async def has_second_factor(db: AsyncSession, *, user_id: uuid.UUID) -> bool:
    credential = await totp_of(db, user_id=user_id)
    return credential is not None and credential.confirmed_at is not None


async def check_code(
    db: AsyncSession,
    *,
    settings: Settings,
    credential: TotpCredential,
    code: str,
    now: datetime,
    origin: RequestOrigin,
    recovery: bool = True,
) -> Method | None:
    """Accept a TOTP code (once) or, with `recovery`, one of the user's recovery codes
    (once, audited `recovery_code_used`); flushed. The method used, or None."""
    code = code.strip()
    secret = secret_box(settings).open(credential.secret_encrypted, user_id=credential.user_id)
    step = matching_step(secret, code, now=now) if secret is not None else None
    if step is not None:
        return "totp" if await claim_step(db, credential, step) else None
    if recovery and await use_recovery_code(db, user_id=credential.user_id, code=code):
        audit_service.record(
            db,
            kind="recovery_code_used",
            user_id=credential.user_id,
            origin=origin,
            remaining=await remaining_recovery_codes(db, user_id=credential.user_id),
        )
        return "recovery_code"
    return None


async def remove_second_factor(db: AsyncSession, *, user_id: uuid.UUID) -> bool:
    """Delete the user's TOTP, recovery codes and open login challenges (flushed);
    whether a confirmed TOTP was removed."""
    had = await has_second_factor(db, user_id=user_id)
    await db.execute(delete(TotpCredential).where(TotpCredential.user_id == user_id))
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    await db.execute(delete(MfaChallenge).where(MfaChallenge.user_id == user_id))
    return had


async def require_second_factor(db: AsyncSession, *, user: User, kind: SessionKind) -> NoReturn:
    """Open a login challenge for `user` (committed) and answer MFA_REQUIRED with its token."""
    token = new_opaque_token()
    now = utcnow()
    db.add(
        MfaChallenge(
            user_id=user.id,
            token_hash=hash_token(token),
            kind=kind,
            created_at=now,
            expires_at=now + MFA_TOKEN_TTL,
        )
    )
    methods = list(METHODS)
    if await db.scalar(select(Passkey.id).where(Passkey.user_id == user.id).limit(1)):
        methods.append("webauthn")  # the second step at /mfa/webauthn/login/verify
    await db.commit()
    raise MfaRequired(details={"mfa_token": token, "methods": methods})
