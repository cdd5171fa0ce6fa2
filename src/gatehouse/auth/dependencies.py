"""Dependencies of authenticated routes: the caller, the admin guard, the request's origin,
and the account flows' tools."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from gatehouse.auth import service as auth_service
from gatehouse.auth.kit import AuthKit
from gatehouse.auth.limits import VERIFY
from gatehouse.auth.service import Principal
from gatehouse.core.db import DbDep, utcnow
from gatehouse.core.errors import Forbidden, NotAuthenticated
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.ratelimit import limiter_of
from gatehouse.users.models import User

bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="An access token from /api/v1/auth/token or /api/v1/auth/login.",
)


def _auth_kit(request: Request) -> AuthKit:
    kit: AuthKit = request.app.state.auth
    return kit


def _origin(request: Request) -> RequestOrigin:
    return RequestOrigin.of(request)


AuthKitDep = Annotated[AuthKit, Depends(_auth_kit)]
OriginDep = Annotated[RequestOrigin, Depends(_origin)]


async def get_principal(
    token: Annotated[str | None, Depends(bearer_scheme)], db: DbDep, kit: AuthKitDep
) -> Principal:
    """Decode the bearer token, then load its session and user in one query."""
    if not token:
        raise NotAuthenticated()
    claims = kit.codec.decode_access_token(token)
    return await auth_service.resolve_principal(db, claims=claims, now=utcnow())


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_current_user(principal: CurrentPrincipal) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def verify_rate_limit(request: Request, user: CurrentUser) -> None:
    """RATE_LIMIT_VERIFY per account: how many verification mails one account may ask for."""
    await limiter_of(request).check((VERIFY, (str(user.id),)))


async def require_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden()
    return user


AdminUser = Annotated[User, Depends(require_admin)]
