"""The cookie transport: the `session_id` cookie resolves to a browser session."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Cookie, Depends, Request, Response

from gatehouse.auth import service as auth_service
from gatehouse.auth.dependencies import AuthKitDep
from gatehouse.auth.devices import set_device_cookie
from gatehouse.auth.kit import AuthKit
from gatehouse.auth.service import Principal
from gatehouse.core.db import DbDep
from gatehouse.core.errors import Forbidden
from gatehouse.web.exceptions import CsrfFailed

SESSION_COOKIE = "session_id"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, as browsers write the Origin header."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def same_site_only(request: Request, kit: AuthKitDep) -> None:
    """Refuse (403 CSRF_FAILED) a state-changing request that another site's page sent:
    its `Origin` is neither PUBLIC_URL's origin nor the request's own, or the browser
    marks it `Sec-Fetch-Site: cross-site`. Requests with neither header (curl, scripts,
    older clients) are served: they carry no ambient browser credentials to abuse."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        raise CsrfFailed()
    origin = request.headers.get("origin")
    if origin is None:
        return
    own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    if origin.lower() not in {own, _origin_of(kit.settings.PUBLIC_URL)}:
        raise CsrfFailed()


async def browser_principal(
    db: DbDep,
    kit: AuthKitDep,
    session_id: Annotated[str | None, Cookie(max_length=512)] = None,
) -> Principal:
    """The browser session of the `session_id` cookie; FORBIDDEN without a live one."""
    if not session_id:
        raise Forbidden()
    return await auth_service.resolve_browser_session(db, kit=kit, cookie=session_id)


BrowserPrincipal = Annotated[Principal, Depends(browser_principal)]


def set_sign_in_cookies(response: Response, *, kit: AuthKit, cookie: str, device: str) -> None:
    """After a browser sign-in: the `session_id` cookie (HttpOnly, SameSite=Lax, Secure
    outside development, as long as a session may live unrefreshed) and the device cookie
    that remembers this browser."""
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(kit.codec.refresh_ttl.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=not kit.settings.is_development,
    )
    set_device_cookie(response, device, settings=kit.settings)
