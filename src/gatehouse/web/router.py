"""The browser session API, at the root, with form bodies and a `session_id` cookie.

Its success bodies (and the duplicate-email 400) are plain JSON, not the envelope,
because existing clients read them; other failures use the envelope like every route.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, status
from fastapi.responses import JSONResponse, RedirectResponse

from gatehouse.auth import recovery
from gatehouse.auth import service as auth_service
from gatehouse.auth.dependencies import (
    ClientDep,
    HasherDep,
    PolicyDep,
    ThrottleDep,
    TokenCodecDep,
    login_rate_limit,
)
from gatehouse.auth.exceptions import EmailAlreadyRegistered, InvalidResetToken
from gatehouse.core.config import SettingsDep
from gatehouse.core.db import SessionDep
from gatehouse.core.errors import Forbidden
from gatehouse.core.openapi import error_responses
from gatehouse.core.ratelimit import forgot_password_rate_limit, register_rate_limit
from gatehouse.web.dependencies import SESSION_COOKIE, BrowserPrincipal

router = APIRouter(tags=["browser"])

Email = Annotated[str, Form(min_length=3, max_length=320)]
Password = Annotated[str, Form(min_length=1, max_length=1024)]


@router.get("/")
async def welcome() -> dict[str, str]:
    """A greeting for JSON clients."""
    return {"message": "Bienvenue"}


@router.post(
    "/users",
    dependencies=[Depends(register_rate_limit)],
    responses={400: {"description": '`{"message": "email already registered"}`'}},
)
async def register(
    email: Email,
    password: Password,
    session: SessionDep,
    hasher: HasherDep,
    policy: PolicyDep,
    settings: SettingsDep,
) -> Any:
    """Create an account (shares the rules and counters of /api/v1/auth/register)."""
    try:
        user = await auth_service.register(
            session,
            hasher=hasher,
            policy=policy,
            email=email,
            password=password,
            full_name=None,
            settings=settings,
        )
    except EmailAlreadyRegistered:
        return JSONResponse({"message": "email already registered"}, status_code=400)
    return {"email": user.email, "message": "user created"}


@router.post(
    "/sessions",
    dependencies=[Depends(login_rate_limit("email"))],
    responses=error_responses(401, 403, 422, 429),
)
async def login(
    email: Email,
    password: Password,
    session: SessionDep,
    hasher: HasherDep,
    codec: TokenCodecDep,
    throttle: ThrottleDep,
    client: ClientDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Log in; sets the `session_id` cookie (HttpOnly, SameSite=Lax, Secure outside development)."""
    user, cookie = await auth_service.start_browser_session(
        session,
        hasher=hasher,
        codec=codec,
        throttle=throttle,
        email=email,
        password=password,
        client=client,
    )
    response = JSONResponse({"email": user.email, "message": "logged in"})
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(codec.refresh_ttl.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=not settings.is_development,
    )
    return response


@router.delete("/sessions", status_code=status.HTTP_302_FOUND, responses=error_responses(403))
async def logout(
    principal: BrowserPrincipal, session: SessionDep, client: ClientDep
) -> RedirectResponse:
    """End the cookie's session and go back to `/`."""
    await auth_service.logout(session, principal=principal, client=client)
    response = RedirectResponse("/", status_code=status.HTTP_302_FOUND)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/profile", responses=error_responses(403))
async def profile(principal: BrowserPrincipal) -> dict[str, str]:
    """The email of the cookie's user."""
    return {"email": principal.user.email}


@router.post(
    "/reset_password",
    dependencies=[Depends(forgot_password_rate_limit)],
    responses=error_responses(403, 422, 429),
)
async def request_reset(
    email: Email, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> dict[str, str]:
    """Start a reset. In development the token is in the answer (403 for unknown emails);
    otherwise it goes by mail and the answer is the same for every email."""
    token = await recovery.forgot_password(session, email=email, settings=settings, client=client)
    normalized = email.strip().lower()
    if settings.is_development:
        if token is None:
            raise Forbidden("Unknown email")
        return {"email": normalized, "reset_token": token}
    return {"email": normalized, "message": "If this email has an account, a reset link was sent."}


@router.put("/reset_password", responses=error_responses(403, 422))
async def reset(
    email: Email,
    reset_token: Annotated[str, Form(min_length=1, max_length=512)],
    new_password: Password,
    session: SessionDep,
    hasher: HasherDep,
    policy: PolicyDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
    client: ClientDep,
) -> dict[str, str]:
    """Set a new password with a reset token issued to this email."""
    try:
        user = await recovery.reset_password(
            session,
            hasher=hasher,
            policy=policy,
            token=reset_token,
            new_password=new_password,
            settings=settings,
            throttle=throttle,
            client=client,
            email=email,
        )
    except InvalidResetToken as exc:
        raise Forbidden("Invalid reset token") from exc
    return {"email": user.email, "message": "Password updated"}
