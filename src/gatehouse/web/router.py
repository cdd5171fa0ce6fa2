"""The browser session API, at the root, with form bodies and a `session_id` cookie.

Its success bodies (and the duplicate-email 400) are plain JSON, not the envelope,
because existing clients read them; other failures use the envelope like every route.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import JSONResponse, RedirectResponse

from gatehouse.auth import mfa, passkeys, recovery
from gatehouse.auth import service as auth_service
from gatehouse.auth.dependencies import AuthKitDep, OriginDep
from gatehouse.auth.devices import DeviceTokenDep
from gatehouse.auth.exceptions import (
    AccountDisabled,
    InvalidCredentials,
    InvalidMfaCode,
    InvalidResetToken,
    MfaRequired,
    PasskeyLoginFailed,
)
from gatehouse.auth.kit import AuthKit
from gatehouse.auth.limits import forgot_password_rate_limit, login_rate_limit, register_rate_limit
from gatehouse.core.db import DbDep
from gatehouse.core.errors import Forbidden, InvalidToken, RateLimited, ValidationFailed
from gatehouse.core.network import is_loopback_host
from gatehouse.core.openapi import error_responses
from gatehouse.core.ratelimit import default_rate_limit
from gatehouse.users.emails import normalize_email
from gatehouse.users.exceptions import EmailAlreadyRegistered
from gatehouse.web import pages
from gatehouse.web.dependencies import (
    SESSION_COOKIE,
    BrowserPrincipal,
    same_site_only,
    set_sign_in_cookies,
)
from gatehouse.web.exceptions import CsrfFailed

router = APIRouter(tags=["browser"], dependencies=[Depends(same_site_only)])

Email = Annotated[str, Form(min_length=3, max_length=320)]
Password = Annotated[str, Form(min_length=1, max_length=1024)]


@router.get("/", response_model=dict[str, str])
async def welcome(request: Request, db: DbDep) -> Any:
    """A greeting for JSON clients; a browser (`Accept: text/html`) gets the home page."""
    if pages.wants_html(request):
        return await pages.home(request, db)
    return {"message": "Bienvenue"}


@router.post(
    "/users",
    dependencies=[Depends(register_rate_limit)],
    responses={
        400: {"description": '`{"message": "email already registered"}`'},
        **error_responses(CsrfFailed, ValidationFailed, RateLimited),
    },
)
async def register(email: Email, password: Password, db: DbDep, kit: AuthKitDep) -> Any:
    """Create an account (shares the rules and counters of /api/v1/auth/register)."""
    try:
        user = await auth_service.register(
            db, kit=kit, email=email, password=password, full_name=None
        )
    except EmailAlreadyRegistered:
        return JSONResponse({"message": "email already registered"}, status_code=400)
    return {"email": user.email, "message": "user created"}


@router.post(
    "/sessions",
    dependencies=[Depends(login_rate_limit("email"))],
    responses=error_responses(
        InvalidCredentials, MfaRequired, AccountDisabled, CsrfFailed, ValidationFailed, RateLimited
    ),
)
async def login(
    email: Email,
    password: Password,
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
    device_token: DeviceTokenDep,
) -> JSONResponse:
    """Log in; sets the `session_id` cookie (HttpOnly, SameSite=Lax, Secure outside development)
    and the `gh_device` cookie that remembers this browser. For an account with a second
    factor a right password answers 401 MFA_REQUIRED with `details.mfa_token`: finish at
    `POST /sessions/mfa`."""
    user, cookie, device = await auth_service.start_browser_session(
        db, kit=kit, email=email, password=password, origin=origin, device_token=device_token
    )
    response = JSONResponse({"email": user.email, "message": "logged in"})
    set_sign_in_cookies(response, kit=kit, cookie=cookie, device=device)
    return response


@router.post(
    "/sessions/mfa",
    dependencies=[Depends(default_rate_limit)],
    responses=error_responses(
        InvalidMfaCode, InvalidToken, CsrfFailed, ValidationFailed, RateLimited
    ),
)
async def login_second_factor(
    mfa_token: Annotated[str, Form(min_length=1, max_length=512)],
    code: Annotated[str, Form(min_length=1, max_length=64)],
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
    device_token: DeviceTokenDep,
) -> JSONResponse:
    """The second step of a `POST /sessions` that answered MFA_REQUIRED: the `mfa_token`
    and a TOTP or recovery code set the cookies as a login does. The token works once, for
    5 minutes, and its fifth wrong code ends it; wrong codes count as failed logins."""
    user, cookie, device = await mfa.verify_browser_login(
        db, kit=kit, mfa_token=mfa_token, code=code, origin=origin, device_token=device_token
    )
    response = JSONResponse({"email": user.email, "message": "logged in"})
    set_sign_in_cookies(response, kit=kit, cookie=cookie, device=device)
    return response


@router.post(
    "/sessions/webauthn",
    dependencies=[Depends(default_rate_limit)],
    responses=error_responses(
        PasskeyLoginFailed, AccountDisabled, CsrfFailed, ValidationFailed, RateLimited
    ),
)
async def login_passkey(
    credential: Annotated[str, Form(min_length=2, max_length=16384)],
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
    device_token: DeviceTokenDep,
    mfa_token: Annotated[str | None, Form(min_length=1, max_length=512)] = None,
) -> JSONResponse:
    """Sign in with a passkey and set the cookies as a login does: `credential` is the
    assertion (JSON) answering `POST /api/v1/auth/mfa/webauthn/login/options`. Passwordless,
    or with the `mfa_token` of a `POST /sessions` that answered MFA_REQUIRED, its second
    step. A refused passkey counts as a failed login of its account."""
    try:
        parsed = json.loads(credential)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise PasskeyLoginFailed("`credential` is not a JSON object")
    user, cookie, device = await passkeys.browser_login(
        db,
        kit=kit,
        credential=parsed,
        mfa_token=mfa_token,
        origin=origin,
        device_token=device_token,
    )
    response = JSONResponse({"email": user.email, "message": "logged in"})
    set_sign_in_cookies(response, kit=kit, cookie=cookie, device=device)
    return response


@router.delete(
    "/sessions", status_code=status.HTTP_302_FOUND, responses=error_responses(Forbidden, CsrfFailed)
)
async def logout(principal: BrowserPrincipal, db: DbDep, origin: OriginDep) -> RedirectResponse:
    """End the cookie's session and go back to `/`."""
    await auth_service.logout(db, principal=principal, origin=origin)
    response = RedirectResponse("/", status_code=status.HTTP_302_FOUND)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/profile", responses=error_responses(Forbidden))
async def profile(principal: BrowserPrincipal) -> dict[str, str]:
    """The email of the cookie's user."""
    return {"email": principal.user.email}


@router.post(
    "/reset_password",
    dependencies=[Depends(forgot_password_rate_limit)],
    responses=error_responses(Forbidden, CsrfFailed, ValidationFailed, RateLimited),
)
async def request_reset(
    email: Email, request: Request, db: DbDep, kit: AuthKitDep, origin: OriginDep
) -> dict[str, str]:
    """Start a reset. In development, to a client on this machine that asked for this
    service by a name of its own (loopback, or PUBLIC_URL's host — not a name an attacker's
    page rebound to 127.0.0.1), the token is in the answer (403 for unknown emails);
    otherwise it goes by mail and the answer is the same for every email."""
    token = await recovery.forgot_password(db, kit=kit, email=email, origin=origin)
    normalized = normalize_email(email)
    if kit.settings.is_development and origin.is_loopback and _named_for_us(request, kit):
        if token is None:
            raise Forbidden("Unknown email")
        return {"email": normalized, "reset_token": token}
    return {"email": normalized, "message": "If this email has an account, a reset link was sent."}


def _named_for_us(request: Request, kit: AuthKit) -> bool:
    """Whether the request's Host is a loopback name or PUBLIC_URL's host."""
    host = request.url.hostname or ""
    return is_loopback_host(host) or host == (urlsplit(kit.settings.PUBLIC_URL).hostname or "")


@router.put("/reset_password", responses=error_responses(Forbidden, CsrfFailed, ValidationFailed))
async def reset(
    email: Email,
    reset_token: Annotated[str, Form(min_length=1, max_length=512)],
    new_password: Password,
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
) -> dict[str, str]:
    """Set a new password with a reset token issued to this email."""
    try:
        user = await recovery.reset_password(
            db,
            kit=kit,
            token=reset_token,
            new_password=new_password,
            origin=origin,
            email=email,
        )
    except InvalidResetToken as exc:
        raise Forbidden("Invalid reset token") from exc
    return {"email": user.email, "message": "Password updated"}
