"""The account page's "Second factor" section: set up TOTP (the password, then a QR code
of the otpauth URI and a first code), turn it off, and new recovery codes.

The same use cases as `/api/v1/auth/mfa`, with the pages' CSRF tokens, errors beside the
fields and the default rate limit. The secret and the recovery codes are shown only in
the answer to a POST (no-store, never in a URL): the recovery codes page is not shown
again on reload, since the form it answers does not work twice. The QR code is inline
SVG markup (segno), which the pages' CSP (no inline scripts or styles) allows.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth import mfa
from gatehouse.auth.exceptions import InvalidMfaCode, MfaAlreadyEnabled, MfaNotEnabled
from gatehouse.auth.mfa import TotpEnrolment
from gatehouse.auth.service import Principal
from gatehouse.core.db import DbDep
from gatehouse.core.errors import RateLimited
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.ratelimit import default_rate_limit
from gatehouse.users.exceptions import InvalidPassword
from gatehouse.web import pages
from gatehouse.web.rendering import (
    Form,
    device_token_of,
    page_kit,
    redirect,
    render,
    retry_text,
    text_fields,
    with_notice,
)

router = APIRouter(include_in_schema=False, tags=["pages"])

ENTER_PASSWORD = "Enter your password."  # noqa: S105 - a message
ENTER_CODE = "Enter a code from your authenticator app, or a recovery code."
WRONG_PASSWORD = "The password is incorrect."  # noqa: S105 - a message
WRONG_CODE = "The code is incorrect or was used already."
NOT_ON = "The second factor is off already."
ALREADY_ON = "The second factor is on already."


def qr_svg(uri: str) -> Markup:
    """The QR code of `uri` as inline SVG: dark modules on a white square with its quiet
    zone, so that it scans in the dark theme too."""
    from segno import make_qr  # deferred: only an enrolment draws a QR code

    svg = make_qr(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", svgclass="qr")
    return Markup(svg)  # noqa: S704 - segno's own markup of a URI we built


def _setup_page(
    request: Request,
    principal: Principal,
    enrolment: TotpEnrolment,
    *,
    status_code: int = 200,
    form: Form | None = None,
) -> HTMLResponse:
    return render(
        request,
        "second_factor_setup.html",
        status_code=status_code,
        principal=principal,
        section="account",
        secret=enrolment.secret,
        qr=qr_svg(enrolment.otpauth_uri),
        form=form or Form(),
    )


def _codes_page(
    request: Request, principal: Principal, codes: list[str], *, first: bool
) -> Response:
    return render(
        request,
        "recovery_codes.html",
        principal=principal,
        section="account",
        codes=codes,
        first=first,
    )


async def _again(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    name: str,
    status_code: int,
    form: Form,
) -> HTMLResponse:
    return await pages._account(request, db, principal, status_code=status_code, forms={name: form})


@router.post("/account/mfa/setup")
async def setup(request: Request, db: DbDep) -> Response:
    principal = await pages._account_post(request, db, limited_form="mfa_setup")
    if isinstance(principal, Response):
        return principal
    password = (await text_fields(request, "password"))["password"]
    if not password:
        return await _again(
            request, db, principal, "mfa_setup", 422, Form(errors={"password": ENTER_PASSWORD})
        )
    try:
        enrolment = await mfa.setup_totp(
            db,
            kit=page_kit(request),
            user=principal.user,
            password=password,
            device_token=device_token_of(request),
        )
    except InvalidPassword:
        return await _again(
            request, db, principal, "mfa_setup", 400, Form(errors={"password": WRONG_PASSWORD})
        )
    except MfaAlreadyEnabled:
        # The section shows the "Turn off" form now: the error goes there.
        return await _again(request, db, principal, "mfa_disable", 409, Form(error=ALREADY_ON))
    except RateLimited as exc:
        return await _again(request, db, principal, "mfa_setup", 429, Form(error=retry_text(exc)))
    return _setup_page(request, principal, enrolment)


@router.post("/account/mfa/confirm")
async def confirm(request: Request, db: DbDep) -> Response:
    principal = await pages._account_post(request, db)
    if isinstance(principal, Response):
        return principal
    kit = page_kit(request)
    enrolment = await mfa.pending_totp(db, kit=kit, user=principal.user)
    if enrolment is None:
        form = Form(error="No setup is waiting for a code. Start again with your password.")
        return await _again(request, db, principal, "mfa_setup", 409, form)
    code = (await text_fields(request, "code"))["code"].strip()
    if not code:
        form = Form(errors={"code": "Enter the code your authenticator app shows."})
        return _setup_page(request, principal, enrolment, status_code=422, form=form)
    try:
        await default_rate_limit(request)
        codes = await mfa.confirm_totp(
            db,
            kit=kit,
            user=principal.user,
            code=code,
            origin=RequestOrigin.of(request),
            device_token=device_token_of(request),
        )
    except RateLimited as exc:
        return _setup_page(
            request, principal, enrolment, status_code=429, form=Form(error=retry_text(exc))
        )
    except InvalidMfaCode:
        form = Form(errors={"code": WRONG_CODE})
        return _setup_page(request, principal, enrolment, status_code=401, form=form)
    return _codes_page(request, principal, codes, first=True)


async def _password_and_code(
    request: Request, db: AsyncSession, principal: Principal, name: str
) -> tuple[str, str] | Response:
    values = await text_fields(request, "password", "code")
    missing = {}
    if not values["password"]:
        missing["password"] = ENTER_PASSWORD
    if not values["code"].strip():
        missing["code"] = ENTER_CODE
    if missing:
        return await _again(request, db, principal, name, 422, Form(errors=missing))
    return values["password"], values["code"].strip()


async def _refused(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    name: str,
    exc: InvalidPassword | InvalidMfaCode | MfaNotEnabled | RateLimited,
) -> Response:
    """The account page with the error of a turn-off or new-codes form."""
    if isinstance(exc, InvalidPassword):
        return await _again(
            request, db, principal, name, 400, Form(errors={"password": WRONG_PASSWORD})
        )
    if isinstance(exc, InvalidMfaCode):
        return await _again(request, db, principal, name, 401, Form(errors={"code": WRONG_CODE}))
    if isinstance(exc, MfaNotEnabled):
        # The section shows the setup form now: the error goes there.
        return await _again(request, db, principal, "mfa_setup", 409, Form(error=NOT_ON))
    return await _again(request, db, principal, name, 429, Form(error=retry_text(exc)))


_REFUSALS = (InvalidPassword, InvalidMfaCode, MfaNotEnabled, RateLimited)


@router.post("/account/mfa/disable")
async def disable(request: Request, db: DbDep) -> Response:
    principal = await pages._account_post(request, db, limited_form="mfa_disable")
    if isinstance(principal, Response):
        return principal
    given = await _password_and_code(request, db, principal, "mfa_disable")
    if isinstance(given, Response):
        return given
    password, code = given
    try:
        await mfa.disable_totp(
            db,
            kit=page_kit(request),
            user=principal.user,
            password=password,
            code=code,
            origin=RequestOrigin.of(request),
            device_token=device_token_of(request),
        )
    except _REFUSALS as exc:
        return await _refused(request, db, principal, "mfa_disable", exc)
    return redirect(with_notice("/account", "mfa-off"))


@router.post("/account/mfa/recovery-codes")
async def new_recovery_codes(request: Request, db: DbDep) -> Response:
    principal = await pages._account_post(request, db, limited_form="mfa_codes")
    if isinstance(principal, Response):
        return principal
    given = await _password_and_code(request, db, principal, "mfa_codes")
    if isinstance(given, Response):
        return given
    password, code = given
    try:
        codes = await mfa.regenerate_recovery_codes(
            db,
            kit=page_kit(request),
            user=principal.user,
            password=password,
            code=code,
            origin=RequestOrigin.of(request),
            device_token=device_token_of(request),
        )
    except _REFUSALS as exc:
        return await _refused(request, db, principal, "mfa_codes", exc)
    return _codes_page(request, principal, codes, first=False)
