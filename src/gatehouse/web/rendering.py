"""What every HTML page shares: rendering with the pages' headers, the signed-in browser
session, CSRF refusals, reading form fields, notices and redirects.

The page modules (`pages.py` for the account journeys, and one module per area) build on
these; none of them reads a form or renders a template another way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth import service as auth_service
from gatehouse.auth.devices import DEVICE_COOKIE, DEVICE_HEADER
from gatehouse.auth.kit import AuthKit
from gatehouse.auth.service import Principal
from gatehouse.core.errors import Forbidden, RateLimited
from gatehouse.web.dependencies import SESSION_COOKIE, same_site_only, set_sign_in_cookies
from gatehouse.web.exceptions import CsrfFailed
from gatehouse.web.forms import FORM_COOKIE, FORM_COOKIE_MAX_AGE, FormTokens

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    # Not the app's `no-referrer`: with it, browsers send `Origin: null` on a form POST,
    # which same_site_only refuses. Off-site requests still get no referrer.
    "Referrer-Policy": "same-origin",
}
LANDING = "/tasks"  # where signing in or up lands
TEXT_MAX = 1024  # longer form values are cut before they reach a check

# The only notices a page shows from its query string: a key, never free text.
NOTICES = {
    "signed-out": "You are signed out.",
    "password-reset": "Your password is set. Sign in with it.",
    "verified": "Your email address is confirmed.",
    "welcome": "Your account is ready. A link to confirm your email is on its way.",
    "name-saved": "Your name is saved.",
    "email-changed": "Your email is changed. A link to confirm it is on its way.",
    "password-changed": "Your password is changed. Your other sessions are signed out.",
    "session-ended": "That session is signed out.",
    "verification-sent": "If your email is not confirmed yet, a link is on its way.",
    "account-deleted": "Your account is deleted.",
    "signed-out-everywhere": "You are signed out everywhere.",
    "mfa-off": "The second factor is off. Signing in takes only your password again.",
    "passkey-added": "Your passkey is added.",
    "passkey-removed": "That passkey is deleted.",
    "task-added": "The task is added.",
    "task-saved": "The task is saved.",
    "task-done": "The task is done.",
    "task-reopened": "The task is open again.",
    "task-deleted": "The task is deleted.",
}


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("gatehouse.web", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
    )


def page_kit(request: Request) -> AuthKit:
    kit: AuthKit = request.app.state.auth
    return kit


def form_tokens(request: Request) -> FormTokens:
    return FormTokens(page_kit(request).settings.secret_key)


@dataclass
class Form:
    """What a page form shows: the values typed (never a password), the error beside each
    field, and one error for the whole form."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    principal: Principal | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page with the pages' headers; signed-out pages also get the form cookie."""
    tokens = form_tokens(request)
    nonce = request.cookies.get(FORM_COOKIE, "")
    fresh_nonce = None
    if principal is None and not (0 < len(nonce) <= 64):
        nonce = fresh_nonce = tokens.new_nonce()
    csrf = (
        tokens.for_session(principal.session.id)
        if principal is not None
        else tokens.for_visitor(nonce, issued=int(time.time()))
    )
    context.setdefault("form", Form())
    context.setdefault("notice", None)
    html = (
        _templates()
        .get_template(template)
        .render(user=principal.user if principal else None, csrf=csrf, **context)
    )
    response = HTMLResponse(
        html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})}
    )
    if fresh_nonce is not None:
        response.set_cookie(
            FORM_COOKIE,
            fresh_nonce,
            max_age=FORM_COOKIE_MAX_AGE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=not page_kit(request).settings.is_development,
        )
    return response


def redirect(location: str) -> RedirectResponse:
    """303 See Other: after a POST the browser GETs `location`."""
    return RedirectResponse(location, status_code=303, headers=PAGE_HEADERS)


def with_notice(path: str, notice: str) -> str:
    return f"{path}?{urlencode({'notice': notice})}"


def notice_of(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("notice", ""))


def retry_text(error: RateLimited) -> str:
    seconds = int(error.details.get("retry_after", 1))
    unit = "second" if seconds == 1 else "seconds"
    return f"Too many attempts. Try again in {seconds} {unit}."


async def text_fields(request: Request, *names: str) -> dict[str, str]:
    form = await request.form()
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        values[name] = value[:TEXT_MAX] if isinstance(value, str) else ""
    return values


async def signed_in(request: Request, db: AsyncSession) -> Principal | None:
    """The browser session of the `session_id` cookie, or None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie or len(cookie) > 512:
        return None
    try:
        return await auth_service.resolve_browser_session(db, kit=page_kit(request), cookie=cookie)
    except Forbidden:
        return None


def csrf_refused(request: Request, principal: Principal | None = None) -> HTMLResponse:
    return render(request, "csrf.html", status_code=403, principal=principal)


async def cross_site(request: Request) -> bool:
    try:
        await same_site_only(request, page_kit(request))
    except CsrfFailed:
        return True
    return False


async def visitor_form_refused(request: Request) -> HTMLResponse | None:
    """The 403 page when a signed-out form's token is missing, forged or stale."""
    token = (await text_fields(request, "csrf_token"))["csrf_token"]
    nonce = request.cookies.get(FORM_COOKIE, "")
    if await cross_site(request) or not form_tokens(request).visitor_token_ok(
        token, nonce, now=int(time.time())
    ):
        return csrf_refused(request)
    return None


async def session_form_refused(request: Request, principal: Principal) -> HTMLResponse | None:
    """The 403 page when a signed-in form's token is not this session's."""
    token = (await text_fields(request, "csrf_token"))["csrf_token"]
    if await cross_site(request) or not form_tokens(request).session_token_ok(
        token, principal.session.id
    ):
        return csrf_refused(request, principal)
    return None


def to_login(request: Request, back: str | None = None) -> RedirectResponse:
    """To the sign-in page, which comes back to `back` (this page by default)."""
    return redirect(f"/login?{urlencode({'next': back or request.url.path})}")


async def signed_in_post(
    request: Request, db: AsyncSession, *, back: str
) -> Principal | RedirectResponse | HTMLResponse:
    """The signed-in caller of a form, or the answer that stops it: sign in first (then
    back to the page `back`), or the 403 page when the form's CSRF token is not this
    session's or the request comes from another site."""
    principal = await signed_in(request, db)
    if principal is None:
        return to_login(request, back)
    if refused := await session_form_refused(request, principal):
        return refused
    return principal


def device_token_of(request: Request) -> str | None:
    return request.headers.get(DEVICE_HEADER) or request.cookies.get(DEVICE_COOKIE)


def signed_in_response(location: str, kit: AuthKit, cookie: str, device: str) -> RedirectResponse:
    response = redirect(location)
    set_sign_in_cookies(response, kit=kit, cookie=cookie, device=device)
    return response
