"""Retries, counted against a test server that fails the first N times; the SDK's own
errors for transport failures; and 2xx answers that are not JSON."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from gatehouse_client import (
    ApiError,
    AsyncClient,
    Client,
    GatehouseConnectionError,
    GatehouseError,
    GatehouseTimeout,
    RetryPolicy,
    TransportError,
)

FAST = RetryPolicy(max_retries=3, backoff=0.01, max_backoff=0.05)


class Flaky:
    def __init__(self) -> None:
        self.failures = 0
        self.status = 503
        self.retry_after: str | None = None
        self.hits = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/thing", methods=["GET", "POST", "PUT", "DELETE"])
        async def thing(request: Request) -> JSONResponse:
            self.hits += 1
            if self.hits <= self.failures:
                headers = {"Retry-After": self.retry_after} if self.retry_after else {}
                body = {
                    "error": {
                        "code": "SERVICE_UNAVAILABLE",
                        "message": "try later",
                        "path": "/thing",
                        "timestamp": "",
                        "request_id": "r1",
                        "details": {},
                    }
                }
                return JSONResponse(body, status_code=self.status, headers=headers)
            return JSONResponse({"ok": True, "hits": self.hits, "method": request.method})

        @app.get("/slow")
        async def slow() -> JSONResponse:
            self.hits += 1
            await anyio.sleep(2)
            return JSONResponse({"ok": True})

        @app.get("/text")
        async def text() -> PlainTextResponse:
            return PlainTextResponse("plain words")

        @app.get("/broken-json")
        async def broken_json() -> Response:
            return Response("{not json", media_type="application/json")

        @app.get("/empty")
        async def empty() -> Response:
            return Response(status_code=204)

        return app


@contextmanager
def serving(flaky: Flaky) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(flaky.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def flaky() -> Flaky:
    return Flaky()


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_idempotent_calls_are_retried_until_they_succeed(flaky: Flaky, status: int) -> None:
    flaky.failures, flaky.status = 2, status
    with serving(flaky) as url, Client(url, retry=FAST) as client:
        assert client.get("/thing") == {"ok": True, "hits": 3, "method": "GET"}
    assert flaky.hits == 3


def test_the_retried_statuses_are_configurable(flaky: Flaky) -> None:
    flaky.failures, flaky.status = 1, 500
    only_503 = RetryPolicy(max_retries=3, backoff=0.01, statuses=frozenset({503}))
    with serving(flaky) as url, Client(url, retry=only_503) as client:
        with pytest.raises(ApiError) as failed:
            client.get("/thing")
        assert (failed.value.status, flaky.hits) == (500, 1)
        flaky.hits, flaky.status = 0, 503
        assert client.get("/thing")["hits"] == 2


def test_retries_give_up_after_the_limit_with_the_envelope(flaky: Flaky) -> None:
    flaky.failures = 10
    with (
        serving(flaky) as url,
        Client(url, retry=FAST) as client,
        pytest.raises(ApiError) as failed,
    ):
        client.get("/thing")
    assert flaky.hits == 4  # the first try and three retries
    assert (failed.value.status, failed.value.code, failed.value.request_id) == (
        503,
        "SERVICE_UNAVAILABLE",
        "r1",
    )


def test_a_post_is_not_retried_by_default(flaky: Flaky) -> None:
    flaky.failures = 1
    with serving(flaky) as url, Client(url, retry=FAST) as client, pytest.raises(ApiError):
        client.post("/thing")
    assert flaky.hits == 1


def test_a_post_is_retried_when_the_caller_opts_in(flaky: Flaky) -> None:
    flaky.failures = 2
    opted_in = RetryPolicy(max_retries=3, backoff=0.01, retry_non_idempotent=True)
    with serving(flaky) as url, Client(url, retry=opted_in) as client:
        assert client.post("/thing")["hits"] == 3


def test_retry_after_is_honoured(flaky: Flaky) -> None:
    flaky.failures, flaky.status, flaky.retry_after = 1, 429, "1"
    with serving(flaky) as url, Client(url, retry=FAST) as client:
        started = time.monotonic()
        assert client.get("/thing")["hits"] == 2
    assert time.monotonic() - started >= 0.9


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    return f"http://127.0.0.1:{port}"


def test_connection_errors_are_retried_then_raised_as_the_sdks_own() -> None:
    with Client(_closed_port_url(), retry=FAST) as client, pytest.raises(ConnectionError) as failed:
        client.get("/thing")
    error = failed.value
    assert isinstance(error, GatehouseConnectionError)
    assert isinstance(error, TransportError)
    assert isinstance(error, GatehouseError)
    assert isinstance(error.__cause__, httpx.ConnectError)
    assert (error.method, error.path) == ("GET", "/thing")
    assert "ConnectError" in str(error)


def test_timeouts_are_retried_then_raised_as_the_sdks_own(flaky: Flaky) -> None:
    with (
        serving(flaky) as url,
        Client(url, retry=FAST, timeout=0.2) as client,
        pytest.raises(TimeoutError) as failed,
    ):
        client.get("/slow")
    assert isinstance(failed.value, GatehouseTimeout)
    assert isinstance(failed.value.__cause__, httpx.TimeoutException)
    assert flaky.hits == 4  # the first try and three retries


async def test_the_async_client_raises_the_sdks_own_transport_errors(flaky: Flaky) -> None:
    async with AsyncClient(_closed_port_url(), retry=FAST) as client:
        with pytest.raises(GatehouseConnectionError):
            await client.get("/thing")
    with serving(flaky) as url:
        async with AsyncClient(url, retry=RetryPolicy(max_retries=0), timeout=0.2) as client:
            with pytest.raises(GatehouseTimeout):
                await client.get("/slow")


def test_a_2xx_that_is_not_json_gives_its_text(flaky: Flaky) -> None:
    with serving(flaky) as url, Client(url, retry=FAST) as client:
        assert client.get("/text") == "plain words"
        assert client.get("/broken-json") == "{not json"
        assert client.get("/empty") is None


async def test_the_async_client_retries_too(flaky: Flaky) -> None:
    flaky.failures = 2
    with serving(flaky) as url:
        async with AsyncClient(url, retry=FAST) as client:
            assert (await client.get("/thing"))["hits"] == 3
        flaky.hits, flaky.failures = 0, 1
        async with AsyncClient(url, retry=FAST) as client:
            with pytest.raises(ApiError):
                await client.post("/thing")
    assert flaky.hits == 1
