"""The account flows' rate limits, declared here (core only knows the default one).

Login limits count per account+IP and per IP, shared by /api/v1/auth/token,
/api/v1/auth/login and POST /sessions; registration per IP; forgot-password per email and
per IP. Emails are counted by their hash, so the store holds no addresses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from fastapi import Request

from gatehouse.auth.throttle import AccountThrottle
from gatehouse.core.errors import RateLimited
from gatehouse.core.origin import client_network
from gatehouse.core.ratelimit import Identify, Limit, by_ip, limiter_of, rate_limit
from gatehouse.users.emails import normalize_email

LOGIN = Limit("login", "RATE_LIMIT_LOGIN")
LOGIN_IP = Limit("login_ip", "RATE_LIMIT_LOGIN_IP")
REGISTER = Limit("register", "RATE_LIMIT_REGISTER")
FORGOT_PASSWORD = Limit("forgot_password", "RATE_LIMIT_FORGOT_PASSWORD")
FORGOT_PASSWORD_IP = Limit("forgot_password_ip", "RATE_LIMIT_FORGOT_PASSWORD_IP")
VERIFY = Limit("verify", "RATE_LIMIT_VERIFY")  # verification mails, per account


def email_key(email: str) -> str:
    """A limit identifier for an email: hashed, so the store holds no addresses."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()[:32]


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
    return normalize_email(value) if isinstance(value, str) else ""


def by_email(field: str) -> Identify:
    """Count per the (hashed) email in the body's `field`."""

    async def identify(request: Request) -> tuple[str, ...]:
        return (email_key(await submitted_email(request, field)),)

    return identify


register_rate_limit = rate_limit((REGISTER, by_ip))
forgot_password_rate_limit = rate_limit(
    (FORGOT_PASSWORD_IP, by_ip), (FORGOT_PASSWORD, by_email("email"))
)


def login_rate_limit(email_field: str) -> Callable[[Request], Awaitable[None]]:
    """RATE_LIMIT_LOGIN per account+IP and RATE_LIMIT_LOGIN_IP per IP. A refused attempt
    still counts as a failed login for the account's throttle."""

    async def limit(request: Request) -> None:
        email = await submitted_email(request, email_field)
        ip = client_network(request)
        try:
            await limiter_of(request).check((LOGIN_IP, (ip,)), (LOGIN, (email_key(email), ip)))
        except RateLimited:
            if email:
                throttle: AccountThrottle = request.app.state.auth.throttle
                await throttle.record_failure(email, extend=False)
            raise

    return limit
