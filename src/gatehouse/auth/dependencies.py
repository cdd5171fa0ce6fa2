"""Dependencies of authenticated routes: the caller, the admin guard, the request's origin,
the account flows' tools, and the throttle around confirming the caller's password."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from gatehouse.auth import passwords
from gatehouse.auth import service as auth_service
from gatehouse.auth.devices import DeviceTokenDep
from gatehouse.auth.kit import AuthKit
from gatehouse.auth.limits import VERIFY
from gatehouse.auth.service import Caller, Principal
from gatehouse.core.db import DbDep, KeyReaderDep, utcnow
from gatehouse.core.errors import Forbidden, NotAuthenticated
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.ratelimit import limiter_of
from gatehouse.users.models import User

bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="An access token from /api/v1/auth/token or /api/v1/auth/login.",
)


# `async def`, though they do not wait: FastAPI runs a plain `def` dependency in a worker
# thread, a round trip through the thread pool on every authenticated request.
async def _auth_kit(request: Request) -> AuthKit:
    kit: AuthKit = request.app.state.auth
    return kit


async def _origin(request: Request) -> RequestOrigin:
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


async def get_caller(
    token: Annotated[str | None, Depends(bearer_scheme)], reader: KeyReaderDep, kit: AuthKitDep
) -> Caller:
    """The bearer token's caller, for routes that only need to know who asks: the checks of
    `get_principal` with a read of a few columns, no ORM session (`auth_service.resolve_caller`)."""
    if not token:
        raise NotAuthenticated()
    claims = kit.codec.decode_access_token(token)
    return await auth_service.resolve_caller(reader, claims=claims, now=utcnow())


CurrentCaller = Annotated[Caller, Depends(get_caller)]


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


class PasswordConfirmation:
    """For routes of lower domains whose use case confirms the caller's password (the
    users' email change and account deletion): `async with confirm(user): ...` puts the
    login throttle around it (see `passwords.password_attempt`). With `needed=False` (the
    request confirms no password) it does nothing."""

    def __init__(self, kit: AuthKit, device_token: str | None) -> None:
        self._kit = kit
        self._device_token = device_token

    def __call__(self, user: User, *, needed: bool = True) -> AbstractAsyncContextManager[None]:
        if not needed:
            return nullcontext()
        return passwords.password_attempt(self._kit, user=user, device_token=self._device_token)


async def _password_confirmation(
    kit: AuthKitDep, device_token: DeviceTokenDep
) -> PasswordConfirmation:
    return PasswordConfirmation(kit, device_token)


PasswordConfirmationDep = Annotated[PasswordConfirmation, Depends(_password_confirmation)]
