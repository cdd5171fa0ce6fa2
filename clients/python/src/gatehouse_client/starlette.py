"""An ASGI middleware (Starlette or any ASGI app) that lets in only requests with a valid
Gatehouse access token, and hands the verified token on as `request.state.gatehouse_token`.

    app = Starlette(routes=..., middleware=[
        Middleware(GatehouseAuthMiddleware, verifier=verifier, public_paths={"/health"}),
    ])

HTTP requests without a valid token get a JSON 401 (`{"detail": {"code", "message"}}`,
codes NOT_AUTHENTICATED, INVALID_TOKEN, TOKEN_EXPIRED, with `WWW-Authenticate: Bearer`),
or 503 AUTH_UNAVAILABLE while Gatehouse is out of reach and keys must be fetched; a
WebSocket is closed with 1008 before it opens. Paths in `public_paths` (exact) pass
untouched. Needs the `starlette` extra.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from gatehouse_client.errors import GatehouseError, TokenRejected
from gatehouse_client.verifier import AccessToken, AsyncTokenVerifier

__all__ = ["STATE_KEY", "AccessToken", "GatehouseAuthMiddleware"]

STATE_KEY = "gatehouse_token"


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


class GatehouseAuthMiddleware:
    def __init__(
        self, app: ASGIApp, *, verifier: AsyncTokenVerifier, public_paths: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.public_paths = frozenset(public_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in self.public_paths:
            await self.app(scope, receive, send)
            return
        status, code, message = await self._check(scope)
        if status != 200:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": code})
                return
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
            if code in ("INVALID_TOKEN", "TOKEN_EXPIRED"):
                headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            response = JSONResponse(
                {"detail": {"code": code, "message": message}}, status, headers=headers
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope) -> tuple[int, str, str]:
        token = _bearer(scope)
        if token is None:
            return 401, "NOT_AUTHENTICATED", "a Gatehouse bearer token is required"
        try:
            verified = await self.verifier.verify(token)
        except TokenRejected as rejected:
            return 401, rejected.code, rejected.message
        except GatehouseError:
            return 503, "AUTH_UNAVAILABLE", "cannot check the token now"
        scope.setdefault("state", {})[STATE_KEY] = verified
        return 200, "", ""
