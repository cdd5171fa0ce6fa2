"""The clock seam: the time and the waiting of the rules that depend on them.

The service uses `SystemClock`; tests pass their own to `create_app(clock=...)` instead of
patching `anyio.sleep` or sleeping for real.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Protocol

import anyio

from gatehouse.core.db import utcnow


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for measuring durations."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` without blocking the event loop."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)
