"""Rate limiting with `limits`: moving windows in memory, or shared through Redis.

Core knows no domain's limits: a domain declares its own `Limit`s (a name and the setting
that holds its rate) and guards its routes with `rate_limit(...)`. Only the default limit,
which every `/api/` route without a limit of its own shares, is declared here.

Once a limit refuses, the refusal is what counts: the key stays refused for a whole window
after its last refused attempt (kept in a counter store, on the clock seam), so a client
that keeps retrying is never served, however the moving window would have thinned out.

When Redis is configured but unreachable, limits fall back to this process's memory
(a warning is logged once) and Redis is tried again every few seconds, so shared limits
resume by themselves when it is back. Availability wins over exactness here: refusing
every request because the limiter's store is down would turn a cache outage into a
full outage.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from gatehouse.core.clock import Clock, SystemClock
from gatehouse.core.config import Settings
from gatehouse.core.errors import RateLimited
from gatehouse.core.origin import client_network

logger = logging.getLogger(__name__)

T = TypeVar("T")
REDIS_RETRY_SECONDS = 5.0


class LimitStore:
    """Where limits and counters live: Redis when configured and reachable, else memory."""

    def __init__(
        self,
        *,
        redis_url: str | None,
        key_prefix: str,
        retry_seconds: float = REDIS_RETRY_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        self.memory: Storage = MemoryStorage()
        self.shared: Storage | None = None
        if redis_url:
            self.shared = RedisStorage(
                f"async+{redis_url}",
                implementation="redispy",
                key_prefix=f"{key_prefix}:limits",
                wrap_exceptions=True,
                socket_connect_timeout=0.5,
                socket_timeout=0.5,
            )
        self.retry_seconds = retry_seconds
        self.clock = clock or SystemClock()
        self._shared_down_until = 0.0
        self._warned = False

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> LimitStore:
        return cls(redis_url=settings.REDIS_URL, key_prefix=settings.REDIS_KEY_PREFIX, clock=clock)

    async def run(self, operation: Callable[[Storage], Awaitable[T]]) -> T:
        """Run `operation` on Redis, or on memory while Redis is unreachable."""
        if self.shared is not None and self._shared_down_until <= self.clock.monotonic():
            try:
                result = await operation(self.shared)
            except Exception as exc:  # connection refused, timeout, storage error
                self._shared_down_until = self.clock.monotonic() + self.retry_seconds
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
        return await operation(self.memory)


@dataclass(frozen=True, slots=True)
class Limit:
    """A named limit; its rate (`5/minute`, in `limits` notation) is the setting `setting`."""

    name: str
    setting: str


DEFAULT_LIMIT = Limit("default", "RATE_LIMIT_DEFAULT")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    retry_after: float


class RateLimiter:
    """Moving-window limits on a LimitStore, and the refusals that keep them refusing."""

    def __init__(self, settings: Settings, store: LimitStore) -> None:
        self.enabled = settings.RATE_LIMIT_ENABLED
        self._settings = settings
        self._store = store
        self._clock = store.clock
        self._items: dict[Limit, RateLimitItem] = {}
        # One strategy per storage, built once: `hit` runs on every API request.
        self._strategies = {
            id(storage): MovingWindowRateLimiter(storage)
            for storage in (store.memory, store.shared)
            if storage is not None
        }
        self._refusals = CounterStore(store, "refused")
        self.on_limited: Callable[[str], None] | None = None

    def item(self, limit: Limit) -> RateLimitItem:
        """The parsed rate of `limit` (parsed once)."""
        item = self._items.get(limit)
        if item is None:
            item = self._items[limit] = parse(getattr(self._settings, limit.setting))
        return item

    async def hit(self, limit: Limit, *identifiers: str) -> Decision:
        """Count one request against a limit; `allowed` is False once it is exceeded.

        The moving window records no hit once it is full, so a refusal is recorded apart:
        the key stays refused until a whole window has passed since its last refused
        attempt (the clock decides; the stored time is in milliseconds since the epoch).
        """
        item = self.item(limit)
        window = float(item.get_expiry())
        refusal_key = f"{limit.name}/{'/'.join(identifiers)}"
        now_ms = int(self._clock.now().timestamp() * 1000)
        if await self._refusals.get(refusal_key) > now_ms:
            decision = Decision(False, item.amount, window)
        else:

            async def attempt(storage: Storage) -> Decision:
                strategy = self._strategies[id(storage)]
                if await strategy.hit(item, *identifiers):
                    return Decision(True, item.amount, 0.0)
                return Decision(False, item.amount, window)

            decision = await self._store.run(attempt)
        if not decision.allowed:
            await self._refusals.clear(refusal_key)
            # The key outlives the refusal by a second; the stored time decides.
            await self._refusals.incr(refusal_key, window + 1, amount=now_ms + int(window * 1000))
            if self.on_limited is not None:
                self.on_limited(limit.name)
        return decision

    async def check(self, *hits: tuple[Limit, tuple[str, ...]]) -> None:
        """Count the request against each limit; raise RateLimited if any is exceeded.

        Every limit is counted even when an earlier one refuses, so that a refused
        attempt still counts everywhere.
        """
        if not self.enabled:
            return
        refused: Decision | None = None
        for limit, identifiers in hits:
            decision = await self.hit(limit, *identifiers)
            if not decision.allowed and (
                refused is None or decision.retry_after > refused.retry_after
            ):
                refused = decision
        if refused is not None:
            raise RateLimited(retry_after=refused.retry_after, limit=refused.limit)


class CounterStore:
    """Small named counters with an expiry, on the same store as the limits (Redis when
    shared). Keys are prefixed with the store's name, so two users of it never collide."""

    def __init__(self, store: LimitStore, name: str) -> None:
        self._store = store
        self._prefix = f"{name}:"

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add `amount` to `key` (created with this expiry in seconds, rounded up)."""
        return await self._store.run(
            lambda storage: storage.incr(self._prefix + key, math.ceil(expiry), amount)
        )

    async def get(self, key: str) -> int:
        return await self._store.run(lambda storage: storage.get(self._prefix + key))

    async def clear(self, key: str) -> None:
        await self._store.run(lambda storage: storage.clear(self._prefix + key))


def limiter_of(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


Identify = Callable[[Request], Awaitable[tuple[str, ...]]]


async def by_ip(request: Request) -> tuple[str, ...]:
    """Count per client address (per /64 for IPv6)."""
    return (client_network(request),)


def rate_limit(*rules: tuple[Limit, Identify]) -> Callable[[Request], Awaitable[None]]:
    """A dependency that counts the request against each `(limit, identify)` rule."""

    async def dependency(request: Request) -> None:
        limiter = limiter_of(request)
        if not limiter.enabled:
            return  # nothing to count: skip identifying the client too
        hits = [(limit, await identify(request)) for limit, identify in rules]
        await limiter.check(*hits)

    return dependency


default_rate_limit = rate_limit((DEFAULT_LIMIT, by_ip))
default_rate_limit.__doc__ = (
    "RATE_LIMIT_DEFAULT per client IP, for every /api/ route without a limit of its own."
)
