"""The input guard (core/middleware.py): bodies over MAX_BODY_BYTES are refused before they
are read whole, on every route."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message

from tests.helpers import assert_envelope, running

MiB = 1024 * 1024
CHUNK = 64 * 1024

# (method, path, content type): JSON, forms, a bodyless route, an unknown route.
ROUTES = [
    ("POST", "/api/v1/auth/login", "application/json"),
    ("POST", "/api/v1/auth/token", "application/x-www-form-urlencoded"),
    ("POST", "/sessions", "application/x-www-form-urlencoded"),
    ("POST", "/api/v1/tasks", "application/json"),
    ("GET", "/health", "application/json"),
    ("PUT", "/no/such/route", "application/octet-stream"),
]


def _assert_too_large(response: httpx.Response, limit: int) -> None:
    error = assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"max_body_bytes": limit}
    assert response.headers["connection"] == "close"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(("method", "path", "content_type"), ROUTES)
async def test_a_declared_body_over_the_limit_is_refused_without_reading_it(
    app: FastAPI, method: str, path: str, content_type: str
) -> None:
    """A Content-Length above MAX_BODY_BYTES (1 MiB by default) is refused at once: the app
    never asks for the body (here, a raw ASGI call that counts `receive`)."""
    received: list[Message] = []
    sent: list[Message] = []

    async def receive() -> Message:  # 2 MiB of the 100 the client announced
        received.append({"type": "http.request"})
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": len(received) < 32}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", content_type.encode()),
            (b"content-length", str(100 * MiB).encode()),
            (b"x-request-id", b"big-1"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    async with running(app):
        await app(scope, receive, send)
    assert received == []
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    assert start["status"] == 413
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    assert headers["x-request-id"] == "big-1"
    assert headers["connection"] == "close"
    assert headers["x-content-type-options"] == "nosniff"
    error = json.loads(body)["error"]
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert error["request_id"] == "big-1"
    assert error["details"] == {"max_body_bytes": MiB}


@pytest.mark.parametrize(("method", "path", "content_type"), ROUTES)
async def test_a_streamed_body_is_refused_as_soon_as_it_crosses_the_limit(
    client: httpx.AsyncClient, method: str, path: str, content_type: str
) -> None:
    """Without a Content-Length (chunked), the body is counted as it comes and refused once
    it passes 1 MiB: of a 100 MiB stream, barely more than 1 MiB is ever pulled."""
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(100 * MiB // CHUNK):
            pulled += CHUNK
            yield b"x" * CHUNK

    response = await client.request(
        method, path, content=endless(), headers={"Content-Type": content_type}
    )
    assert "content-length" not in response.request.headers
    _assert_too_large(response, MiB)
    assert pulled <= MiB + CHUNK


async def test_a_body_at_the_limit_is_read_and_one_byte_more_is_not(
    app_factory: Callable[..., FastAPI],
) -> None:
    limit = 2048
    async with running(app_factory(MAX_BODY_BYTES=limit)) as client:

        def body(size: int) -> bytes:
            head = b'{"email": "nobody@example.com", "password": "wrong", "pad": "'
            return head + b"a" * (size - len(head) - 2) + b'"}'

        for send_length in (True, False):
            at_limit, over = body(limit), body(limit + 1)
            assert (len(at_limit), len(over)) == (limit, limit + 1)

            async def stream(data: bytes) -> AsyncIterator[bytes]:
                for start in range(0, len(data), 100):
                    yield data[start : start + 100]

            headers = {"Content-Type": "application/json"}
            ok = await client.post(
                "/api/v1/auth/login",
                content=at_limit if send_length else stream(at_limit),
                headers=headers,
            )
            assert_envelope(ok, 401, "INVALID_CREDENTIALS")
            refused = await client.post(
                "/api/v1/auth/login",
                content=over if send_length else stream(over),
                headers=headers,
            )
            _assert_too_large(refused, limit)
            assert refused.headers["cache-control"] == "no-store"
