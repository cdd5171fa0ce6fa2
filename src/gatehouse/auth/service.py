"""Accounts and tokens: registration, login, refresh rotation, logout."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit import service as audit_service
from gatehouse.auth import second_factor, verification
from gatehouse.auth.exceptions import AccountDisabled, InvalidCredentials
from gatehouse.auth.kit import AuthKit
from gatehouse.auth.models import RefreshToken
from gatehouse.core.db import KeyReader, claim_once, utcnow
from gatehouse.core.errors import Forbidden, InvalidToken, RateLimited
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.security import AccessClaims, hash_token, new_opaque_token, token_matches
from gatehouse.mail import service as mail_service
from gatehouse.sessions import service as sessions_service
from gatehouse.sessions.models import AuthSession, SessionKind
from gatehouse.users import service as users_service
from gatehouse.users.emails import normalize_email
from gatehouse.users.models import Role, User

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID
    device_token: str | None = None  # set by a login: the client's device token


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of an authenticated request: the user and the session the token belongs to."""

    user: User
    session: AuthSession


@dataclass(frozen=True, slots=True)
class Caller:
    """Who an access token belongs to, as read at the start of the request: the user's
    public columns and the session's id. A read-only view for routes that only need to know
    who asks (`/users/me`, tasks, chat); a route that changes the account takes the ORM
    `Principal` instead."""

    id: uuid.UUID
    email: str
    full_name: str | None
    role: Role
    is_active: bool
    is_verified: bool
    created_at: datetime
    updated_at: datetime
    session_id: uuid.UUID

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def _session_counts(
    *, revoked_at: datetime | None, expires_at: datetime, user_active: bool, now: datetime
) -> bool:
    """A session counts only while it is not revoked, not expired, and its user is active."""
    return revoked_at is None and expires_at > now and user_active


def _is_live(auth_session: AuthSession, user: User, now: datetime) -> bool:
    return _session_counts(
        revoked_at=auth_session.revoked_at,
        expires_at=auth_session.expires_at,
        user_active=user.is_active,
        now=now,
    )


def _session_end(kit: AuthKit, *, created_at: datetime, now: datetime) -> datetime:
    """When a session used at `now` ends: the refresh lifetime from now, but never past
    SESSION_MAX_AGE_DAYS after it began, however often it is refreshed."""
    absolute = created_at + timedelta(days=kit.settings.SESSION_MAX_AGE_DAYS)
    return min(now + kit.codec.refresh_ttl, absolute)


def mask_email(email: str) -> str:
    """`a***@example.com`: enough to recognise in an audit event, not enough to harvest."""
    local, _, domain = normalize_email(email).partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


async def register(
    db: AsyncSession, *, kit: AuthKit, email: str, password: str, full_name: str | None
) -> User:
    """Create an account (role user, unverified) and mail it a verification link, and a
    welcome when WELCOME_EMAIL_ENABLED."""
    user = await users_service.create_user(
        db,
        hasher=kit.hasher,
        policy=kit.policy,
        email=email,
        password=password,
        full_name=full_name,
    )
    await verification.queue_verification(db, user=user, settings=kit.settings)
    if kit.settings.WELCOME_EMAIL_ENABLED:
        await mail_service.enqueue(
            db,
            to=user.email,
            template="welcome",
            context={"name": user.full_name, "login_url": f"{kit.settings.PUBLIC_URL}/login"},
        )
    await db.commit()
    return user


async def authenticate(
    db: AsyncSession,
    *,
    kit: AuthKit,
    email: str,
    password: str,
    origin: RequestOrigin,
    device_token: str | None = None,
    kind: SessionKind = SessionKind.API,
) -> User:
    """Check an email and password.

    Unknown emails cost one dummy verification, so they answer like a wrong password in
    body and time. A disabled account is told only to someone who knows its password.
    A hash with old parameters (or bcrypt) is replaced by a fresh Argon2id one. Failures
    are audited and committed; they also feed the per-account throttle, or the throttle
    of the known device when `device_token` is a genuine one of this account.

    For an account with a second factor a right password is not enough: it answers
    MFA_REQUIRED with a login challenge for a session of `kind` (see `mfa.py`), and the
    throttle is cleared only once the code is right.
    """
    user = await users_service.find_user_by_email(db, email=email)
    user_id = user.id if user else None
    device = kit.devices.device_of(device_token, user.id) if user else None
    try:
        await kit.throttle.check(email, device=device)
    except RateLimited:
        await _login_failed(db, user_id=user_id, email=email, reason="throttled", origin=origin)
        raise
    # End the read before hashing: no pooled connection is held for the tens of
    # milliseconds a hash takes (16 logins at once would hold them all).
    await db.commit()
    if user is None:
        await kit.hasher.dummy_verify(password)
        matches, upgraded_hash = False, None
    else:
        matches, upgraded_hash = await kit.hasher.verify_and_update(password, user.password_hash)
    if user is None or not matches:
        await kit.throttle.record_failure(email, device=device)
        await _login_failed(
            db, user_id=user_id, email=email, reason="bad_credentials", origin=origin
        )
        raise InvalidCredentials()
    if not user.is_active:
        await _login_failed(
            db, user_id=user_id, email=email, reason="account_disabled", origin=origin
        )
        raise AccountDisabled()
    if upgraded_hash is not None:
        user.password_hash = upgraded_hash
    if await second_factor.has_second_factor(db, user_id=user.id):
        await second_factor.require_second_factor(db, user=user, kind=kind)
    await kit.throttle.clear(email, device=device)
    audit_service.record(db, kind="login_succeeded", user_id=user.id, origin=origin)
    return user


async def _login_failed(
    db: AsyncSession,
    *,
    user_id: uuid.UUID | None,
    email: str,
    reason: str,
    origin: RequestOrigin,
) -> None:
    audit_service.record(
        db,
        kind="login_failed",
        user_id=user_id,
        origin=origin,
        reason=reason,
        email=mask_email(email),
    )
    await db.commit()


async def start_session(
    db: AsyncSession,
    *,
    kit: AuthKit,
    user: User,
    origin: RequestOrigin,
    now: datetime,
    kind: SessionKind = SessionKind.API,
    token_hash: str | None = None,
) -> AuthSession:
    """Open a session for `user` (flushed, not committed)."""
    auth_session = AuthSession(
        user_id=user.id,
        kind=kind,
        token_hash=token_hash,
        ip=origin.ip,
        user_agent=origin.user_agent,
        created_at=now,
        last_used_at=now,
        expires_at=_session_end(kit, created_at=now, now=now),
    )
    db.add(auth_session)
    await db.flush()
    return auth_session


async def issue_token_pair(
    db: AsyncSession, *, kit: AuthKit, auth_session: AuthSession, now: datetime
) -> IssuedTokens:
    """A new access token and refresh token in `auth_session`; the session's life slides,
    up to its absolute end."""
    refresh_token = new_opaque_token()
    expires_at = _session_end(kit, created_at=auth_session.created_at, now=now)
    db.add(
        RefreshToken(
            session_id=auth_session.id,
            token_hash=hash_token(refresh_token),
            created_at=now,
            expires_at=expires_at,
        )
    )
    auth_session.expires_at = expires_at
    auth_session.last_used_at = now
    access_token, lifetime = kit.codec.issue_access_token(
        user_id=auth_session.user_id, session_id=auth_session.id, now=now
    )
    await db.flush()
    return IssuedTokens(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=lifetime,
        session_id=auth_session.id,
    )


async def login(
    db: AsyncSession,
    *,
    kit: AuthKit,
    email: str,
    password: str,
    origin: RequestOrigin,
    device_token: str | None = None,
) -> IssuedTokens:
    """Authenticate and open an API session with its first token pair, and the client's
    device token (the presented one when it is this account's, else a new one)."""
    user = await authenticate(
        db, kit=kit, email=email, password=password, origin=origin, device_token=device_token
    )
    return await finish_api_login(db, kit=kit, user=user, origin=origin, device_token=device_token)


async def finish_api_login(
    db: AsyncSession,
    *,
    kit: AuthKit,
    user: User,
    origin: RequestOrigin,
    device_token: str | None,
) -> IssuedTokens:
    """For a `user` who passed every check: an API session with its first token pair,
    committed, and the client's device token (the presented one when it is this
    account's, else a new one)."""
    now = utcnow()
    auth_session = await start_session(db, kit=kit, user=user, origin=origin, now=now)
    tokens = await issue_token_pair(db, kit=kit, auth_session=auth_session, now=now)
    await db.commit()
    return replace(tokens, device_token=kit.devices.renew(device_token, user.id))


async def refresh(
    db: AsyncSession, *, kit: AuthKit, refresh_token: str, origin: RequestOrigin
) -> IssuedTokens:
    """Rotate a refresh token. A second use of one ends its whole session (reuse detection)."""
    now = utcnow()
    presented_hash = hash_token(refresh_token)
    row = (
        await db.execute(
            select(RefreshToken, AuthSession, User)
            .join(AuthSession, RefreshToken.session_id == AuthSession.id)
            .join(User, AuthSession.user_id == User.id)
            .where(RefreshToken.token_hash == presented_hash)
        )
    ).first()
    if row is None or not token_matches(refresh_token, row[0].token_hash):
        raise InvalidToken()
    token, auth_session, user = row
    if token.used_at is not None:
        await _end_session_for_reuse(db, auth_session=auth_session, now=now, origin=origin)
    if token.expires_at <= now or not _is_live(auth_session, user, now):
        raise InvalidToken()
    # Of two concurrent uses, exactly one wins; the other counts as reuse.
    if not await claim_once(db, RefreshToken.used_at, token.id, at=now):
        await _end_session_for_reuse(db, auth_session=auth_session, now=now, origin=origin)
    tokens = await issue_token_pair(db, kit=kit, auth_session=auth_session, now=now)
    await db.commit()
    return tokens


async def _end_session_for_reuse(
    db: AsyncSession, *, auth_session: AuthSession, now: datetime, origin: RequestOrigin
) -> NoReturn:
    await sessions_service.revoke_sessions(db, session_ids=[auth_session.id], now=now)
    audit_service.record(
        db,
        kind="refresh_reuse_detected",
        user_id=auth_session.user_id,
        origin=origin,
        session_id=str(auth_session.id),
    )
    await db.commit()
    logger.warning(
        "refresh token reuse detected: session %s of user %s ended",
        auth_session.id,
        auth_session.user_id,
    )
    raise InvalidToken()


# Built once: this runs on every authenticated request (see bench/auth.py).
_PRINCIPAL_QUERY = (
    select(AuthSession, User)
    .join(User, AuthSession.user_id == User.id)
    .where(
        AuthSession.id == bindparam("session_id"),
        AuthSession.user_id == bindparam("user_id"),
    )
)


_CALLER_QUERY = (
    select(
        AuthSession.revoked_at,
        AuthSession.expires_at,
        User.id,
        User.email,
        User.full_name,
        User.role,
        User.is_active,
        User.is_verified,
        User.created_at,
        User.updated_at,
    )
    .join(User, AuthSession.user_id == User.id)
    .where(
        AuthSession.id == bindparam("session_id"),
        AuthSession.user_id == bindparam("user_id"),
    )
)


async def resolve_caller(reader: KeyReader, *, claims: AccessClaims, now: datetime) -> Caller:
    """`resolve_principal`'s checks with a read of the few columns they need, no ORM
    session (see `KeyReader`): the same answer, for the hot path."""
    row = await reader.first(
        _CALLER_QUERY, {"session_id": claims.session_id, "user_id": claims.user_id}
    )
    if row is None:
        raise InvalidToken()
    (
        revoked_at,
        expires_at,
        user_id,
        email,
        full_name,
        role,
        is_active,
        is_verified,
        created_at,
        updated_at,
    ) = row
    if not _session_counts(
        revoked_at=revoked_at, expires_at=expires_at, user_active=is_active, now=now
    ):
        raise InvalidToken()
    return Caller(
        id=user_id,
        email=email,
        full_name=full_name,
        role=role,
        is_active=is_active,
        is_verified=is_verified,
        created_at=created_at,
        updated_at=updated_at,
        session_id=claims.session_id,
    )


async def resolve_principal(db: AsyncSession, *, claims: AccessClaims, now: datetime) -> Principal:
    """The live session and active user behind an access token, in one indexed query."""
    row = (
        await db.execute(
            _PRINCIPAL_QUERY, {"session_id": claims.session_id, "user_id": claims.user_id}
        )
    ).first()
    if row is None:
        raise InvalidToken()
    auth_session, user = row
    if not _is_live(auth_session, user, now):
        raise InvalidToken()
    return Principal(user=user, session=auth_session)


async def logout(
    db: AsyncSession,
    *,
    principal: Principal,
    origin: RequestOrigin,
    refresh_token: str | None = None,
) -> None:
    """End the caller's session, and the session of `refresh_token` if it is the caller's too."""
    session_ids = [principal.session.id]
    if refresh_token is not None:
        other = await db.scalar(
            select(RefreshToken.session_id)
            .join(AuthSession, RefreshToken.session_id == AuthSession.id)
            .where(
                RefreshToken.token_hash == hash_token(refresh_token),
                AuthSession.user_id == principal.user.id,
            )
        )
        if other is not None:
            session_ids.append(other)
    await sessions_service.revoke_sessions(db, session_ids=session_ids)
    audit_service.record(
        db,
        kind="logout",
        user_id=principal.user.id,
        origin=origin,
        sessions=[str(item) for item in session_ids],
    )
    await db.commit()


async def logout_all(db: AsyncSession, *, user_id: uuid.UUID, origin: RequestOrigin) -> None:
    """End every session of the user, on every instance, at once."""
    await sessions_service.end_all_sessions(db, user_id=user_id)
    audit_service.record(db, kind="logout", user_id=user_id, origin=origin, all=True)
    await db.commit()


async def start_browser_session(
    db: AsyncSession,
    *,
    kit: AuthKit,
    email: str,
    password: str,
    origin: RequestOrigin,
    device_token: str | None = None,
) -> tuple[User, str, str]:
    """Log in for the cookie API: a `browser` session, the cookie value (stored hashed) and
    the browser's device token (the presented one when it is this account's, else new)."""
    user = await authenticate(
        db,
        kit=kit,
        email=email,
        password=password,
        origin=origin,
        device_token=device_token,
        kind=SessionKind.BROWSER,
    )
    return await finish_browser_login(
        db, kit=kit, user=user, origin=origin, device_token=device_token
    )


async def finish_browser_login(
    db: AsyncSession,
    *,
    kit: AuthKit,
    user: User,
    origin: RequestOrigin,
    device_token: str | None,
) -> tuple[User, str, str]:
    """For a `user` who passed every check: a `browser` session, committed, its cookie
    value (stored hashed) and the browser's device token."""
    cookie = await open_browser_session(db, kit=kit, user=user, origin=origin)
    await db.commit()
    return user, cookie, kit.devices.renew(device_token, user.id)


async def open_browser_session(
    db: AsyncSession, *, kit: AuthKit, user: User, origin: RequestOrigin
) -> str:
    """Open a `browser` session for `user` (flushed); the cookie value, stored hashed."""
    cookie = new_opaque_token()
    await start_session(
        db,
        kit=kit,
        user=user,
        origin=origin,
        now=utcnow(),
        kind=SessionKind.BROWSER,
        token_hash=hash_token(cookie),
    )
    return cookie


# A browser session's last use is written at most this often (not a write per request).
BROWSER_TOUCH_INTERVAL = timedelta(minutes=1)


async def resolve_browser_session(db: AsyncSession, *, kit: AuthKit, cookie: str) -> Principal:
    """The live browser session and active user behind a cookie; otherwise FORBIDDEN.

    A browser session also ends after BROWSER_SESSION_IDLE_MINUTES without a request;
    each request (at most once a minute) moves its last use.
    """
    row = (
        await db.execute(
            select(AuthSession, User)
            .join(User, AuthSession.user_id == User.id)
            .where(
                AuthSession.token_hash == hash_token(cookie),
                AuthSession.kind == SessionKind.BROWSER,
            )
        )
    ).first()
    if row is None or not token_matches(cookie, row[0].token_hash or ""):
        raise Forbidden()
    auth_session, user = row
    now = utcnow()
    idle_limit = timedelta(minutes=kit.settings.BROWSER_SESSION_IDLE_MINUTES)
    if not _is_live(auth_session, user, now) or auth_session.last_used_at + idle_limit <= now:
        raise Forbidden()
    if now - auth_session.last_used_at >= BROWSER_TOUCH_INTERVAL:
        auth_session.last_used_at = now
        await db.commit()
    return Principal(user=user, session=auth_session)
