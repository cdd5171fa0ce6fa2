"""Login: the token pair, equal answers for unknown emails, disabled accounts, hashing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import bcrypt
import httpx
import jwt
from fastapi import FastAPI
from sqlalchemy import update

from gatehouse.users.models import User
from gatehouse.users.service import find_user_by_email
from tests.helpers import PASSWORD, assert_envelope, register, running, unique_email


async def _stored_hash(app: FastAPI, email: str) -> str:
    async with app.state.sessionmaker() as session:
        user = await find_user_by_email(session, email=email)
        assert user is not None
        return user.password_hash


async def _set_user(app: FastAPI, email: str, **values: Any) -> None:
    async with app.state.sessionmaker() as session:
        await session.execute(update(User).where(User.email == email).values(**values))
        await session.commit()


async def test_token_endpoint_takes_the_oauth2_password_form(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        "/api/v1/auth/token", data={"username": user["email"], "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert response.headers["cache-control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == body["expires_in"]


async def test_login_takes_json_and_answers_no_store(client: httpx.AsyncClient) -> None:
    user = await register(client)
    response = await client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["refresh_token"] != response.json()["access_token"]


def _comparable(response: httpx.Response) -> dict[str, Any]:
    error = dict(response.json()["error"])
    for varying in ("timestamp", "request_id"):
        error.pop(varying)
    return error


async def test_unknown_email_and_wrong_password_answer_the_same(client: httpx.AsyncClient) -> None:
    user = await register(client)
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": "not the password"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": "not the password"}
    )
    assert_envelope(wrong, 401, "INVALID_CREDENTIALS")
    assert_envelope(unknown, 401, "INVALID_CREDENTIALS")
    assert _comparable(wrong) == _comparable(unknown)
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"
    assert wrong.json()["error"]["message"] == "Incorrect email or password"


async def test_unknown_email_still_spends_a_password_verification(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    verified: list[str] = []
    hasher = app.state.auth.hasher
    original = hasher.verify_and_update_sync

    def spy(password: str, password_hash: str) -> tuple[bool, str | None]:
        verified.append(password_hash[:10])
        result: tuple[bool, str | None] = original(password, password_hash)
        return result

    hasher.verify_and_update_sync = spy
    response = await client.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": "whatever it is"}
    )
    assert response.status_code == 401
    assert verified == ["$argon2id$"]


async def test_password_verification_runs_off_the_event_loop(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user = await register(client)
    threads: list[threading.Thread] = []
    hasher = app.state.auth.hasher
    original = hasher.verify_and_update_sync

    def spy(password: str, password_hash: str) -> tuple[bool, str | None]:
        threads.append(threading.current_thread())
        result: tuple[bool, str | None] = original(password, password_hash)
        return result

    hasher.verify_and_update_sync = spy
    response = await client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert response.status_code == 200
    assert threads
    assert all(thread is not threading.main_thread() for thread in threads)


async def test_disabled_account_is_403_only_with_the_right_password(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user = await register(client)
    await _set_user(app, user["email"], is_active=False)
    right = await client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert_envelope(right, 403, "ACCOUNT_DISABLED")
    wrong = await client.post(
        "/api/v1/auth/token", data={"username": user["email"], "password": "wrong password"}
    )
    assert_envelope(wrong, 401, "INVALID_CREDENTIALS")


async def test_passwords_are_hashed_with_argon2id_owasp_parameters_by_default(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(ARGON2_MEMORY_COST_KIB=19 * 1024, ARGON2_TIME_COST=2)
    async with running(app) as client:
        user = await register(client)
        stored = await _stored_hash(app, user["email"])
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored


async def test_a_bcrypt_hash_is_accepted_and_upgraded_to_argon2id_on_login(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user = await register(client)
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    await _set_user(app, user["email"], password_hash=legacy)

    response = await client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert response.status_code == 200
    upgraded = await _stored_hash(app, user["email"])
    assert upgraded.startswith("$argon2id$")
    again = await client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert again.status_code == 200


async def test_a_wrong_password_against_a_bcrypt_hash_is_refused_and_not_upgraded(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user = await register(client)
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    await _set_user(app, user["email"], password_hash=legacy)
    response = await client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": "x" * 100}
    )
    assert_envelope(response, 401, "INVALID_CREDENTIALS")
    assert await _stored_hash(app, user["email"]) == legacy


async def test_hashes_with_old_argon2_parameters_are_rehashed_on_login(
    client: httpx.AsyncClient, app: FastAPI, app_factory: Callable[..., FastAPI]
) -> None:
    user = await register(client)
    old = await _stored_hash(app, user["email"])
    assert ",t=1," in old
    stronger = app_factory(ARGON2_TIME_COST=3)
    async with running(stronger) as other:
        response = await other.post(
            "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
        )
        assert response.status_code == 200
        assert ",t=3," in await _stored_hash(stronger, user["email"])


async def test_a_corrupt_stored_hash_is_a_refusal_not_a_500(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    user = await register(client)
    await _set_user(app, user["email"], password_hash="not-a-hash")
    response = await client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert_envelope(response, 401, "INVALID_CREDENTIALS")


async def test_login_validation_errors_use_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "a@b.io"})
    assert_envelope(response, 422, "VALIDATION_ERROR")
    response = await client.post("/api/v1/auth/login", json={"email": "", "password": "x"})
    assert_envelope(response, 422, "VALIDATION_ERROR")
