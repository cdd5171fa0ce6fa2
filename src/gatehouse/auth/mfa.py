"""The second factor's use cases: enrol TOTP (setup, confirm), disable it, new recovery
codes, an admin's reset, and the second step of a login (`mfa_token` + code).

Every code checked here is a login attempt: it waits out the account's login throttle
(429), and a wrong one counts as a failed login, is audited `mfa_failed`, and answers
INVALID_MFA_CODE. A login challenge ends after its fifth wrong code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit import service as audit_service
from gatehouse.auth import second_factor
from gatehouse.auth import service as auth_service
from gatehouse.auth.exceptions import InvalidMfaCode, MfaAlreadyEnabled, MfaNotEnabled
from gatehouse.auth.kit import AuthKit
from gatehouse.auth.models import MfaChallenge, TotpCredential
from gatehouse.auth.passwords import password_attempt
from gatehouse.auth.second_factor import Method
from gatehouse.auth.service import IssuedTokens
from gatehouse.core.db import claim_once, utcnow
from gatehouse.core.errors import InvalidToken
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.security import hash_token, token_matches
from gatehouse.sessions.models import SessionKind
from gatehouse.users.exceptions import InvalidPassword
from gatehouse.users.models import User


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    secret: str
    otpauth_uri: str


async def _confirm_password(
    kit: AuthKit, *, user: User, password: str, device_token: str | None
) -> None:
    async with password_attempt(kit, user=user, device_token=device_token):
        matches, _ = await kit.hasher.verify_and_update(password, user.password_hash)
        if not matches:
            raise InvalidPassword()


async def _enabled_totp(db: AsyncSession, *, user_id: uuid.UUID) -> TotpCredential:
    credential = await second_factor.totp_of(db, user_id=user_id)
    if credential is None or credential.confirmed_at is None:
        raise MfaNotEnabled()
    return credential


async def _accept_code(
    db: AsyncSession,
    *,
    kit: AuthKit,
    user: User,
    credential: TotpCredential,
    code: str,
    origin: RequestOrigin,
    device_token: str | None,
    step: str,
    recovery: bool = True,
) -> Method:
    """Check a code under the login throttle. A wrong one feeds the throttle, is audited
    (committed) and raises INVALID_MFA_CODE."""
    device = kit.devices.device_of(device_token, user.id)
    await kit.throttle.check(user.email, device=device)
    method = await second_factor.check_code(
        db,
        settings=kit.settings,
        credential=credential,
        code=code,
        now=kit.clock.now(),
        origin=origin,
        recovery=recovery,
    )
    if method is None:
        await kit.throttle.record_failure(user.email, device=device)
        audit_service.record(db, kind="mfa_failed", user_id=user.id, origin=origin, step=step)
        await db.commit()
        raise InvalidMfaCode()
    return method


async def setup_totp(
    db: AsyncSession,
    *,
    kit: AuthKit,
    user: User,
    password: str,
    device_token: str | None = None,
) -> TotpEnrolment:
    """A new TOTP secret, pending until a code of it is confirmed; a pending one before it
    is replaced."""
    await _confirm_password(kit, user=user, password=password, device_token=device_token)
    credential = await second_factor.totp_of(db, user_id=user.id)
    if credential is not None and credential.confirmed_at is not None:
        raise MfaAlreadyEnabled()
    if credential is not None:
        await db.delete(credential)
        await db.flush()
    secret = second_factor.new_totp_secret()
    db.add(
        TotpCredential(
            user_id=user.id,
            secret_encrypted=second_factor.secret_box(kit.settings).seal(secret, user_id=user.id),
            created_at=utcnow(),
        )
    )
    await db.commit()
    return TotpEnrolment(
        secret=secret, otpauth_uri=second_factor.provisioning_uri(secret, email=user.email)
    )


async def confirm_totp(
    db: AsyncSession,
    *,
    kit: AuthKit,
    user: User,
    code: str,
    origin: RequestOrigin,
    device_token: str | None = None,
) -> list[str]:
    """Activate the pending TOTP with a code of it; the new recovery codes (shown once)."""
    credential = await second_factor.totp_of(db, user_id=user.id)
    if credential is None:
        raise MfaNotEnabled("No TOTP setup is pending: start with /mfa/totp/setup")
    if credential.confirmed_at is not None:
        raise MfaAlreadyEnabled()
    await _accept_code(
        db,
        kit=kit,
        user=user,
        credential=credential,
        code=code,
        origin=origin,
        device_token=device_token,
        step="confirm",
        recovery=False,
    )
    credential.confirmed_at = utcnow()
    codes = await second_factor.replace_recovery_codes(db, user_id=user.id)
    audit_service.record(db, kind="mfa_enabled", user_id=user.id, origin=origin, method="totp")
    await db.commit()
    return codes


async def disable_totp(
    db: AsyncSession,
    *,
    kit: AuthKit,
    user: User,
    password: str,
    code: str,
    origin: RequestOrigin,
    device_token: str | None = None,
) -> None:
    """Remove TOTP and the recovery codes, with the password and a code (TOTP or recovery)."""
    await _confirm_password(kit, user=user, password=password, device_token=device_token)
    credential = await _enabled_totp(db, user_id=user.id)
    await _accept_code(
        db,
        kit=kit,
        user=user,
        credential=credential,
        code=code,
        origin=origin,
        device_token=device_token,
        step="disable",
    )
    await second_factor.remove_second_factor(db, user_id=user.id)
    audit_service.record(db, kind="mfa_disabled", user_id=user.id, origin=origin, by=str(user.id))
    await db.commit()


async def regenerate_recovery_codes(
    db: AsyncSession,
    *,
    kit: AuthKit,
    user: User,
    password: str,
    code: str,
    origin: RequestOrigin,
    device_token: str | None = None,
) -> list[str]:
    """A new set of recovery codes, with the password and a code; the old set stops working."""
    await _confirm_password(kit, user=user, password=password, device_token=device_token)
    credential = await _enabled_totp(db, user_id=user.id)
    await _accept_code(
        db,
        kit=kit,
        user=user,
        credential=credential,
        code=code,
        origin=origin,
        device_token=device_token,
        step="recovery_codes",
    )
    codes = await second_factor.replace_recovery_codes(db, user_id=user.id)
    audit_service.record(db, kind="recovery_codes_regenerated", user_id=user.id, origin=origin)
    await db.commit()
    return codes


async def reset_by_admin(
    db: AsyncSession, *, user: User, admin: User, origin: RequestOrigin
) -> None:
    """An admin removes a user's second factor (for a user who lost it): TOTP, recovery
    codes and open login challenges. Audited `mfa_disabled` with the admin in `by` when
    there was one."""
    if await second_factor.remove_second_factor(db, user_id=user.id):
        audit_service.record(
            db, kind="mfa_disabled", user_id=user.id, origin=origin, by=str(admin.id)
        )
    await db.commit()


async def _pass_challenge(
    db: AsyncSession,
    *,
    kit: AuthKit,
    mfa_token: str,
    code: str,
    kind: SessionKind,
    origin: RequestOrigin,
    device_token: str | None,
) -> User:
    """The user of a live challenge of `kind` whose code is right (challenge used,
    flushed). INVALID_TOKEN for an unknown, expired, used or ended challenge."""
    now = utcnow()
    row = (
        await db.execute(
            select(MfaChallenge, User)
            .join(User, MfaChallenge.user_id == User.id)
            .where(MfaChallenge.token_hash == hash_token(mfa_token))
        )
    ).first()
    if row is None or not token_matches(mfa_token, row[0].token_hash):
        raise InvalidToken()
    challenge, user = row
    if (
        challenge.used_at is not None
        or challenge.expires_at <= now
        or challenge.kind != kind
        or not user.is_active
    ):
        raise InvalidToken()
    credential = await second_factor.totp_of(db, user_id=user.id)
    if credential is None or credential.confirmed_at is None:
        raise InvalidToken()
    challenge_id, email = challenge.id, user.email
    try:
        method = await _accept_code(
            db,
            kit=kit,
            user=user,
            credential=credential,
            code=code,
            origin=origin,
            device_token=device_token,
            step="login",
        )
    except InvalidMfaCode:
        await _count_wrong_code(db, challenge_id=challenge_id)
        raise
    if not await claim_once(db, MfaChallenge.used_at, challenge_id, at=now):
        raise InvalidToken()
    await kit.throttle.clear(email, device=kit.devices.device_of(device_token, user.id))
    audit_service.record(db, kind="login_succeeded", user_id=user.id, origin=origin, mfa=method)
    return user


async def _count_wrong_code(db: AsyncSession, *, challenge_id: uuid.UUID) -> None:
    """One more wrong code for a challenge; the fifth ends it (committed)."""
    await db.execute(
        update(MfaChallenge)
        .where(MfaChallenge.id == challenge_id)
        .values(failures=MfaChallenge.failures + 1)
    )
    failures = await db.scalar(select(MfaChallenge.failures).where(MfaChallenge.id == challenge_id))
    if failures is not None and failures >= second_factor.MFA_TOKEN_MAX_FAILURES:
        await claim_once(db, MfaChallenge.used_at, challenge_id, at=utcnow())
    await db.commit()


async def verify_login(
    db: AsyncSession,
    *,
    kit: AuthKit,
    mfa_token: str,
    code: str,
    origin: RequestOrigin,
    device_token: str | None = None,
) -> IssuedTokens:
    """Finish a login from /token or /login: an API session and its first token pair."""
    user = await _pass_challenge(
        db,
        kit=kit,
        mfa_token=mfa_token,
        code=code,
        kind=SessionKind.API,
        origin=origin,
        device_token=device_token,
    )
    return await auth_service.finish_api_login(
        db, kit=kit, user=user, origin=origin, device_token=device_token
    )


async def verify_browser_login(
    db: AsyncSession,
    *,
    kit: AuthKit,
    mfa_token: str,
    code: str,
    origin: RequestOrigin,
    device_token: str | None = None,
) -> tuple[User, str, str]:
    """Finish a login from POST /sessions: a browser session, its cookie value and the
    browser's device token (as `service.start_browser_session`)."""
    user = await _pass_challenge(
        db,
        kit=kit,
        mfa_token=mfa_token,
        code=code,
        kind=SessionKind.BROWSER,
        origin=origin,
        device_token=device_token,
    )
    return await auth_service.finish_browser_login(
        db, kit=kit, user=user, origin=origin, device_token=device_token
    )


async def pending_totp(db: AsyncSession, *, kit: AuthKit, user: User) -> TotpEnrolment | None:
    """The TOTP setup that waits for its first code (its secret and otpauth URI, to show
    again beside a wrong code), or None when there is none or it is already on."""
    credential = await second_factor.totp_of(db, user_id=user.id)
    if credential is None or credential.confirmed_at is not None:
        return None
    secret = second_factor.secret_box(kit.settings).open(
        credential.secret_encrypted, user_id=user.id
    )
    if secret is None:
        return None
    return TotpEnrolment(
        secret=secret, otpauth_uri=second_factor.provisioning_uri(secret, email=user.email)
    )
