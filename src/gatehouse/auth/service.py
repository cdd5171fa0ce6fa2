"""Accounts and tokens: registration, login, refresh rotation, logout and sessions."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit import service as audit_service
from gatehouse.auth import recovery
from gatehouse.auth.exceptions import AccountDisabled, InvalidCredentials, SessionNotFound
from gatehouse.auth.models import AuthSession, RefreshToken
from gatehouse.auth.passwords import PasswordPolicy
from gatehouse.auth.sessions import end_all_sessions, revoke_sessions
from gatehouse.auth.throttle import AccountThrottle
from gatehouse.core.client import ClientInfo
from gatehouse.core.config import Settings
from gatehouse.core.db import utcnow
from gatehouse.core.errors import Forbidden, InvalidToken
from gatehouse.core.ratelimit import RateLimited
from gatehouse.core.security import (
    AccessClaims,
    PasswordHasher,
    TokenCodec,
    hash_token,
    new_opaque_token,
    token_matches,
)
from gatehouse.users import service as users_service
from gatehouse.users.models import User

logger = logging.getLogger("gatehouse.auth")


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of an authenticated request: the user and the session the token belongs to."""

    user: User
    session: AuthSession


def _is_live(auth_session: AuthSession, user: User, now: datetime) -> bool:
    """A session counts only while it is not revoked, not expired, and its user is active."""
    return auth_session.revoked_at is None and auth_session.expires_at > now and user.is_active


async def register(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    email: str,
    password: str,
    full_name: str | None,
    settings: Settings,
) -> User:
    """Create an account (role user, unverified) and mail it a verification link."""
    user = await users_service.create_user(
        session, hasher=hasher, policy=policy, email=email, password=password, full_name=full_name
    )
    await recovery.queue_verification(session, user=user, settings=settings)
    await session.commit()
    return user


async def authenticate(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    throttle: AccountThrottle,
    email: str,
    password: str,
    client: ClientInfo,
) -> User:
    """Check an email and password.

    Unknown emails cost one dummy verification, so they answer like a wrong password in
    body and time. A disabled account is told only to someone who knows its password.
    A hash with old parameters (or bcrypt) is replaced by a fresh Argon2id one. Failures
    are audited and committed; they also feed the per-account throttle.
    """
    user = await users_service.find_user_by_email(session, email=email)
    user_id = user.id if user else None
    try:
        await throttle.check(email)
    except RateLimited:
        await _login_failed(
            session, user_id=user_id, email=email, reason="throttled", client=client
        )
        raise
    if user is None:
        await hasher.dummy_verify(password)
        matches, upgraded_hash = False, None
    else:
        matches, upgraded_hash = await hasher.verify_and_update(password, user.password_hash)
    if user is None or not matches:
        await throttle.record_failure(email)
        await _login_failed(
            session, user_id=user_id, email=email, reason="bad_credentials", client=client
        )
        raise InvalidCredentials()
    if not user.is_active:
        await _login_failed(
            session, user_id=user_id, email=email, reason="account_disabled", client=client
        )
        raise AccountDisabled()
    await throttle.clear(email)
    if upgraded_hash is not None:
        user.password_hash = upgraded_hash
    audit_service.record(session, kind="login_succeeded", user_id=user.id, client=client)
    return user


async def _login_failed(
    session: AsyncSession,
    *,
    user_id: uuid.UUID | None,
    email: str,
    reason: str,
    client: ClientInfo,
) -> None:
    audit_service.record(
        session,
        kind="login_failed",
        user_id=user_id,
        client=client,
        reason=reason,
        email=audit_service.mask_email(email),
    )
    await session.commit()


async def start_session(
    session: AsyncSession,
    *,
    codec: TokenCodec,
    user: User,
    client: ClientInfo,
    now: datetime,
    kind: str = "api",
    token_hash: str | None = None,
) -> AuthSession:
    auth_session = AuthSession(
        user_id=user.id,
        kind=kind,
        token_hash=token_hash,
        ip=client.ip,
        user_agent=client.user_agent,
        created_at=now,
        last_used_at=now,
        expires_at=now + codec.refresh_ttl,
    )
    session.add(auth_session)
    await session.flush()
    return auth_session


async def issue_token_pair(
    session: AsyncSession, *, codec: TokenCodec, auth_session: AuthSession, now: datetime
) -> IssuedTokens:
    """A new access token and refresh token in `auth_session`; the session's life slides."""
    refresh_token = new_opaque_token()
    session.add(
        RefreshToken(
            session_id=auth_session.id,
            token_hash=hash_token(refresh_token),
            created_at=now,
            expires_at=now + codec.refresh_ttl,
        )
    )
    auth_session.expires_at = now + codec.refresh_ttl
    auth_session.last_used_at = now
    access_token, lifetime = codec.issue_access_token(
        user_id=auth_session.user_id, session_id=auth_session.id, now=now
    )
    await session.flush()
    return IssuedTokens(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=lifetime,
        session_id=auth_session.id,
    )


async def login(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    codec: TokenCodec,
    throttle: AccountThrottle,
    email: str,
    password: str,
    client: ClientInfo,
) -> IssuedTokens:
    """Authenticate and open an API session with its first token pair."""
    user = await authenticate(
        session, hasher=hasher, throttle=throttle, email=email, password=password, client=client
    )
    now = utcnow()
    auth_session = await start_session(session, codec=codec, user=user, client=client, now=now)
    tokens = await issue_token_pair(session, codec=codec, auth_session=auth_session, now=now)
    await session.commit()
    return tokens


async def refresh(
    session: AsyncSession, *, codec: TokenCodec, refresh_token: str, client: ClientInfo
) -> IssuedTokens:
    """Rotate a refresh token. A second use of one ends its whole session (reuse detection)."""
    now = utcnow()
    presented_hash = hash_token(refresh_token)
    row = (
        await session.execute(
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
        await _end_session_for_reuse(session, auth_session=auth_session, now=now, client=client)
    if token.expires_at <= now or not _is_live(auth_session, user, now):
        raise InvalidToken()
    # Claim the token atomically: of two concurrent uses, exactly one wins.
    claimed = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await _end_session_for_reuse(session, auth_session=auth_session, now=now, client=client)
    tokens = await issue_token_pair(session, codec=codec, auth_session=auth_session, now=now)
    await session.commit()
    return tokens


async def _end_session_for_reuse(
    session: AsyncSession, *, auth_session: AuthSession, now: datetime, client: ClientInfo
) -> NoReturn:
    await revoke_sessions(session, session_ids=[auth_session.id], now=now)
    audit_service.record(
        session,
        kind="refresh_reuse_detected",
        user_id=auth_session.user_id,
        client=client,
        session_id=str(auth_session.id),
    )
    await session.commit()
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


async def resolve_principal(
    session: AsyncSession, *, claims: AccessClaims, now: datetime
) -> Principal:
    """The live session and active user behind an access token, in one indexed query."""
    row = (
        await session.execute(
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
    session: AsyncSession,
    *,
    principal: Principal,
    client: ClientInfo,
    refresh_token: str | None = None,
) -> None:
    """End the caller's session, and the session of `refresh_token` if it is the caller's too."""
    session_ids = [principal.session.id]
    if refresh_token is not None:
        other = await session.scalar(
            select(RefreshToken.session_id)
            .join(AuthSession, RefreshToken.session_id == AuthSession.id)
            .where(
                RefreshToken.token_hash == hash_token(refresh_token),
                AuthSession.user_id == principal.user.id,
            )
        )
        if other is not None:
            session_ids.append(other)
    await revoke_sessions(session, session_ids=session_ids)
    audit_service.record(
        session,
        kind="logout",
        user_id=principal.user.id,
        client=client,
        sessions=[str(item) for item in session_ids],
    )
    await session.commit()


async def logout_all(session: AsyncSession, *, user_id: uuid.UUID, client: ClientInfo) -> None:
    """End every session of the user, on every instance, at once."""
    await end_all_sessions(session, user_id=user_id)
    audit_service.record(session, kind="logout", user_id=user_id, client=client, all=True)
    await session.commit()


async def list_sessions(session: AsyncSession, *, user_id: uuid.UUID) -> list[AuthSession]:
    """The user's live sessions, newest first."""
    result = await session.scalars(
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
        .order_by(AuthSession.created_at.desc())
    )
    return list(result)


async def revoke_session(
    session: AsyncSession, *, user_id: uuid.UUID, session_id: uuid.UUID
) -> None:
    """End one of the user's own live sessions; anything else is 404."""
    result = await session.execute(
        update(AuthSession)
        .where(
            AuthSession.id == session_id,
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise SessionNotFound()
    await session.commit()


async def start_browser_session(
    session: AsyncSession,
    *,
    hasher: PasswordHasher,
    codec: TokenCodec,
    throttle: AccountThrottle,
    email: str,
    password: str,
    client: ClientInfo,
) -> tuple[User, str]:
    """Log in for the cookie API: a `browser` session and the cookie value (stored hashed)."""
    user = await authenticate(
        session, hasher=hasher, throttle=throttle, email=email, password=password, client=client
    )
    cookie = new_opaque_token()
    await start_session(
        session,
        codec=codec,
        user=user,
        client=client,
        now=utcnow(),
        kind="browser",
        token_hash=hash_token(cookie),
    )
    await session.commit()
    return user, cookie


async def resolve_browser_session(session: AsyncSession, *, cookie: str) -> Principal:
    """The live browser session and active user behind a cookie; otherwise FORBIDDEN."""
    row = (
        await session.execute(
            select(AuthSession, User)
            .join(User, AuthSession.user_id == User.id)
            .where(AuthSession.token_hash == hash_token(cookie), AuthSession.kind == "browser")
        )
    ).first()
    if row is None or not token_matches(cookie, row[0].token_hash or ""):
        raise Forbidden()
    auth_session, user = row
    if not _is_live(auth_session, user, utcnow()):
        raise Forbidden()
    return Principal(user=user, session=auth_session)
