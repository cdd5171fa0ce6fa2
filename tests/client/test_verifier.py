"""The SDK's token verifier, its FastAPI dependency and its Starlette middleware, against
a real Gatehouse app (in process, EdDSA keys): every claim check, revocation, failures."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from gatehouse_client import ApiError, GatehouseConnectionError, TokenRejected
from gatehouse_client.fastapi import gatehouse_bearer
from gatehouse_client.starlette import GatehouseAuthMiddleware
from gatehouse_client.verifier import AccessToken, AsyncTokenVerifier, KeySet, TokenVerifier
from tests.helpers import bearer, running, signed_up


@dataclass
class Gatehouse:
    http: httpx.AsyncClient
    key: ed25519.Ed25519PrivateKey
    account: dict[str, Any]

    @property
    def token(self) -> str:
        return str(self.account["access_token"])

    def claims(self) -> dict[str, Any]:
        return dict(jwt.decode(self.token, options={"verify_signature": False}))

    def kid(self) -> str:
        return str(jwt.get_unverified_header(self.token)["kid"])

    def sign(self, claims: dict[str, Any], **headers: Any) -> str:
        return jwt.encode(
            claims, self.key, algorithm="EdDSA", headers={"kid": self.kid(), **headers}
        )


@pytest.fixture
async def gatehouse(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> AsyncIterator[Gatehouse]:
    key = ed25519.Ed25519PrivateKey.generate()
    key_file = tmp_path / "jwt.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    app = app_factory(JWT_ALGORITHM="EdDSA", JWT_PRIVATE_KEY_FILE=str(key_file))
    async with running(app) as http:
        yield Gatehouse(http, key, await signed_up(http))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _verifier(gatehouse: Gatehouse, **options: Any) -> AsyncTokenVerifier:
    return AsyncTokenVerifier("http://unused", http=gatehouse.http, **options)


async def _rejected(verifier: AsyncTokenVerifier, token: str) -> str:
    with pytest.raises(TokenRejected) as rejected:
        await verifier.verify(token)
    return rejected.value.code


async def test_a_gatehouse_token_verifies_with_its_published_key(gatehouse: Gatehouse) -> None:
    verifier = _verifier(gatehouse)
    verified = await verifier.verify(gatehouse.token)
    assert verified.user_id == gatehouse.account["user"]["id"]
    assert verified.key_id == gatehouse.kid()
    assert verified.session_id == gatehouse.claims()["sid"]
    assert verified.expires_at - verified.issued_at == gatehouse.account["expires_in"]
    assert verified.claims["type"] == "access"
    await verifier.verify(gatehouse.token)
    assert verifier.keys.fetches == 1  # the set is kept


async def test_every_claim_is_checked(gatehouse: Gatehouse) -> None:
    verifier = _verifier(gatehouse)
    claims, now = gatehouse.claims(), int(time.time())
    sign = gatehouse.sign
    invalid = {
        "another audience": sign({**claims, "aud": "another:api"}),
        "another issuer": sign({**claims, "iss": "someone-else"}),
        "a refresh token": sign({**claims, "type": "refresh"}),
        "no session": sign({k: v for k, v in claims.items() if k != "sid"}),
        "issued in the future": sign({**claims, "iat": now + 600, "exp": now + 1200}),
        "expired and foreign": sign({**claims, "exp": now - 10, "aud": "another:api"}),
        "a changed signature": gatehouse.token[:-4]
        + ("AAAA" if gatehouse.token[-4:] != "AAAA" else "BBBB"),
        "another key": jwt.encode(
            claims,
            ed25519.Ed25519PrivateKey.generate(),
            algorithm="EdDSA",
            headers={"kid": gatehouse.kid()},
        ),
        "HS256 under the key's kid": jwt.encode(
            claims, "x" * 32, algorithm="HS256", headers={"kid": gatehouse.kid()}
        ),
        "no kid": jwt.encode(claims, gatehouse.key, algorithm="EdDSA"),
        "not a JWT": "not-a-jwt",
    }
    for case, token in invalid.items():
        assert await _rejected(verifier, token) == "INVALID_TOKEN", case
    expired = sign({**claims, "iat": now - 120, "exp": now - 60})
    assert await _rejected(verifier, expired) == "TOKEN_EXPIRED"
    lenient = _verifier(gatehouse, leeway=120)
    assert (await lenient.verify(expired)).user_id == claims["sub"]


async def test_an_unknown_kid_refetches_at_most_once_a_minute(gatehouse: Gatehouse) -> None:
    clock = Clock()
    verifier = _verifier(gatehouse, clock=clock)
    await verifier.verify(gatehouse.token)
    unknown = gatehouse.sign(gatehouse.claims(), kid="rotated-" + uuid.uuid4().hex)
    for _ in range(3):
        assert await _rejected(verifier, unknown) == "INVALID_TOKEN"
    assert verifier.keys.fetches == 1  # fetched less than a minute ago: no refetch
    clock.now += 60
    assert await _rejected(verifier, unknown) == "INVALID_TOKEN"
    assert await _rejected(verifier, unknown) == "INVALID_TOKEN"
    assert verifier.keys.fetches == 2
    await verifier.verify(gatehouse.token)
    assert verifier.keys.fetches == 2  # a known kid never refetches early
    clock.now += 3600
    await verifier.verify(gatehouse.token)
    assert verifier.keys.fetches == 3  # an hour-old set is fetched again


async def test_revocation_is_checked_online_when_asked(gatehouse: Gatehouse) -> None:
    offline, online = _verifier(gatehouse), _verifier(gatehouse, check_revocation=True)
    await online.verify(gatehouse.token)
    response = await gatehouse.http.post("/api/v1/auth/logout", headers=bearer(gatehouse.token))
    assert response.status_code == 204
    assert (await offline.verify(gatehouse.token)).user_id  # still valid until it expires
    assert await _rejected(online, gatehouse.token) == "INVALID_TOKEN"


def test_revocation_answers_other_than_401_are_gatehouse_failures() -> None:
    from gatehouse_client.verifier import _Rules

    request = httpx.Request("GET", "http://gatehouse/api/v1/users/me")
    expired = httpx.Response(
        401, json={"error": {"code": "TOKEN_EXPIRED", "message": "expired"}}, request=request
    )
    with pytest.raises(TokenRejected) as rejected:
        _Rules.revocation_answer(expired)
    assert rejected.value.code == "TOKEN_EXPIRED"
    with pytest.raises(ApiError) as failed:
        _Rules.revocation_answer(httpx.Response(503, text="down", request=request))
    assert failed.value.status == 503


async def test_keys_that_cannot_be_fetched_are_the_sdks_errors(
    app_factory: Callable[..., FastAPI], gatehouse: Gatehouse
) -> None:
    async with running(app_factory()) as hs256:  # a shared secret: no JWKS (404)
        with pytest.raises(ApiError) as missing:
            await AsyncTokenVerifier("http://unused", http=hs256).verify(gatehouse.token)
        assert missing.value.status == 404

    async def junk(_: Request) -> PlainTextResponse:
        return PlainTextResponse("no keys here")

    transport = httpx.ASGITransport(app=Starlette(routes=[Route("/.well-known/jwks.json", junk)]))
    async with httpx.AsyncClient(transport=transport, base_url="http://junk") as http:
        with pytest.raises(ApiError) as not_json:
            await AsyncTokenVerifier("http://unused", http=http).verify(gatehouse.token)
        assert not_json.value.code == "INVALID_JWKS"
    async with AsyncTokenVerifier("http://127.0.0.1:9", timeout=2) as unreachable:
        with pytest.raises(GatehouseConnectionError):
            await unreachable.verify(gatehouse.token)


def test_unusable_keys_in_the_set_are_skipped() -> None:
    keys = KeySet(algorithms=["EdDSA"], refetch_interval=60, max_age=3600, clock=time.monotonic)
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    good_jwk = jwt.algorithms.OKPAlgorithm.to_jwk(public, as_dict=True)
    keys.load(
        {
            "keys": [
                "not an object",
                {"kty": "OKP"},  # no kid
                {"kid": "broken", "kty": "OKP", "crv": "Ed25519", "x": "!!"},
                {"kid": "hs", "kty": "oct", "k": "c2VjcmV0", "alg": "HS256"},  # not allowed
                {**good_jwk, "kid": "good", "alg": "EdDSA"},
            ]
        }
    )
    assert list(keys.keys) == ["good"]
    keys.load({"keys": "nope"})
    assert keys.keys == {}
    keys.load(["not", "a", "set"])
    assert keys.keys == {}


async def test_the_fastapi_dependency(gatehouse: Gatehouse) -> None:
    verifier = _verifier(gatehouse)
    User = Annotated[AccessToken, Depends(gatehouse_bearer(verifier))]
    app = FastAPI()

    @app.get("/mine")
    async def mine(token: User) -> dict[str, str]:
        return {"user_id": token.user_id}

    async with running(app) as client:
        ok = await client.get("/mine", headers=bearer(gatehouse.token))
        assert ok.json() == {"user_id": gatehouse.account["user"]["id"]}
        missing = await client.get("/mine")
        assert missing.status_code == 401
        assert missing.json()["detail"]["code"] == "NOT_AUTHENTICATED"
        assert missing.headers["www-authenticate"] == "Bearer"
        bad = await client.get("/mine", headers=bearer("not-a-jwt"))
        assert (bad.status_code, bad.json()["detail"]["code"]) == (401, "INVALID_TOKEN")
        assert bad.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        schemes = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
        assert schemes["Gatehouse"]["scheme"] == "bearer"

    down = AsyncTokenVerifier("http://127.0.0.1:9", timeout=2)
    unavailable = FastAPI()

    @unavailable.get("/mine")
    async def mine_down(
        token: Annotated[AccessToken, Depends(gatehouse_bearer(down))],
    ) -> dict[str, str]:
        return {"user_id": token.user_id}  # pragma: no cover  (never reached)

    async with running(unavailable) as client:
        response = await client.get("/mine", headers=bearer(gatehouse.token))
        assert (response.status_code, response.json()["detail"]["code"]) == (
            503,
            "AUTH_UNAVAILABLE",
        )


async def test_the_starlette_middleware(gatehouse: Gatehouse) -> None:
    async def mine(request: Request) -> JSONResponse:
        return JSONResponse({"user_id": request.state.gatehouse_token.user_id})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    def app_with(verifier: AsyncTokenVerifier) -> Starlette:
        return Starlette(
            routes=[Route("/mine", mine), Route("/health", health)],
            middleware=[
                Middleware(GatehouseAuthMiddleware, verifier=verifier, public_paths={"/health"})
            ],
        )

    transport = httpx.ASGITransport(app=app_with(_verifier(gatehouse)))
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        ok = await client.get("/mine", headers=bearer(gatehouse.token))
        assert ok.json() == {"user_id": gatehouse.account["user"]["id"]}
        assert (await client.get("/health")).json() == {"status": "ok"}
        for headers, code in (
            ({}, "NOT_AUTHENTICATED"),
            ({"Authorization": f"Basic {gatehouse.token}"}, "NOT_AUTHENTICATED"),
            ({"Authorization": "Bearer "}, "NOT_AUTHENTICATED"),
            (bearer("not-a-jwt"), "INVALID_TOKEN"),
        ):
            refused = await client.get("/mine", headers=headers)
            assert (refused.status_code, refused.json()["detail"]["code"]) == (401, code)
            assert refused.headers["www-authenticate"].startswith("Bearer")

    down = httpx.ASGITransport(app=app_with(AsyncTokenVerifier("http://127.0.0.1:9", timeout=2)))
    async with httpx.AsyncClient(transport=down, base_url="http://app") as client:
        response = await client.get("/mine", headers=bearer(gatehouse.token))
        assert (response.status_code, response.json()["detail"]["code"]) == (
            503,
            "AUTH_UNAVAILABLE",
        )
        assert "www-authenticate" not in response.headers


async def test_the_middleware_closes_a_websocket_without_a_valid_token() -> None:
    async def inner(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        raise AssertionError("never reached")

    async def receive() -> dict[str, Any]:  # pragma: no cover  (never read)
        return {"type": "websocket.connect"}

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    middleware = GatehouseAuthMiddleware(inner, verifier=AsyncTokenVerifier("http://127.0.0.1:9"))
    await middleware({"type": "websocket", "path": "/ws", "headers": []}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "NOT_AUTHENTICATED"}]


async def test_concurrent_verifications_fetch_the_keys_once(gatehouse: Gatehouse) -> None:
    verifier = _verifier(gatehouse)
    verified = await asyncio.gather(*(verifier.verify(gatehouse.token) for _ in range(5)))
    assert {v.user_id for v in verified} == {gatehouse.account["user"]["id"]}
    assert verifier.keys.fetches == 1


def test_the_sync_verifier_raises_the_sdks_transport_errors() -> None:
    token = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": "some-key"})
    with (
        TokenVerifier("http://127.0.0.1:9", timeout=2) as verifier,
        pytest.raises(ConnectionError) as failed,
    ):
        verifier.verify(token)
    assert isinstance(failed.value, GatehouseConnectionError)
    assert verifier.keys.fetches == 1
