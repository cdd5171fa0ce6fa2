"""Access tokens: the claims, and every forgery docs/api.md lists is refused."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from gatehouse.users.models import User
from tests.conftest import TEST_SECRET
from tests.helpers import assert_envelope, bearer, login, signed_up

ME = "/api/v1/users/me"


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _forge(claims: dict[str, Any], *, key: str = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.fixture
async def account(client: httpx.AsyncClient) -> dict[str, Any]:
    return await signed_up(client)


async def test_access_token_carries_the_documented_claims_signed_with_the_secret_key(
    account: dict[str, Any],
) -> None:
    claims = jwt.decode(
        account["access_token"],
        TEST_SECRET.encode("utf-8"),
        algorithms=["HS256"],
        audience="gatehouse:api",
        issuer="gatehouse",
    )
    assert set(claims) == {"sub", "sid", "jti", "iat", "exp", "iss", "aud", "type"}
    assert claims["sub"] == account["user"]["id"]
    assert claims["type"] == "access"
    assert jwt.get_unverified_header(account["access_token"])["alg"] == "HS256"


async def test_a_valid_token_is_accepted(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    response = await client.get(ME, headers=bearer(account["access_token"]))
    assert response.status_code == 200
    assert response.json()["id"] == account["user"]["id"]


async def test_each_login_gets_a_distinct_jti_and_session(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    again = await login(client, account["user"]["email"])
    first, second = _claims(account["access_token"]), _claims(again["access_token"])
    assert first["jti"] != second["jti"]
    assert first["sid"] != second["sid"]


async def test_missing_or_non_bearer_authorization_is_not_authenticated(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    for headers in (
        {},
        {"Authorization": f"Basic {account['access_token']}"},
        {"Authorization": "Bearer "},
    ):
        response = await client.get(ME, headers=headers)
        assert_envelope(response, 401, "NOT_AUTHENTICATED")


FORGERIES = [
    "alg none",
    "flipped signature",
    "wrong key",
    "wrong algorithm",
    "wrong audience",
    "wrong issuer",
    "missing exp",
    "wrong type",
    "forged and expired",
    "garbage",
    "unknown session",
    "session of another user",
    "issued in the future",
    "expired with the wrong audience",
    "expired and of the wrong type",
]


def _forgery(kind: str, claims: dict[str, Any], token: str, other: dict[str, Any]) -> str:
    now = int(time.time())
    if kind == "alg none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    if kind == "flipped signature":
        head, body, signature = token.split(".")
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        return f"{head}.{body}.{flipped}"
    if kind == "wrong key":
        return _forge(claims, key="another-secret-key-of-enough-length-000")
    if kind == "wrong algorithm":
        return _forge(claims, algorithm="HS512")
    if kind == "wrong audience":
        return _forge({**claims, "aud": "someone-else"})
    if kind == "wrong issuer":
        return _forge({**claims, "iss": "evil"})
    if kind == "missing exp":
        return _forge({k: v for k, v in claims.items() if k != "exp"})
    if kind == "wrong type":
        return _forge({**claims, "type": "refresh"})
    if kind == "forged and expired":
        expired = {**claims, "iat": now - 7200, "exp": now - 3600}
        return _forge(expired, key="another-secret-key-of-enough-length-000")
    if kind == "issued in the future":
        return _forge({**claims, "iat": now + 3600, "exp": now + 7200})
    if kind == "expired with the wrong audience":
        return _forge({**claims, "aud": "someone-else", "iat": now - 7200, "exp": now - 60})
    if kind == "expired and of the wrong type":
        return _forge({**claims, "type": "refresh", "iat": now - 7200, "exp": now - 60})
    if kind == "garbage":
        return "not.a.jwt"
    if kind == "unknown session":
        return _forge({**claims, "sid": str(uuid.uuid4())})
    if kind == "session of another user":
        return _forge({**claims, "sid": _claims(other["access_token"])["sid"]})
    raise AssertionError(kind)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("kind", FORGERIES)
async def test_forged_tokens_are_invalid(
    client: httpx.AsyncClient, account: dict[str, Any], kind: str
) -> None:
    other = await signed_up(client)
    token = _forgery(kind, _claims(account["access_token"]), account["access_token"], other)
    response = await client.get(ME, headers=bearer(token))
    assert_envelope(response, 401, "INVALID_TOKEN")


async def test_an_expired_genuine_token_is_token_expired(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    now = int(time.time())
    expired = _forge({**_claims(account["access_token"]), "iat": now - 7200, "exp": now - 60})
    response = await client.get(ME, headers=bearer(expired))
    assert_envelope(response, 401, "TOKEN_EXPIRED")


async def test_a_refresh_token_is_not_an_access_token(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    response = await client.get(ME, headers=bearer(account["refresh_token"]))
    assert_envelope(response, 401, "INVALID_TOKEN")


async def test_the_token_of_a_deactivated_user_is_refused(
    client: httpx.AsyncClient, account: dict[str, Any], app: FastAPI
) -> None:
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(User).where(User.id == uuid.UUID(account["user"]["id"])).values(is_active=False)
        )
        await session.commit()
    response = await client.get(ME, headers=bearer(account["access_token"]))
    assert_envelope(response, 401, "INVALID_TOKEN")
