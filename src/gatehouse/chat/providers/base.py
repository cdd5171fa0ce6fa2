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


# What a tool call past the bound of one message gets instead of running.
TOO_MANY_CALLS: dict[str, Any] = {"status": "error", "error": "too many tool calls for one message"}


@dataclass
class Turn:
    """One exchange: the conversation so far, the new message, and the tools to act with.

    One message runs at most `max_calls` tool calls (CHAT_MAX_TOOL_CALLS), whatever the
    provider: a call past the bound runs nothing, is not kept, and gets TOO_MANY_CALLS as
    its result; `limit_reached` then says the message was not carried out in full.
    """

    history: list[HistoryItem]
    message: str
    today: date
    run_tool: RunTool
    max_calls: int
    calls: list[dict[str, Any]] = field(default_factory=list)
    limit_reached: bool = False

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run a tool and remember the call (name, arguments, result) for the reply."""
        if len(self.calls) >= self.max_calls:
            self.limit_reached = True
            return dict(TOO_MANY_CALLS)
        result = await self.run_tool(name, arguments)
        self.calls.append({"name": name, "arguments": arguments, "result": result})
        return result

    def record(self, name: str, arguments: dict[str, Any], result: dict[str, Any]) -> None:
        """Remember a call that ran no tool (its arguments were unreadable), within the bound."""
        if len(self.calls) >= self.max_calls:
            self.limit_reached = True
            return
        self.calls.append({"name": name, "arguments": arguments, "result": result})


class ChatProvider(Protocol):
    async def respond(self, turn: Turn) -> str:
        """Act on the message through `turn.call(...)` and answer in plain words."""
