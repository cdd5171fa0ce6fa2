"""The account flows' rate limits, declared here (core only knows the default one).

Login limits count per account+IP and per IP, shared by /api/v1/auth/token,
/api/v1/auth/login and POST /sessions; registration per IP; forgot-password per email and
per IP. Emails are counted by their hash, so the store holds no addresses.

A request that presents a genuine device token of the account it names (see
`devices.py`) is counted on keys of its own, never on the ones unknown clients fill: the
per-account limit per account and device, the per-IP limit per IP and account (a device
token is good for one account only, so it cannot be used to spray or mail-bomb others).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth.devices import DeviceTokenDep
from gatehouse.auth.kit import AuthKit
from gatehouse.core.db import DbDep
from gatehouse.core.errors import RateLimited
from gatehouse.core.origin import client_network
from gatehouse.core.ratelimit import Identify, Limit, by_ip, limiter_of, rate_limit
from gatehouse.users import service as users_service
from gatehouse.users.emails import canonical_email, email_digest

LOGIN = Limit("login", "RATE_LIMIT_LOGIN")
LOGIN_IP = Limit("login_ip", "RATE_LIMIT_LOGIN_IP")
REGISTER = Limit("register", "RATE_LIMIT_REGISTER")
FORGOT_PASSWORD = Limit("forgot_password", "RATE_LIMIT_FORGOT_PASSWORD")
FORGOT_PASSWORD_IP = Limit("forgot_password_ip", "RATE_LIMIT_FORGOT_PASSWORD_IP")
VERIFY = Limit("verify", "RATE_LIMIT_VERIFY")  # verification mails, per account

Hits = tuple[tuple[Limit, tuple[str, ...]], ...]


async def submitted_email(request: Request, field: str) -> str:
    """The normalised email a login or reset form or JSON body carries ('' when none).

    Starlette caches the body, so the route still reads it afterwards.
    """
    value: object = None
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.json()
            value = body.get(field) if isinstance(body, dict) else None
        else:
            value = (await request.form()).get(field)
    except Exception:  # malformed bodies are the route's to refuse (422)
        return ""
    return canonical_email(value) if isinstance(value, str) else ""


def by_email(field: str) -> Identify:
    """Count per the (hashed) email in the body's `field`."""

    async def identify(request: Request) -> tuple[str, ...]:
        return (email_digest(await submitted_email(request, field)),)

    return identify


register_rate_limit = rate_limit((REGISTER, by_ip))


def _kit(request: Request) -> AuthKit:
    kit: AuthKit = request.app.state.auth
    return kit


async def known_device(
    request: Request, db: AsyncSession, *, email: str, token: str | None
) -> str | None:
    """The device id of `token` when it is genuine and was issued to the account that has
    `email`; None for an unknown client."""
    claim = _kit(request).devices.read(token)
    if claim is None or not email:
        return None
    user = await users_service.find_user_by_email(db, email=email)
    return claim.device_id if user is not None and user.id == claim.user_id else None


async def forgot_password_rate_limit(
    request: Request, db: DbDep, device_token: DeviceTokenDep
) -> None:
    """RATE_LIMIT_FORGOT_PASSWORD per email and RATE_LIMIT_FORGOT_PASSWORD_IP per IP; a
    known device of the account has its own allowance of both."""
    limiter = limiter_of(request)
    if not limiter.enabled:
        return
    email = await submitted_email(request, "email")
    account, ip = email_digest(email), client_network(request)
    device = await known_device(request, db, email=email, token=device_token)
    hits: Hits
    if device is None:
        hits = ((FORGOT_PASSWORD_IP, (ip,)), (FORGOT_PASSWORD, (account,)))
    else:
        hits = (
            (FORGOT_PASSWORD_IP, (ip, account, "device")),
            (FORGOT_PASSWORD, (account, "device", device)),
        )
    await limiter.check(*hits)


def login_rate_limit(email_field: str) -> Callable[..., Awaitable[None]]:
    """RATE_LIMIT_LOGIN per account+IP and RATE_LIMIT_LOGIN_IP per IP; a known device of
    the account has its own allowance of both (per account+device, per IP+account). A
    refused attempt still counts as a failed login for the throttle it would meet."""

    async def limit(request: Request, db: DbDep, device_token: DeviceTokenDep) -> None:
        limiter = limiter_of(request)
        if not limiter.enabled:
            return
        email = await submitted_email(request, email_field)
        account, ip = email_digest(email), client_network(request)
        device = await known_device(request, db, email=email, token=device_token)
        hits: Hits
        if device is None:
            hits = ((LOGIN_IP, (ip,)), (LOGIN, (account, ip)))
        else:
            hits = ((LOGIN_IP, (ip, account, "device")), (LOGIN, (account, "device", device)))
        try:
            await limiter.check(*hits)
        except RateLimited:
            if email:
                await _kit(request).throttle.record_failure(email, device=device, extend=False)
            raise

    return limit
