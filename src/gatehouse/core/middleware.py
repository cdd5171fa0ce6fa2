"""Pure ASGI middleware: request id and security headers (and no caching of private answers)
on every response, and the guard that bounds request bodies."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatehouse.core.inputs import input_problems
from gatehouse.core.logging import request_id_var

if TYPE_CHECKING:
    from gatehouse.core.errors import AppError

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_BASE_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_NO_STORE = (b"cache-control", b"no-store")
# Answers that hold user data, tokens or sessions: the JSON API and the cookie API. Not the
# service routes (/health, /metrics, ...) nor the documentation.
_PRIVATE_PREFIXES = ("/api/",)
_PRIVATE_PATHS = ("/users", "/sessions", "/profile", "/reset_password")


def request_id_of(scope: MutableMapping[str, Any]) -> str:
    """The request id the middleware chose for this request ('' outside it)."""
    state = scope.get("state") or {}
    return str(state.get("request_id", ""))


def is_private_path(path: str) -> bool:
    """Whether answers on this path may hold user data, tokens or sessions (never cached)."""
    return path.startswith(_PRIVATE_PREFIXES) or any(
        path == base or path.startswith(base + "/") for base in _PRIVATE_PATHS
    )


def security_headers(scope: MutableMapping[str, Any]) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every response carries; HSTS only when served over HTTPS, and
    `Cache-Control: no-store` on the API and cookie routes (a route's own value wins)."""
    headers = _BASE_SECURITY_HEADERS
    if scope.get("scheme") == "https":
        headers = (*headers, _HSTS)
    if is_private_path(str(scope.get("path", ""))):
        headers = (*headers, _NO_STORE)
    return headers


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            # Echo a client's id only when it is a sane token; never reflect arbitrary bytes.
            if _VALID_REQUEST_ID.match(value):
                return bytes(value).decode("ascii")
            break
    return uuid.uuid4().hex


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: list[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def forwarded_client(peer: str, forwarded_for: str, trusted: tuple[Network, ...]) -> str:
    """The client behind trusted proxies: the rightmost X-Forwarded-For address that is not
    itself a trusted proxy. The header is believed only when the peer is trusted."""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: keep the peer we can see
    return hops[0] if hops else peer


class RequestContextMiddleware:
    """Sets `X-Request-ID` (echoed or generated) and the security headers, and takes the
    client's address from X-Forwarded-For when (and only when) the peer is a trusted proxy."""

    def __init__(self, app: ASGIApp, trusted_proxies: list[str] | None = None) -> None:
        self.app = app
        self.trusted = parse_networks(trusted_proxies or [])

    def _apply_proxy_headers(self, scope: Scope) -> None:
        client = scope.get("client")
        if not self.trusted or not client:
            return
        headers = dict(scope["headers"])
        forwarded = headers.get(b"x-forwarded-for")
        if forwarded is None or not _is_trusted(client[0], self.trusted):
            return
        host = forwarded_client(client[0], forwarded.decode("latin-1"), self.trusted)
        scope["client"] = (host, 0)
        proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
        if proto in ("http", "https"):
            scope["scheme"] = proto

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._apply_proxy_headers(scope)
        request_id = _incoming_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        request_id_var.set(request_id)
        extra = (*security_headers(scope), (REQUEST_ID_HEADER, request_id.encode("ascii")))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                headers = list(message.get("headers", ()))
                headers.extend(item for item in extra if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _answer_error(
    scope: Scope, receive: Receive, send: Send, error: AppError, *, close: bool = False
) -> None:
    """Answer `error` in the envelope from a middleware (the outer middleware add the
    request id and security headers as to any answer). `close` ends the connection, so an
    unread body is not drained."""
    # core.errors imports this module (request ids, security headers): import it here.
    from gatehouse.core.errors import error_response

    response = error_response(
        Request(scope),
        status=error.status,
        code=error.code,
        message=error.detail_message,
        details=error.details,
        headers=error.headers,
    )
    if close:
        response.headers["Connection"] = "close"
    await response(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed one; count the body instead
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the whole body once, then the client's own events
    (http.disconnect)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class InputGuardMiddleware:
    """What no route may receive, refused in one place for every route:

    - a body larger than `max_body_bytes`: 413 PAYLOAD_TOO_LARGE before it is read whole,
      at once when its Content-Length says so (nothing is read), and as soon as the count
      crosses the limit for a body sent without one (chunked);
    - a control character (but tab, line feed and carriage return) or text that is not
      UTF-8 in the query string or in any string of the body (JSON, urlencoded or multipart
      form), and a JSON body that does not parse: 422 VALIDATION_ERROR naming each field
      (`core.inputs`).

    Otherwise the body, bounded and checked, is handed to the app unchanged."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        from gatehouse.core.errors import PayloadTooLarge

        error = PayloadTooLarge(
            f"The request body is larger than {self.max_body_bytes} bytes",
            details={"max_body_bytes": self.max_body_bytes},
        )
        await _answer_error(scope, receive, send, error, close=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its body: nobody to answer
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problems = await input_problems(scope.get("query_string", b""), Headers(scope=scope), body)
        if problems:
            from gatehouse.core.errors import ValidationFailed

            error = ValidationFailed(details={"fields": problems})
            await _answer_error(scope, receive, send, error)
            return
        await self.app(scope, _replay(body, receive), send)
