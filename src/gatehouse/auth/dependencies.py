"""Dependencies of authenticated routes: the caller, the admin guard, client details."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from gatehouse.auth import service as auth_service
from gatehouse.auth.passwords import PasswordPolicy
from gatehouse.auth.service import ClientInfo, Principal
from gatehouse.core.db import SessionDep, utcnow
from gatehouse.core.errors import Forbidden, NotAuthenticated
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
    return ClientInfo(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


HasherDep = Annotated[PasswordHasher, Depends(_hasher)]
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
