"""Dependencies of authenticated routes: the caller, the admin guard, client details."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from gatehouse.auth import service as auth_service
from gatehouse.auth.passwords import PasswordPolicy
from gatehouse.auth.service import Principal
from gatehouse.auth.throttle import AccountThrottle
from gatehouse.core.client import ClientInfo, client_ip
from gatehouse.core.db import SessionDep, utcnow
from gatehouse.core.errors import Forbidden, NotAuthenticated
from gatehouse.core.ratelimit import RateLimited, email_key, limiter_of, submitted_email
from gatehouse.core.security import PasswordHasher, TokenCodec
from gatehouse.users.models import User

bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="An access token from /api/v1/auth/token or /api/v1/auth/login.",
)


def _hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


def _codec(request: Request) -> TokenCodec:
    codec: TokenCodec = request.app.state.token_codec
    return codec


def _policy(request: Request) -> PasswordPolicy:
    policy: PasswordPolicy = request.app.state.password_policy
    return policy


def _client(request: Request) -> ClientInfo:
    return ClientInfo.of(request)


def _throttle(request: Request) -> AccountThrottle:
    throttle: AccountThrottle = request.app.state.throttle
    return throttle


HasherDep = Annotated[PasswordHasher, Depends(_hasher)]
ThrottleDep = Annotated[AccountThrottle, Depends(_throttle)]
TokenCodecDep = Annotated[TokenCodec, Depends(_codec)]
PolicyDep = Annotated[PasswordPolicy, Depends(_policy)]
ClientDep = Annotated[ClientInfo, Depends(_client)]


async def get_principal(
    token: Annotated[str | None, Depends(bearer_scheme)],
    session: SessionDep,
    codec: TokenCodecDep,
) -> Principal:
    """Decode the bearer token, then load its session and user in one query."""
    if not token:
        raise NotAuthenticated()
    now = utcnow()
    claims = codec.decode_access_token(token, now=now)
    return await auth_service.resolve_principal(session, claims=claims, now=now)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_current_user(principal: CurrentPrincipal) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def require_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden()
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def login_rate_limit(email_field: str) -> Callable[..., Awaitable[None]]:
    """RATE_LIMIT_LOGIN per account+IP and RATE_LIMIT_LOGIN_IP per IP, shared by /token,
    /login and POST /sessions. A refused attempt still counts as a failed login for the
    account's throttle."""

    async def limit(request: Request, throttle: ThrottleDep) -> None:
        email = await submitted_email(request, email_field)
        ip = client_ip(request)
        try:
            await limiter_of(request).check(("login_ip", (ip,)), ("login", (email_key(email), ip)))
        except RateLimited:
            if email:
                await throttle.record_failure(email, extend=False)
            raise

    return limit
