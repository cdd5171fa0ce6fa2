"""Any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp, hosted) with tools.

The loop sends the conversation and the tool schemas, runs the tool calls the model asks
for, feeds their results back, and stops when the model answers in words, or after
MAX_ROUNDS. Calls past the message's bound (CHAT_MAX_TOOL_CALLS) run nothing: the model
gets an error result for each (see `Turn.call`). Timeouts and provider errors become
ServiceUnavailable (503), never a 500.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import TYPE_CHECKING, Any

from gatehouse.chat.providers.base import HistoryItem, Turn
from gatehouse.chat.tools import TOOLS
from gatehouse.core.config import Settings
from gatehouse.core.errors import ServiceUnavailable

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

MAX_ROUNDS = 6
HISTORY_MESSAGES = 20
SYSTEM_PROMPT = (
    "You are Gatehouse's task assistant. You manage the user's to-do list only through the "
    "tools given. Today is {today}. Dates are YYYY-MM-DD. When a tool result says a task was "
    "not found or is ambiguous, ask the user which task they mean. Answer briefly."
)


@cache
def tool_schemas() -> list[dict[str, Any]]:
    """The tools as chat-completions function schemas (the registry is fixed: built once)."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in TOOLS.values()
    ]


def _history_messages(history: list[HistoryItem]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for item in history[-HISTORY_MESSAGES:]:
        if item.role == "user":
            messages.append({"role": "user", "content": item.content})
        elif item.role == "assistant":
            # Earlier tool work is summarised in words: the model sees what was done.
            content = item.content
            if item.tool_calls:
                content += (
                    "\n[tools used: "
                    + json.dumps(
                        [{"name": c["name"], "result": c["result"]} for c in item.tool_calls]
                    )[:2000]
                    + "]"
                )
            messages.append({"role": "assistant", "content": content})
    return messages


class OpenAIAssistant:
    def __init__(self, settings: Settings) -> None:
        self.base_url = settings.OPENAI_BASE_URL.rstrip("/")
        self.model = settings.CHAT_MODEL
        self.api_key = (
            settings.OPENAI_API_KEY.get_secret_value() if settings.OPENAI_API_KEY else None
        )
        self.timeout = settings.OPENAI_TIMEOUT_SECONDS

    async def _complete(
        self, client: httpx.AsyncClient, messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        import httpx  # deferred: ~6 MB with its CLI's rich, and only with a model configured

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = await client.post(
                f"{self.base_url}/chat/completions",
                json={
                    "model": self.model,
                    "messages": messages,
                    "tools": tool_schemas(),
                    "tool_choice": "auto",
                },
                headers=headers,
            )
        except httpx.TimeoutException as exc:
            logger.warning("chat provider timed out: %s", type(exc).__name__)
            raise ServiceUnavailable("The assistant's model did not answer in time") from exc
        except httpx.HTTPError as exc:
            logger.warning("chat provider unreachable: %s", type(exc).__name__)
            raise ServiceUnavailable("The assistant's model is unreachable") from exc
        if response.status_code != 200:
            logger.warning("chat provider answered %s", response.status_code)
            raise ServiceUnavailable(f"The assistant's model failed ({response.status_code})")
        try:
            message = response.json()["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ServiceUnavailable("The assistant's model sent an unreadable answer") from exc
        if not isinstance(message, dict):
            raise ServiceUnavailable("The assistant's model sent an unreadable answer")
        return message

    async def respond(self, turn: Turn) -> str:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM_PROMPT.format(today=turn.today.isoformat())},
            *_history_messages(turn.history),
            {"role": "user", "content": turn.message},
        ]
        import httpx  # deferred, as in _complete

        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for _ in range(MAX_ROUNDS):
                message = await self._complete(client, messages)
                calls = message.get("tool_calls") or []
                if not calls:
                    return str(message.get("content") or "").strip() or "Done."
                messages.append(
                    {"role": "assistant", "content": message.get("content"), "tool_calls": calls}
                )
                for call in calls:
                    messages.append(await self._run_call(call, turn))
        return "Sorry, that took too many steps. Could you ask in smaller pieces?"

    @staticmethod
    async def _run_call(call: dict[str, Any], turn: Turn) -> dict[str, Any]:
        function = call.get("function") or {}
        name = str(function.get("name", ""))
        raw = function.get("arguments") or "{}"
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else dict(raw)
            if not isinstance(arguments, dict):
                raise TypeError("arguments must be an object")
        except (ValueError, TypeError) as exc:
            result: dict[str, Any] = {
                "status": "error",
                "error": f"arguments are not a JSON object: {exc}",
            }
            turn.record(name, {"raw": str(raw)[:500]}, result)
        else:
            result = await turn.call(name, arguments)
        return {
            "role": "tool",
            "tool_call_id": call.get("id", ""),
            "content": json.dumps(result),
        }
