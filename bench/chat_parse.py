"""The built-in assistant's parser on long adversarial messages: short beside long.

Times `parse_actions` (what the built-in assistant runs on every message) on messages of
1,250 to 10,000 characters (the chat's limit) built to make a regular expression
backtrack, and the "call X Y instead" pattern beside the quadratic one it replaced.
Linear work doubles with the length; quadratic work quadruples. Then the longest stall
of the event loop (a 1 ms ticker) while six 10,000-character messages are parsed on it,
one after the other (with the old pattern and the new), and in one worker thread, as the
built-in assistant does: the loop then waits at most about a GIL switch interval (5 ms)
at a time. Usage: `python bench/chat_parse.py [--repeats 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Callable
from functools import partial

import anyio.to_thread

from gatehouse.chat import parsing

SIZES = (1_250, 2_500, 5_000, 10_000)
QUADRATIC_CALL_INSTEAD = re.compile(r"^(?:please\s+)?call\s+(.+?)\s+(.+?) instead$")
MESSAGES: dict[str, Callable[[int], str]] = {
    "call a a a …": lambda size: ("call " + "a " * size)[:size],
    "add a and b and c …": lambda size: ("add a" + " and b" * size)[:size],
    "add a, b, c …": lambda size: ("add a" + ", b" * size)[:size],
    "set a to a to …": lambda size: ("set " + "a to " * size)[:size],
    "what a a a …": lambda size: ("what " + "a " * size)[:size],
}


def best_of(repeats: int, work: Callable[[], object]) -> float:
    """The fastest of `repeats` runs, in milliseconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def row(label: str, timings: list[float]) -> str:
    cells = "".join(f"{value:>11.2f}" for value in timings)
    return f"{label:<34}{cells}{timings[-1] / timings[0]:>10.1f}x"


async def loop_stall(messages: list[str], *, in_threads: bool) -> float:
    """The longest a 1 ms sleep overran while `messages` were parsed, in milliseconds."""
    worst = 0.0
    parsing_done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not parsing_done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - started - 0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    if in_threads:
        limiter = anyio.CapacityLimiter(1)
        async with asyncio.TaskGroup() as group:
            for message in messages:
                group.create_task(
                    anyio.to_thread.run_sync(parsing.parse_actions, message, limiter=limiter)
                )
    else:
        for message in messages:
            parsing.parse_actions(message)
            await asyncio.sleep(0)
    parsing_done.set()
    await task
    return worst * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    header = "".join(f"{size:>9,} ch" for size in SIZES)
    growth = f"{SIZES[-1] // SIZES[0]}x longer"
    print(f"{'milliseconds (best of ' + str(args.repeats) + ')':<34}{header}{growth:>11}")
    print("parse_actions:")
    for name, build in MESSAGES.items():
        timings = [
            best_of(args.repeats, partial(parsing.parse_actions, build(size))) for size in SIZES
        ]
        print(row(f"  {name}", timings))
    print('"call X Y instead" on "call a a a …":')
    for label, pattern in (
        ("  before (two lazy .+?)", QUADRATIC_CALL_INSTEAD),
        ("  now (first word, then the rest)", parsing._RENAME[1]),
    ):
        texts = [MESSAGES["call a a a …"](size) for size in SIZES]
        timings = [best_of(args.repeats, partial(pattern.match, text)) for text in texts]
        print(row(label, timings))
    print("longest event-loop stall (ms), six messages of 10,000 characters:")
    linear = parsing._RENAME[1]
    for name in ("call a a a …", "add a, b, c …"):
        messages = [MESSAGES[name](SIZES[-1])] * 6
        cases = [("on the loop, now", linear, False), ("in one worker thread, now", linear, True)]
        if name == "call a a a …":
            cases.insert(0, ("on the loop, before", QUADRATIC_CALL_INSTEAD, False))
        for label, pattern, in_threads in cases:
            parsing._RENAME[1] = pattern
            try:
                stall = min(
                    asyncio.run(loop_stall(messages, in_threads=in_threads)) for _ in range(3)
                )
            finally:
                parsing._RENAME[1] = linear
            print(f"  {name + ', ' + label:<44}{stall:>9.2f}")


if __name__ == "__main__":
    main()
