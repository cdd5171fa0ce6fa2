"""What one chat message may cost: the built-in assistant's work on a long message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from gatehouse.chat.providers.base import HistoryItem, Turn
from gatehouse.chat.providers.builtin import BuiltinAssistant


class CountingHistory(list[HistoryItem]):
    """A history that counts how often it is read through."""

    reads = 0

    def __iter__(self) -> Iterator[HistoryItem]:
        self.reads += 1
        return super().__iter__()


async def test_it_and_them_read_the_history_once_per_call_not_once_per_item() -> None:
    failed = {"name": "complete_task", "arguments": {"task": "x"}, "result": {"status": "x"}}
    history = CountingHistory(
        [HistoryItem("user", "finish x"), HistoryItem("assistant", "no", [failed] * 20)] * 100
    )

    async def run_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("nothing to act on: no tool runs")

    turn = Turn(
        history=history,
        message="finish it" + " and it" * 500,
        today=date.today(),
        run_tool=run_tool,
    )
    answer = await BuiltinAssistant().respond(turn)
    assert answer.count("Which task do you mean?") == 501
    assert history.reads == 1
