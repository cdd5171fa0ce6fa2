"""Brute-force defence per account: growing delays after repeated failed logins.

Keyed by the normalised email whether or not an account has it, so the throttle does
not reveal which emails exist. Never a permanent lock (that would let anyone lock a
legitimate user out): the delay doubles from THROTTLE_BASE_SECONDS up to a cap, and a
successful login or a password reset clears it.
"""

from __future__ import annotations

from gatehouse.core.ratelimit import RateLimited, RateLimiter, email_key

FREE_FAILURES = 5
THROTTLE_BASE_SECONDS = 2.0
THROTTLE_MAX_SECONDS = 15 * 60.0
FAILURE_MEMORY_SECONDS = 24 * 3600.0


def _keys(email: str) -> tuple[str, str]:
    digest = email_key(email)
    return f"login-failures:{digest}", f"login-throttle:{digest}"


def delay_after(failures: int) -> float:
    """Seconds an account waits after `failures` consecutive failed logins."""
    if failures < FREE_FAILURES:
        return 0.0
    return float(min(THROTTLE_MAX_SECONDS, THROTTLE_BASE_SECONDS * 2 ** (failures - FREE_FAILURES)))


class AccountThrottle:
    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def check(self, email: str) -> None:
        """Refuse (429) while the account waits out its delay; the attempt still counts."""
        if not self.limiter.enabled:
            return
        _, throttle_key = _keys(email)
        if await self.limiter.get(throttle_key):
            await self.record_failure(email, extend=False)
            raise RateLimited(retry_after=await self.limiter.expires_in(throttle_key))

    async def record_failure(self, email: str, *, extend: bool = True) -> None:
        if not self.limiter.enabled:
            return
        failures_key, throttle_key = _keys(email)
        failures = await self.limiter.incr(failures_key, FAILURE_MEMORY_SECONDS)
        delay = delay_after(failures)
        if extend and delay > 0:
            await self.limiter.clear(throttle_key)
            await self.limiter.incr(throttle_key, delay)

    async def clear(self, email: str) -> None:
        for key in _keys(email):
            await self.limiter.clear(key)
