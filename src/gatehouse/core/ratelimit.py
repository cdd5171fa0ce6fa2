"""Rate limiting with `limits`: moving windows in memory, or shared through Redis.

When Redis is configured but unreachable, limits fall back to this process's memory
(a warning is logged once) and Redis is tried again every few seconds, so shared limits
resume by themselves when it is back. Availability wins over exactness here: refusing
every request because the limiter's store is down would turn a cache outage into a
full outage.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from gatehouse.core.client import client_ip
from gatehouse.core.config import Settings
from gatehouse.core.errors import AppError

logger = logging.getLogger("gatehouse.ratelimit")

T = TypeVar("T")
REDIS_RETRY_SECONDS = 5.0
RateLimitName = Literal[
    "default", "login", "login_ip", "register", "forgot_password", "forgot_password_ip"
]


class RateLimited(AppError):
    code = "RATE_LIMITED"
    status = 429
    message = "Too many requests; try again later"

    def __init__(self, *, retry_after: float, limit: int | None = None) -> None:
        seconds = max(1, math.ceil(retry_after))
        headers = {"Retry-After": str(seconds), "RateLimit-Reset": str(seconds)}
        if limit is not None:
            headers["RateLimit-Limit"] = str(limit)
            headers["RateLimit-Remaining"] = "0"
        super().__init__(details={"retry_after": seconds}, headers=headers)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    retry_after: float


class RateLimiter:
    """Moving-window limits and small counters, on Redis when configured, else memory."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.RATE_LIMIT_ENABLED
        self.items: dict[RateLimitName, RateLimitItem] = {
            "default": parse(settings.RATE_LIMIT_DEFAULT),
            "login": parse(settings.RATE_LIMIT_LOGIN),
            "login_ip": parse(settings.RATE_LIMIT_LOGIN_IP),
            "register": parse(settings.RATE_LIMIT_REGISTER),
            "forgot_password": parse(settings.RATE_LIMIT_FORGOT_PASSWORD),
            "forgot_password_ip": parse(settings.RATE_LIMIT_FORGOT_PASSWORD_IP),
        }
        self._memory: Storage = MemoryStorage()
        self._shared: Storage | None = None
        if settings.REDIS_URL:
            self._shared = RedisStorage(
                f"async+{settings.REDIS_URL}",
                implementation="redispy",
                key_prefix=f"{settings.REDIS_KEY_PREFIX}:limits",
                wrap_exceptions=True,
                socket_connect_timeout=0.5,
                socket_timeout=0.5,
            )
        # One strategy per storage, built once: `hit` runs on every API request.
        self._strategies = {
            id(storage): MovingWindowRateLimiter(storage)
            for storage in (self._memory, self._shared)
            if storage is not None
        }
        self._shared_down_until = 0.0
        self._warned = False
        self.on_limited: Callable[[RateLimitName], None] | None = None

    @property
    def state(self) -> str:
        """'not configured', 'ok', or 'degraded' (Redis unreachable: memory fallback)."""
        if self._shared is None:
            return "not configured"
        return "degraded" if self._shared_down_until > time.monotonic() else "ok"

    async def _on_storage(self, operation: Callable[[Storage], Awaitable[T]]) -> T:
        if self._shared is not None and self._shared_down_until <= time.monotonic():
            try:
                result = await operation(self._shared)
            except Exception as exc:  # connection refused, timeout, storage error
                self._shared_down_until = time.monotonic() + REDIS_RETRY_SECONDS
                if not self._warned:
                    logger.warning(
                        "redis unreachable (%s): rate limits fall back to this process's "
                        "memory until it is back",
                        type(exc).__name__,
                    )
                    self._warned = True
            else:
                if self._warned:
                    logger.warning("redis is back: rate limits are shared again")
                    self._warned = False
                return result
        return await operation(self._memory)

    async def hit(self, name: RateLimitName, *identifiers: str) -> Decision:
        """Count one request against a limit; `allowed` is False once it is exceeded."""
        item = self.items[name]

        async def attempt(storage: Storage) -> Decision:
            strategy = self._strategies[id(storage)]
            if await strategy.hit(item, *identifiers):
                return Decision(True, item.amount, 0.0)
            stats = await strategy.get_window_stats(item, *identifiers)
            return Decision(False, item.amount, max(0.0, stats.reset_time - time.time()))

        decision = await self._on_storage(attempt)
        if not decision.allowed and self.on_limited is not None:
            self.on_limited(name)
        return decision

    async def check(self, *limits: tuple[RateLimitName, tuple[str, ...]]) -> None:
        """Count the request against each limit; raise RateLimited if any is exceeded.

        Every limit is counted even when an earlier one refuses, so that a refused
        attempt still counts everywhere.
        """
        if not self.enabled:
            return
        refused: Decision | None = None
        for name, identifiers in limits:
            decision = await self.hit(name, *identifiers)
            if not decision.allowed and (
                refused is None or decision.retry_after > refused.retry_after
            ):
                refused = decision
        if refused is not None:
            raise RateLimited(retry_after=refused.retry_after, limit=refused.limit)

    # Small counters with an expiry, for the per-account login throttle.
    async def incr(self, key: str, expiry: float) -> int:
        return await self._on_storage(lambda storage: storage.incr(key, math.ceil(expiry)))

    async def get(self, key: str) -> int:
        return await self._on_storage(lambda storage: storage.get(key))

    async def expires_in(self, key: str) -> float:
        expiry = await self._on_storage(lambda storage: storage.get_expiry(key))
        return max(0.0, expiry - time.time())

    async def clear(self, key: str) -> None:
        await self._on_storage(lambda storage: storage.clear(key))


def email_key(email: str) -> str:
    """A limit identifier for an email: hashed, so the store holds no addresses."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


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
    return value.strip().lower() if isinstance(value, str) else ""


def limiter_of(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def default_rate_limit(request: Request) -> None:
    """RATE_LIMIT_DEFAULT per client IP, for every /api/ route without a limit of its own."""
    await limiter_of(request).check(("default", (client_ip(request),)))


async def register_rate_limit(request: Request) -> None:
    """RATE_LIMIT_REGISTER per client IP (the API and the browser route share it)."""
    await limiter_of(request).check(("register", (client_ip(request),)))


async def forgot_password_rate_limit(request: Request) -> None:
    """RATE_LIMIT_FORGOT_PASSWORD per email and RATE_LIMIT_FORGOT_PASSWORD_IP per IP."""
    email = await submitted_email(request, "email")
    await limiter_of(request).check(
        ("forgot_password_ip", (client_ip(request),)), ("forgot_password", (email_key(email),))
    )
