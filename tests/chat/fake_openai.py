"""A small OpenAI-compatible chat-completions server for tests, on a free loopback port.

It answers with a scripted list of replies and records every request it received, so a
test can check what the provider sent (messages, tools) and what it did with the answers.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def tool_call(
    name: str, arguments: dict[str, Any] | str, call_id: str = "call_1"
) -> dict[str, Any]:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}}


def completion(
    content: str | None = None, tool_calls: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
    }


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: list[dict[str, Any] | tuple[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.port = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> JSONResponse:
            self.requests.append(await request.json())
            step = self.script.pop(0) if self.script else completion("(script exhausted)")
            if isinstance(step, tuple):
                kind, value = step
                if kind == "sleep":
                    await asyncio.sleep(value)
                    return JSONResponse(completion("too late"))
                if kind == "status":
                    return JSONResponse({"error": {"message": "boom"}}, status_code=value)
            return JSONResponse(step)

        return app


@contextmanager
def running_fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        fake.port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(fake.app(), host="127.0.0.1", port=fake.port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
