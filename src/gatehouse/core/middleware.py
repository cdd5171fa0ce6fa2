"""Pure ASGI middleware: request id and security headers on every response."""

from __future__ import annotations

import re
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_BASE_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def request_id_of(scope: MutableMapping[str, Any]) -> str:
    """The request id the middleware chose for this request ('' outside it)."""
    state = scope.get("state") or {}
    return str(state.get("request_id", ""))


def security_headers(scope: MutableMapping[str, Any]) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every response carries; HSTS only when served over HTTPS."""
    if scope.get("scheme") == "https":
        return (*_BASE_SECURITY_HEADERS, _HSTS)
    return _BASE_SECURITY_HEADERS


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            # Echo a client's id only when it is a sane token; never reflect arbitrary bytes.
            if _VALID_REQUEST_ID.match(value):
                return bytes(value).decode("ascii")
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Sets `X-Request-ID` (echoed or generated) and the security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        extra = (*security_headers(scope), (REQUEST_ID_HEADER, request_id.encode("ascii")))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                headers = list(message.get("headers", ()))
                headers.extend(item for item in extra if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
