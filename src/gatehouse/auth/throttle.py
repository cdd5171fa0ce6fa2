"""Brute-force defence per account: growing delays after repeated failed logins.

Keyed by the normalised email whether or not an account has it, so the throttle does
not reveal which emails exist. Never a permanent lock (that would let anyone lock a
legitimate user out): the delay doubles from `base_seconds` up to a cap, and a
successful login or a password reset clears it.

A known device (see `devices.py`) is throttled on counters of its own, per email and
device: strangers' failures do not slow it, and its own failures slow only it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.core.clock import Clock, SystemClock
from gatehouse.core.errors import RateLimited
from gatehouse.core.ratelimit import CounterStore
from gatehouse.users.emails import email_digest

FREE_FAILURES = 5
THROTTLE_BASE_SECONDS = 2.0
THROTTLE_MAX_SECONDS = 15 * 60.0
FAILURE_MEMORY_SECONDS = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failures are free, and how long an account waits after more."""

    free_failures: int = FREE_FAILURES
    base_seconds: float = THROTTLE_BASE_SECONDS
    max_seconds: float = THROTTLE_MAX_SECONDS
    memory_seconds: float = FAILURE_MEMORY_SECONDS

    def delay_after(self, failures: int) -> float:
        """Seconds an account waits after `failures` consecutive failed logins."""
        if failures < self.free_failures:
            return 0.0
        return float(
            min(self.max_seconds, self.base_seconds * 2 ** (failures - self.free_failures))
        )


def delay_after(failures: int) -> float:
    """The default policy's delay after `failures` consecutive failed logins."""
    return ThrottlePolicy().delay_after(failures)


def throttle_keys(email: str, device: str | None = None) -> tuple[str, str]:
    """The counters of one email (or of one known device of it): its failures, and the
    delay it is waiting out."""
    digest = email_digest(email)
    scope = f"{digest}:device:{device}" if device else digest
    return f"failures:{scope}", f"waiting:{scope}"


class AccountThrottle:
    """The failures of each email, and until when (on the clock, in milliseconds since the
    epoch) it must wait; both kept in a counter store, so every instance sees them."""

    def __init__(
        self,
        counters: CounterStore,
        *,
        enabled: bool,
        policy: ThrottlePolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.counters = counters
        self.enabled = enabled
        self.policy = policy or ThrottlePolicy()
        self.clock = clock or SystemClock()

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    async def check(self, email: str, *, device: str | None = None) -> None:
        """Refuse (429) while the account (or this known device of it) waits out its delay;
        the attempt still counts."""
        if not self.enabled:
            return
        _, waiting_key = throttle_keys(email, device)
        # Two failures recorded at once can add their end times (clear and incr are two
        # steps); the wait is never longer than the policy's longest, and the key expires
        # with the real wait anyway.
        waiting_ms = min(
            await self.counters.get(waiting_key) - self._now_ms(),
            int(self.policy.max_seconds * 1000),
        )
        if waiting_ms > 0:
            await self.record_failure(email, device=device, extend=False)
            raise RateLimited(retry_after=waiting_ms / 1000)

    async def record_failure(
        self, email: str, *, device: str | None = None, extend: bool = True
    ) -> None:
        if not self.enabled:
            return
        failures_key, waiting_key = throttle_keys(email, device)
        failures = await self.counters.incr(failures_key, self.policy.memory_seconds)
        delay = self.policy.delay_after(failures)
        if extend and delay > 0:
            until_ms = self._now_ms() + int(delay * 1000)
            await self.counters.clear(waiting_key)
            # The key outlives the wait by a second; the stored time decides.
            await self.counters.incr(waiting_key, delay + 1, amount=until_ms)

    async def clear(self, email: str, *, device: str | None = None) -> None:
        for key in throttle_keys(email, device):
            await self.counters.clear(key)
