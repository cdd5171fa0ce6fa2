"""The input guard (core/middleware.py): bodies over MAX_BODY_BYTES are refused before they
are read whole, and no string a client sends (JSON, form, query) carries a control
character or is not UTF-8, on every route and every backend: 422, never 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from gatehouse.core.middleware import InputGuardMiddleware
from tests.helpers import PASSWORD, assert_envelope, bearer, running, signed_up

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


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """An HTTP request's ASGI scope, for calling an app directly."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


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

    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(100 * MiB).encode()),
        (b"x-request-id", b"big-1"),
    ]
    scope = _scope(method, path, headers)
    async with running(app):
        await app(scope, receive, send)
    assert received == []
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    assert start["status"] == 413
    answered = {name.decode(): value.decode() for name, value in start["headers"]}
    assert answered["x-request-id"] == "big-1"
    assert answered["connection"] == "close"
    assert answered["x-content-type-options"] == "nosniff"
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


JSON = {"Content-Type": "application/json"}
USER_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Bad:
    """A request no route may answer with anything but 422, and the field it must name."""

    method: str
    path: str
    loc: list[str | int]
    type: str
    json: Any = None
    content: bytes | None = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[None, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)


BAD_INPUT: dict[str, Bad] = {
    # A NUL byte: PostgreSQL refuses it in text, and the route used to answer 500.
    "nul-json-login": Bad(
        "POST",
        "/api/v1/auth/login",
        ["body", "email"],
        "control_character",
        json={"email": "ann\u0000@example.com", "password": PASSWORD},
    ),
    "nul-form-token": Bad(
        "POST",
        "/api/v1/auth/token",
        ["body", "username"],
        "control_character",
        data={"username": "ann\x00@example.com", "password": PASSWORD},
    ),
    "nul-form-sessions": Bad(
        "POST",
        "/sessions",
        ["body", "email"],
        "control_character",
        data={"email": "ann\x00@example.com", "password": PASSWORD},
    ),
    "nul-multipart-sessions": Bad(
        "POST",
        "/sessions",
        ["body", "email"],
        "control_character",
        files={"email": (None, "ann\x00@example.com"), "password": (None, PASSWORD)},
    ),
    "nul-register-full-name": Bad(
        "POST",
        "/api/v1/auth/register",
        ["body", "full_name"],
        "control_character",
        json={"email": "nul@example.com", "password": PASSWORD, "full_name": "Ann\u0000"},
    ),
    "nul-task-title": Bad(
        "POST",
        "/api/v1/tasks",
        ["body", "title"],
        "control_character",
        json={"title": "milk\u0000"},
    ),
    "nul-chat-message": Bad(
        "POST",
        "/api/v1/chat",
        ["body", "message"],
        "control_character",
        json={"message": "add buy milk\u0000"},
    ),
    "nul-chat-by-user-id": Bad(
        "POST",
        f"/api/{USER_ID}/chat",
        ["body", "message"],
        "control_character",
        json={"message": "\u0000"},
    ),
    "nul-query-tasks": Bad("GET", "/api/v1/tasks?q=%00", ["query", "q"], "control_character"),
    "nul-query-users": Bad(
        "GET", "/api/v1/users?page=1&q=a%00b", ["query", "q"], "control_character"
    ),
    "nul-query-name": Bad("GET", "/api/v1/tasks?%00=1", ["query", "\ufffd"], "control_character"),
    "nul-query-any-route": Bad("GET", "/health?probe=%00", ["query", "probe"], "control_character"),
    # Other control characters: BEL, ESC, DEL, a C1 control.
    "bel-password": Bad(
        "POST",
        "/api/v1/auth/login",
        ["body", "password"],
        "control_character",
        json={"email": "ann@example.com", "password": "pass\u0007word"},
    ),
    "esc-task-description": Bad(
        "POST",
        "/api/v1/tasks",
        ["body", "description"],
        "control_character",
        json={"title": "ok", "description": "\u001b[31mred"},
    ),
    "del-full-name": Bad(
        "PATCH",
        "/api/v1/users/me",
        ["body", "full_name"],
        "control_character",
        json={"full_name": "Ann\u007f"},
    ),
    "c1-task-title": Bad(
        "PUT",
        f"/api/v1/tasks/{USER_ID}",
        ["body", "title"],
        "control_character",
        json={"title": "next\u0085line"},
    ),
    "bel-form-password": Bad(
        "PUT",
        "/reset_password",
        ["body", "new_password"],
        "control_character",
        data={"email": "ann@example.com", "reset_token": "t", "new_password": "a\x07b"},
    ),
    "nested-and-ignored": Bad(
        "POST",
        "/api/v1/tasks",
        ["body", "extra", "list", 1],
        "control_character",
        json={"title": "ok", "extra": {"list": ["fine", "\u0000"]}},
    ),
    "nul-in-a-key": Bad(
        "POST",
        "/api/v1/tasks",
        ["body", "ti\ufffdtle"],
        "control_character",
        json={"title": "ok", "ti\u0000tle": "x"},
    ),
    # Not UTF-8, or not text at all.
    "latin1-json": Bad(
        "POST",
        "/api/v1/auth/login",
        ["body"],
        "string_unicode",
        content=b'{"email": "caf\xe9@example.com", "password": "x"}',
        headers=JSON,
    ),
    "lone-surrogate-json": Bad(
        "POST",
        "/api/v1/tasks",
        ["body", "title"],
        "string_unicode",
        content=b'{"title": "\\ud800"}',
        headers=JSON,
    ),
    "not-utf8-form": Bad(
        "POST",
        "/sessions",
        ["body", "email"],
        "string_unicode",
        content=b"email=caf%E9%40example.com&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    "not-utf8-query": Bad("GET", "/api/v1/tasks?q=caf%E9", ["query", "q"], "string_unicode"),
    # Not JSON.
    "truncated-json": Bad(
        "POST",
        "/api/v1/auth/login",
        ["body", 10],
        "json_invalid",
        content=b'{"email": ',
        headers=JSON,
    ),
    "nan-json": Bad(
        "POST",
        "/api/v1/tasks",
        ["body"],
        "json_invalid",
        content=b'{"title": "ok", "priority": NaN}',
        headers=JSON,
    ),
    "json-without-content-type": Bad(
        "POST",
        "/api/v1/tasks",
        ["body", "title"],
        "control_character",
        content=b'{"title": "\\u0000"}',
    ),
    "nul-multipart-filename": Bad(
        "POST",
        "/sessions",
        ["body", "email"],
        "control_character",
        content=b"--b\r\nContent-Disposition: form-data; name=email; filename=a\x00.txt\r\n\r\n"
        b"ann@example.com\r\n--b--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    ),
    "malformed-multipart": Bad(
        "POST",
        "/sessions",
        ["body"],
        "multipart_invalid",
        content=b"--x\r\nno headers",
        headers={"Content-Type": "multipart/form-data"},
    ),
}


@pytest.fixture
async def token(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer((await signed_up(client))["access_token"])


@pytest.mark.parametrize("case", BAD_INPUT.values(), ids=BAD_INPUT.keys())
async def test_bad_input_is_422_naming_the_field_never_500(
    client: httpx.AsyncClient, token: dict[str, str], case: Bad
) -> None:
    """Each request carries a valid token, so most of them would reach the database without
    the guard (on PostgreSQL the NUL bytes were 500s); the guard refuses them all first."""
    response = await client.request(
        case.method,
        case.path,
        json=case.json,
        content=case.content,
        data=case.data,
        files=case.files,
        headers={**token, **case.headers},
    )
    error = assert_envelope(response, 422, "VALIDATION_ERROR")
    fields = error["details"]["fields"]
    assert {"loc": case.loc, "type": case.type} in [
        {"loc": f["loc"], "type": f["type"]} for f in fields
    ], fields
    assert all(f["msg"] for f in fields)
    if case.path.startswith(("/api/", "/sessions", "/reset_password")):
        assert response.headers["cache-control"] == "no-store"


async def test_tab_newline_and_carriage_return_are_text(
    client: httpx.AsyncClient, token: dict[str, str]
) -> None:
    """Free text keeps its layout, and any language: only the other controls are refused."""
    description = "first line\nsecond line\r\n\tindented ☕ café"
    created = await client.post(
        "/api/v1/tasks", headers=token, json={"title": "Café ☕", "description": description}
    )
    assert created.status_code == 201, created.text
    assert created.json()["description"] == description
    found = await client.get("/api/v1/tasks?q=caf%C3%A9", headers=token)
    assert found.status_code == 200
    assert [task["title"] for task in found.json()["items"]] == ["Café ☕"]
    chat = await client.post("/api/v1/chat", headers=token, json={"message": "list\nmy tasks"})
    assert chat.status_code == 200, chat.text
    login = await client.post(
        "/sessions", data={"email": "zoë@example.com", "password": "tab\tand\nnewline"}
    )
    assert_envelope(login, 401, "INVALID_CREDENTIALS")


async def test_the_guard_reports_at_most_twenty_fields(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/tasks", json={"title": ["\u0000"] * 1000})
    error = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert len(error["details"]["fields"]) == 20


async def test_deeply_nested_json_is_422_not_500(client: httpx.AsyncClient) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    response = await client.post("/api/v1/auth/login", content=deep, headers=JSON)
    assert_envelope(response, 422, "VALIDATION_ERROR")


async def test_bodies_the_routes_do_not_read_as_text_pass_the_guard(
    client: httpx.AsyncClient,
) -> None:
    """A UTF-8 BOM before JSON is fine (FastAPI reads it); a text/plain body is no form and
    no JSON, so it reaches no string field: the route refuses it as it always did."""
    bom = b"\xef\xbb\xbf" + json.dumps({"email": "a@example.com", "password": "x"}).encode()
    login = await client.post("/api/v1/auth/login", content=bom, headers=JSON)
    assert_envelope(login, 401, "INVALID_CREDENTIALS")
    plain = await client.post(
        "/api/v1/auth/login", content=b"\x00\xff", headers={"Content-Type": "text/plain"}
    )
    error = assert_envelope(plain, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["type"] == "model_attributes_type"


class _Recorder:
    """An inner app that reads two events, then answers 204; and the client's side."""

    def __init__(self, events: list[Message]) -> None:
        self.events = events
        self.seen: list[Message] = []
        self.sent: list[Message] = []
        self.called = False

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called = True
        if scope["type"] == "http":
            self.seen += [await receive(), await receive()]
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    async def receive(self) -> Message:
        return self.events.pop(0)

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def test_the_guard_hands_on_the_whole_body_then_the_clients_own_events() -> None:
    """A malformed Content-Length is no promise: the body is counted as it comes. The app
    gets it in one piece, then what the client does next (here, it leaves)."""
    recorder = _Recorder(
        [
            {"type": "http.request", "body": b'{"a": ', "more_body": True},
            {"type": "http.request", "body": b"1}", "more_body": False},
            {"type": "http.disconnect"},
        ]
    )
    guard = InputGuardMiddleware(recorder.app, max_body_bytes=1024)
    await guard(
        _scope("POST", "/x", [(b"content-length", b"soon")]), recorder.receive, recorder.send
    )
    assert recorder.seen == [
        {"type": "http.request", "body": b'{"a": 1}', "more_body": False},
        {"type": "http.disconnect"},
    ]
    assert recorder.sent[0]["status"] == 204


async def test_the_guard_stops_when_the_client_leaves_and_passes_other_scopes_on() -> None:
    recorder = _Recorder([{"type": "http.disconnect"}])
    guard = InputGuardMiddleware(recorder.app, max_body_bytes=1024)
    await guard(_scope("POST", "/x", []), recorder.receive, recorder.send)
    assert (recorder.called, recorder.sent) == (False, [])
    await guard({"type": "lifespan"}, recorder.receive, recorder.send)
    assert recorder.called


async def test_raw_non_ascii_bytes_in_a_form_are_refused_not_misread(
    client: httpx.AsyncClient,
) -> None:
    """The framework reads raw form bytes as latin-1: UTF-8 sent unencoded would reach a
    route as other characters (C1 controls among them). Browsers percent-encode."""
    response = await client.post(
        "/users",
        content="email=eu\u20ac@example.com&password=Correct-horse-9".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_envelope(response, 422, "VALIDATION_ERROR")
    encoded = await client.post(
        "/users",
        content=b"email=eu%E2%82%AC%40example.com&password=Correct-horse-9",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert encoded.status_code != 500
