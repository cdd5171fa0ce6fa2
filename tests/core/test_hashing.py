"""Password hashing runs in a pool of its own: one thread per usable core, each at a lower
CPU priority than the event loop."""

from __future__ import annotations

import os
import threading

from gatehouse.core.config import Settings
from gatehouse.core.security import HASHING_NICENESS, PasswordHasher, hashing_pool


def _priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


async def test_hashing_threads_run_below_the_event_loop() -> None:
    hasher = PasswordHasher(memory_cost_kib=1024, time_cost=1, parallelism=1, threads=1)
    stored = await hasher.hash("a password that is long enough")
    assert (await hasher.verify_and_update("a password that is long enough", stored))[0]
    in_pool = hashing_pool(1).submit(_priority).result()
    assert in_pool == min(19, _priority() + HASHING_NICENESS)
    assert hashing_pool(1) is hashing_pool(1)  # one pool per size, shared by the hashers


def test_hashing_threads_default_to_the_cores_the_process_may_use() -> None:
    settings = Settings(_env_file=None, SECRET_KEY="x" * 40)
    assert len(os.sched_getaffinity(0)) == settings.HASHING_THREADS
