"""A FastAPI dependency that lets in only requests with a valid Gatehouse access token.

    verifier = AsyncTokenVerifier("https://auth.example.com")
    GatehouseUser = Annotated[AccessToken, Depends(gatehouse_bearer(verifier))]

    @app.get("/notes")
    async def notes(token: GatehouseUser) -> list[Note]:
        ...  # token.user_id is the Gatehouse account

A missing token is 401 NOT_AUTHENTICATED, a refused one 401 INVALID_TOKEN or
TOKEN_EXPIRED (with `WWW-Authenticate: Bearer`), and Gatehouse out of reach while keys
must be fetched is 503 AUTH_UNAVAILABLE; the body is `{"detail": {"code", "message"}}`.
The bearer scheme appears in the app's OpenAPI. Needs the `fastapi` extra.
"""

# No `from __future__ import annotations`: FastAPI reads the dependency's annotations,
# which name the bearer scheme built in `gatehouse_bearer`.
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gatehouse_client.errors import GatehouseError, TokenRejected
from gatehouse_client.verifier import AccessToken, AsyncTokenVerifier

__all__ = ["AccessToken", "gatehouse_bearer"]


def _unauthorized(code: str, message: str) -> HTTPException:
    challenge = "Bearer" if code == "NOT_AUTHENTICATED" else 'Bearer error="invalid_token"'
    return HTTPException(
        status_code=401,
        detail={"code": code, "message": message},
        headers={"WWW-Authenticate": challenge},
    )


def gatehouse_bearer(
    verifier: AsyncTokenVerifier, *, scheme_name: str = "Gatehouse"
) -> Callable[..., Awaitable[AccessToken]]:
    """The dependency: the verified `AccessToken` of the request's bearer token."""
    scheme = HTTPBearer(auto_error=False, scheme_name=scheme_name)

    async def gatehouse_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(scheme)],
    ) -> AccessToken:
        if credentials is None:
            raise _unauthorized("NOT_AUTHENTICATED", "a Gatehouse bearer token is required")
        try:
            return await verifier.verify(credentials.credentials)
        except TokenRejected as rejected:
            raise _unauthorized(rejected.code, rejected.message) from rejected
        except GatehouseError as exc:
            raise HTTPException(
                status_code=503,
                detail={"code": "AUTH_UNAVAILABLE", "message": "cannot check the token now"},
            ) from exc

    return gatehouse_token
