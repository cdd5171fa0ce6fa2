"""What every assistant provider gets and gives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

RunTool = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class HistoryItem:
    role: str  # user | assistant | tool
    content: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Turn:
    """One exchange: the conversation so far, the new message, and the tools to act with."""

    history: list[HistoryItem]
    message: str
    today: date
    run_tool: RunTool
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run a tool and remember the call (name, arguments, result) for the reply."""
        result = await self.run_tool(name, arguments)
        self.calls.append({"name": name, "arguments": arguments, "result": result})
        return result


class ChatProvider(Protocol):
    async def respond(self, turn: Turn) -> str:
        """Act on the message through `turn.call(...)` and answer in plain words."""
