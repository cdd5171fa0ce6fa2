"""Server-rendered pages for people: sign up, sign in and out, forgotten and reset
passwords, email verification and the account page.

They call the same use cases as the JSON API and sign in through the browser session
cookie of `POST /sessions` (same table, revocation, limits and throttle). Forms are
read by hand, not by FastAPI's validation, so that every failure is shown on the page
beside its field instead of the JSON envelope. Every state-changing form carries a CSRF
token (`forms.py`) and is refused (403, an HTML page) without a valid one, or when
`same_site_only` sees another site's request. Pages are left out of the OpenAPI document.
"""

from __future__ import annotations

import uuid
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth import mfa, passkeys, passwords, recovery, second_factor, verification
from gatehouse.auth import service as auth_service
from gatehouse.auth.dependencies import PasswordConfirmation, verify_rate_limit
from gatehouse.auth.exceptions import (
    AccountDisabled,
    InvalidCredentials,
    InvalidMfaCode,
    InvalidResetToken,
    InvalidVerificationToken,
    MfaRequired,
)
from gatehouse.auth.limits import forgot_password_rate_limit, login_rate_limit, register_rate_limit
from gatehouse.auth.profile import update_profile
from gatehouse.auth.schemas import ForgotPasswordRequest, RegisterRequest
from gatehouse.auth.service import Principal
from gatehouse.core.db import DbDep
from gatehouse.core.errors import InvalidToken, RateLimited
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.ratelimit import default_rate_limit
from gatehouse.sessions import service as sessions_service
from gatehouse.sessions.exceptions import SessionNotFound
from gatehouse.users import service as users_service
from gatehouse.users.exceptions import (
    EmailAlreadyRegistered,
    InvalidPassword,
    LastAdmin,
    PasswordRejected,
)
from gatehouse.users.schemas import UserUpdateMe
from gatehouse.web.dependencies import SESSION_COOKIE
from gatehouse.web.forms import (
    field_errors,
    safe_next,
)
from gatehouse.web.rendering import (
    LANDING,
    TEXT_MAX,
    Form,
    device_token_of,
    notice_of,
    page_kit,
    redirect,
    render,
    retry_text,
    session_form_refused,
    signed_in,
    signed_in_post,
    signed_in_response,
    text_fields,
    to_login,
    visitor_form_refused,
    with_notice,
)

RESET_SENT = "If an account exists for this email, a reset link is on its way."

router = APIRouter(include_in_schema=False, tags=["pages"])


@cache
def _stylesheet() -> bytes:
    return files("gatehouse.web").joinpath("static/pages.css").read_bytes()


# --- home -----------------------------------------------------------------------------


def wants_html(request: Request) -> bool:
    """Whether the client asks for a page (a browser) rather than JSON."""
    return "text/html" in request.headers.get("accept", "").lower()


async def home(request: Request, db: AsyncSession) -> HTMLResponse:
    """The home page: links to sign in and up, or to the account."""
    principal = await signed_in(request, db)
    return render(request, "home.html", principal=principal)


@router.get("/static/pages.css")
async def stylesheet() -> Response:
    """The one stylesheet of the pages (system fonts, light and dark)."""
    return Response(
        _stylesheet(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


# --- sign up --------------------------------------------------------------------------


@router.get("/signup")
async def signup_page(request: Request, db: DbDep) -> Response:
    if await signed_in(request, db) is not None:
        return redirect(LANDING)
    return render(request, "signup.html")


@router.post("/signup")
async def signup(request: Request, db: DbDep) -> Response:
    if refused := await visitor_form_refused(request):
        return refused
    kit = page_kit(request)
    values = await text_fields(request, "email", "password", "full_name")
    shown = {"email": values["email"], "full_name": values["full_name"]}
    try:
        await register_rate_limit(request)
    except RateLimited as exc:
        return render(
            request, "signup.html", status_code=429, form=Form(shown, error=retry_text(exc))
        )
    try:
        data = RegisterRequest(
            email=values["email"],
            password=values["password"],
            full_name=values["full_name"] or None,
        )
    except ValidationError as exc:
        return render(request, "signup.html", status_code=422, form=Form(shown, field_errors(exc)))
    try:
        await auth_service.register(
            db, kit=kit, email=str(data.email), password=data.password, full_name=data.full_name
        )
    except EmailAlreadyRegistered:
        errors = {"email": "An account with this email already exists. Sign in instead."}
        return render(request, "signup.html", status_code=400, form=Form(shown, errors))
    except PasswordRejected as exc:
        return render(
            request,
            "signup.html",
            status_code=422,
            form=Form(shown, _policy_errors(exc, "password")),
        )
    origin = RequestOrigin.of(request)
    _, cookie, device = await auth_service.start_browser_session(
        db,
        kit=kit,
        email=str(data.email),
        password=data.password,
        origin=origin,
        device_token=device_token_of(request),
    )
    return signed_in_response(with_notice(LANDING, "welcome"), kit, cookie, device)


def _policy_errors(error: PasswordRejected, field_name: str) -> dict[str, str]:
    reason = error.details["fields"][0]["msg"]
    return {field_name: f"The password {reason}."}


# --- sign in and out ------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, db: DbDep) -> Response:
    next_path = safe_next(request.query_params.get("next"))
    if await signed_in(request, db) is not None:
        return redirect(next_path or LANDING)
    return render(request, "login.html", next_path=next_path, notice=notice_of(request))


@router.post("/login")
async def login(request: Request, db: DbDep) -> Response:
    if refused := await visitor_form_refused(request):
        return refused
    kit = page_kit(request)
    values = await text_fields(request, "email", "password", "next")
    next_path = safe_next(values["next"])
    shown = {"email": values["email"]}
    device_token = device_token_of(request)

    def again(status_code: int, form: Form) -> HTMLResponse:
        return render(
            request, "login.html", status_code=status_code, form=form, next_path=next_path
        )

    if not values["email"] or not values["password"]:
        errors = {
            name: "Enter your " + name + "." for name in ("email", "password") if not values[name]
        }
        return again(422, Form(shown, errors))
    try:
        await login_rate_limit("email")(request, db, device_token)
        _, cookie, device = await auth_service.start_browser_session(
            db,
            kit=kit,
            email=values["email"],
            password=values["password"],
            origin=RequestOrigin.of(request),
            device_token=device_token,
        )
    except RateLimited as exc:
        return again(429, Form(shown, error=retry_text(exc)))
    except InvalidCredentials:
        return again(400, Form(shown, error="The email or password is incorrect."))
    except AccountDisabled:
        return again(403, Form(shown, error="This account is disabled."))
    except MfaRequired as exc:
        return _code_step(request, str(exc.details["mfa_token"]), next_path)
    return signed_in_response(next_path or LANDING, kit, cookie, device)


def _code_step(
    request: Request,
    mfa_token: str,
    next_path: str | None,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    """The second step of signing in: the code, with the login's mfa_token hidden."""
    return render(
        request,
        "login.html",
        status_code=status_code,
        form=Form(error=error),
        next_path=next_path,
        mfa_token=mfa_token,
    )


@router.post("/login/code")
async def login_code(request: Request, db: DbDep) -> Response:
    if refused := await visitor_form_refused(request):
        return refused
    kit = page_kit(request)
    values = await text_fields(request, "mfa_token", "code", "next")
    next_path = safe_next(values["next"])
    if not values["code"]:
        error = "Enter the code from your authenticator app, or a recovery code."
        return _code_step(request, values["mfa_token"], next_path, status_code=422, error=error)
    try:
        await default_rate_limit(request)
        _, cookie, device = await mfa.verify_browser_login(
            db,
            kit=kit,
            mfa_token=values["mfa_token"],
            code=values["code"],
            origin=RequestOrigin.of(request),
            device_token=device_token_of(request),
        )
    except RateLimited as exc:
        return _code_step(
            request, values["mfa_token"], next_path, status_code=429, error=retry_text(exc)
        )
    except InvalidMfaCode:
        error = "The code is incorrect or was used already."
        return _code_step(request, values["mfa_token"], next_path, status_code=401, error=error)
    except InvalidToken:
        error = "This sign-in took too long or had too many wrong codes. Sign in again."
        return render(
            request, "login.html", status_code=401, form=Form(error=error), next_path=next_path
        )
    return signed_in_response(next_path or LANDING, kit, cookie, device)


@router.post("/logout")
async def logout(request: Request, db: DbDep) -> Response:
    principal = await signed_in(request, db)
    if principal is None:
        return redirect("/login")
    if refused := await session_form_refused(request, principal):
        return refused
    await auth_service.logout(db, principal=principal, origin=RequestOrigin.of(request))
    return _signed_out(with_notice("/login", "signed-out"))


def _signed_out(location: str) -> RedirectResponse:
    response = redirect(location)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- forgotten password and reset -----------------------------------------------------


@router.get("/forgot-password")
async def forgot_page(request: Request) -> Response:
    return render(request, "forgot.html")


@router.post("/forgot-password")
async def forgot(request: Request, db: DbDep) -> Response:
    if refused := await visitor_form_refused(request):
        return refused
    values = await text_fields(request, "email")
    shown = {"email": values["email"]}
    try:
        await forgot_password_rate_limit(request, db, device_token_of(request))
    except RateLimited as exc:
        return render(
            request, "forgot.html", status_code=429, form=Form(shown, error=retry_text(exc))
        )
    try:
        data = ForgotPasswordRequest(email=values["email"])
    except ValidationError as exc:
        return render(request, "forgot.html", status_code=422, form=Form(shown, field_errors(exc)))
    await recovery.forgot_password(
        db, kit=page_kit(request), email=str(data.email), origin=RequestOrigin.of(request)
    )
    return render(request, "forgot.html", sent=RESET_SENT)


@router.get("/reset-password")
async def reset_page(request: Request) -> Response:
    token = request.query_params.get("token", "")[:TEXT_MAX]
    if not token:
        return render(request, "reset.html", status_code=400, token="", invalid=True)
    return render(request, "reset.html", token=token, invalid=False)


@router.post("/reset-password")
async def reset(request: Request, db: DbDep) -> Response:
    if refused := await visitor_form_refused(request):
        return refused
    values = await text_fields(request, "token", "new_password", "confirm_password")
    token = values["token"]

    def again(status_code: int, errors: dict[str, str]) -> HTMLResponse:
        return render(
            request,
            "reset.html",
            status_code=status_code,
            form=Form(errors=errors),
            token=token,
            invalid=False,
        )

    try:
        await default_rate_limit(request)
    except RateLimited as exc:
        return again(429, {"new_password": retry_text(exc)})
    if not values["new_password"]:
        return again(422, {"new_password": "Enter a new password."})
    if values["new_password"] != values["confirm_password"]:
        return again(422, {"confirm_password": "The two passwords are not the same."})
    try:
        await recovery.reset_password(
            db,
            kit=page_kit(request),
            token=token,
            new_password=values["new_password"],
            origin=RequestOrigin.of(request),
        )
    except InvalidResetToken:
        return render(request, "reset.html", status_code=400, token="", invalid=True)
    except PasswordRejected as exc:
        return again(422, _policy_errors(exc, "new_password"))
    return _signed_out(with_notice("/login", "password-reset"))


# --- email verification ---------------------------------------------------------------


@router.get("/verify")
async def verify_page(request: Request) -> Response:
    """Shows a button that confirms the address: a link scanner's GET uses no token."""
    token = request.query_params.get("token", "")[:TEXT_MAX]
    return render(
        request, "verify.html", status_code=200 if token else 400, token=token, invalid=not token
    )


@router.post("/verify")
async def verify(request: Request, db: DbDep) -> Response:
    if refused := await visitor_form_refused(request):
        return refused
    token = (await text_fields(request, "token"))["token"]
    try:
        await default_rate_limit(request)
        await verification.verify_email(db, token=token, origin=RequestOrigin.of(request))
    except RateLimited as exc:
        return render(
            request,
            "verify.html",
            status_code=429,
            token=token,
            invalid=False,
            form=Form(error=retry_text(exc)),
        )
    except InvalidVerificationToken:
        return render(request, "verify.html", status_code=400, token="", invalid=True)
    principal = await signed_in(request, db)
    return redirect(with_notice(LANDING if principal else "/login", "verified"))


# --- the account page -----------------------------------------------------------------


async def _account(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    *,
    status_code: int = 200,
    forms: dict[str, Form] | None = None,
) -> HTMLResponse:
    sessions = await sessions_service.list_sessions(db, user_id=principal.user.id)
    return render(
        request,
        "account.html",
        status_code=status_code,
        principal=principal,
        section="account",
        sessions=sessions,
        passkeys=await passkeys.list_passkeys(db, user_id=principal.user.id),
        current_session=principal.session.id,
        second_factor_on=await second_factor.has_second_factor(db, user_id=principal.user.id),
        forms={
            "name": Form({"full_name": principal.user.full_name or ""}),
            **{name: Form() for name in ACCOUNT_FORMS if name != "name"},
            **{name: Form() for name in SECOND_FACTOR_FORMS},
            **(forms or {}),
        },
        notice=notice_of(request),
    )


ACCOUNT_FORMS = ("name", "email", "password", "sessions", "verify", "delete")
SECOND_FACTOR_FORMS = ("mfa_setup", "mfa_disable", "mfa_codes")  # web/mfa_pages.py


@router.get("/account")
async def account_page(request: Request, db: DbDep) -> Response:
    principal = await signed_in(request, db)
    if principal is None:
        return to_login(request)
    return await _account(request, db, principal)


async def _account_post(
    request: Request, db: AsyncSession, *, limited_form: str | None = None
) -> Principal | Response:
    """The signed-in caller of an account form, or the answer that stops it (sign in
    first; CSRF refused; with `limited_form`, the default rate limit shown on that form)."""
    principal = await signed_in_post(request, db, back="/account")
    if isinstance(principal, Response):
        return principal
    if limited_form is not None and (
        limited := await _limited(request, db, principal, limited_form)
    ):
        return limited
    return principal


async def _limited(
    request: Request, db: AsyncSession, principal: Principal, form: str
) -> Response | None:
    try:
        await default_rate_limit(request)
    except RateLimited as exc:
        return await _account(
            request, db, principal, status_code=429, forms={form: Form(error=retry_text(exc))}
        )
    return None


@router.post("/account/name")
async def change_name(request: Request, db: DbDep) -> Response:
    principal = await _account_post(request, db, limited_form="name")
    if isinstance(principal, Response):
        return principal
    values = await text_fields(request, "full_name")
    try:
        data = UserUpdateMe(full_name=values["full_name"] or None)
    except ValidationError as exc:
        form = Form(values, field_errors(exc))
        return await _account(request, db, principal, status_code=422, forms={"name": form})
    await update_profile(
        db, kit=page_kit(request), user=principal.user, fields={"full_name": data.full_name}
    )
    return redirect(with_notice("/account", "name-saved"))


@router.post("/account/email")
async def change_email(request: Request, db: DbDep) -> Response:
    principal = await _account_post(request, db, limited_form="email")
    if isinstance(principal, Response):
        return principal
    values = await text_fields(request, "email", "current_password")
    shown = {"email": values["email"]}

    async def again(status_code: int, form: Form) -> HTMLResponse:
        return await _account(
            request, db, principal, status_code=status_code, forms={"email": form}
        )

    try:
        data = UserUpdateMe(
            email=values["email"], current_password=values["current_password"] or None
        )
    except ValidationError as exc:
        errors = field_errors(exc)
        if "form" in errors or not values["current_password"]:
            errors = {**errors, "current_password": "Enter your current password."}
            errors.pop("form", None)
        return await again(422, Form(shown, errors))
    kit = page_kit(request)
    confirm = PasswordConfirmation(kit, device_token_of(request))
    try:
        async with confirm(principal.user):
            await update_profile(
                db,
                kit=kit,
                user=principal.user,
                fields={"email": str(data.email), "current_password": data.current_password},
            )
    except InvalidPassword:
        return await again(
            400, Form(shown, {"current_password": "The current password is incorrect."})
        )
    except EmailAlreadyRegistered:
        return await again(
            400, Form(shown, {"email": "An account with this email already exists."})
        )
    except RateLimited as exc:
        return await again(429, Form(shown, error=retry_text(exc)))
    return redirect(with_notice("/account", "email-changed"))


@router.post("/account/password")
async def change_password(request: Request, db: DbDep) -> Response:
    principal = await _account_post(request, db, limited_form="password")
    if isinstance(principal, Response):
        return principal
    values = await text_fields(request, "current_password", "new_password")

    async def again(status_code: int, form: Form) -> HTMLResponse:
        return await _account(
            request, db, principal, status_code=status_code, forms={"password": form}
        )

    missing = {
        name: f"Enter your {label}."
        for name, label in (
            ("current_password", "current password"),
            ("new_password", "new password"),
        )
        if not values[name]
    }
    if missing:
        return await again(422, Form(errors=missing))
    try:
        await passwords.change_password(
            db,
            kit=page_kit(request),
            user=principal.user,
            current_session=principal.session.id,
            current_password=values["current_password"],
            new_password=values["new_password"],
            origin=RequestOrigin.of(request),
            device_token=device_token_of(request),
        )
    except InvalidPassword:
        return await again(
            400, Form(errors={"current_password": "The current password is incorrect."})
        )
    except PasswordRejected as exc:
        return await again(422, Form(errors=_policy_errors(exc, "new_password")))
    except RateLimited as exc:
        return await again(429, Form(error=retry_text(exc)))
    return redirect(with_notice("/account", "password-changed"))


@router.post("/account/sessions/{session_id}/end")
async def end_session(session_id: str, request: Request, db: DbDep) -> Response:
    principal = await _account_post(request, db, limited_form="sessions")
    if isinstance(principal, Response):
        return principal
    try:
        target = uuid.UUID(session_id)
        await sessions_service.revoke_session(db, user_id=principal.user.id, session_id=target)
    except (ValueError, SessionNotFound):
        form = Form(error="That session is already signed out.")
        return await _account(request, db, principal, status_code=404, forms={"sessions": form})
    if target == principal.session.id:
        return _signed_out(with_notice("/login", "signed-out"))
    return redirect(with_notice("/account", "session-ended"))


@router.post("/account/sessions/end-all")
async def end_all_sessions(request: Request, db: DbDep) -> Response:
    principal = await _account_post(request, db)
    if isinstance(principal, Response):
        return principal
    await auth_service.logout_all(db, user_id=principal.user.id, origin=RequestOrigin.of(request))
    return _signed_out(with_notice("/login", "signed-out-everywhere"))


@router.post("/account/verify")
async def send_verification(request: Request, db: DbDep) -> Response:
    principal = await _account_post(request, db)
    if isinstance(principal, Response):
        return principal
    try:
        await verify_rate_limit(request, principal.user)
    except RateLimited as exc:
        form = Form(error=retry_text(exc))
        return await _account(request, db, principal, status_code=429, forms={"verify": form})
    await verification.request_verification(
        db, user=principal.user, settings=page_kit(request).settings
    )
    return redirect(with_notice("/account", "verification-sent"))


@router.post("/account/delete")
async def delete_account(request: Request, db: DbDep) -> Response:
    principal = await _account_post(request, db)
    if isinstance(principal, Response):
        return principal
    password = (await text_fields(request, "password"))["password"]

    async def again(status_code: int, form: Form) -> HTMLResponse:
        return await _account(
            request, db, principal, status_code=status_code, forms={"delete": form}
        )

    if not password:
        return await again(422, Form(errors={"password": "Enter your password."}))
    kit = page_kit(request)
    try:
        async with PasswordConfirmation(kit, device_token_of(request))(principal.user):
            await users_service.delete_me(
                db, hasher=kit.hasher, user=principal.user, password=password
            )
    except InvalidPassword:
        return await again(400, Form(errors={"password": "The password is incorrect."}))
    except LastAdmin:
        return await again(
            409, Form(error="You are the last active admin; make another admin first.")
        )
    except RateLimited as exc:
        return await again(429, Form(error=retry_text(exc)))
    return _signed_out(with_notice("/login", "account-deleted"))
