"""Registration: the User shape, unique emails, the password policy."""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from gatehouse.users.models import User
from tests.helpers import PASSWORD, assert_envelope, register, running, unique_email


async def test_register_answers_201_with_the_user_and_its_location(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "full_name": "Ann Example"},
    )
    assert response.status_code == 201
    user = response.json()
    assert set(user) == {
        "id",
        "email",
        "full_name",
        "role",
        "is_active",
        "is_verified",
        "created_at",
        "updated_at",
    }
    assert user["email"] == email
    assert user["full_name"] == "Ann Example"
    assert (user["role"], user["is_active"], user["is_verified"]) == ("user", True, False)
    assert response.headers["location"] == f"/api/v1/users/{user['id']}"
    assert user["created_at"].endswith(("Z", "+00:00"))


async def test_register_ignores_privileged_fields(client: httpx.AsyncClient) -> None:
    user = await register(client, role="admin", is_active=False, is_verified=True)
    assert (user["role"], user["is_active"], user["is_verified"]) == ("user", True, False)


async def test_emails_are_unique_case_insensitively(client: httpx.AsyncClient) -> None:
    await register(client, "Ann@Example.IO")
    response = await client.post(
        "/api/v1/auth/register", json={"email": "ann@example.io", "password": PASSWORD}
    )
    assert_envelope(response, 409, "EMAIL_ALREADY_REGISTERED")


async def test_login_works_with_the_email_in_any_case(client: httpx.AsyncClient) -> None:
    await register(client, "Mixed.Case@Example.com")
    response = await client.post(
        "/api/v1/auth/login", json={"email": "mixed.case@EXAMPLE.com", "password": PASSWORD}
    )
    assert response.status_code == 200


async def test_twenty_concurrent_registrations_of_one_email_give_one_201(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = unique_email("race")

    async def attempt(index: int) -> int:
        variant = email.upper() if index % 2 else email
        response = await client.post(
            "/api/v1/auth/register", json={"email": variant, "password": PASSWORD}
        )
        if response.status_code != 201:
            assert_envelope(response, 409, "EMAIL_ALREADY_REGISTERED")
        return response.status_code

    statuses = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert sorted(statuses) == [201] + [409] * 19
    async with app.state.sessionmaker() as session:
        rows = (await session.scalars(select(User).where(User.email == email))).all()
    assert len(rows) == 1


async def test_invalid_email_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": "not-an-email", "password": PASSWORD}
    )
    error = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["loc"] == ["body", "email"]


async def test_password_policy_refuses_weak_passwords(client: httpx.AsyncClient) -> None:
    email = unique_email()
    cases = {
        "short": "Ab1!xyz",  # 7 characters
        "too long": "x" * 129,
        "common": "password1234",
        "common, other case": "Iloveyou1",
        "equal to the email": email.upper(),
    }
    for label, password in cases.items():
        response = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": password}
        )
        error = assert_envelope(response, 422, "VALIDATION_ERROR")
        assert error["details"]["fields"][0]["loc"] == ["body", "password"], label


async def test_password_policy_accepts_long_unusual_passphrases(client: httpx.AsyncClient) -> None:
    await register(client, password="x" * 128)
    await register(client, password="eight ch")


async def test_password_policy_is_configurable(app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory(PASSWORD_MIN_LENGTH=12, PASSWORD_CHECK_COMMON=False)
    async with running(app) as client:
        short = await client.post(
            "/api/v1/auth/register", json={"email": unique_email(), "password": "elevenchars"}
        )
        assert_envelope(short, 422, "VALIDATION_ERROR")
        await register(client, password="password1234")  # common, but the check is off


async def test_missing_body_fields_are_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/register", json={"email": unique_email()})
    error = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["loc"] == ["body", "password"]


async def test_an_email_in_decomposed_unicode_logs_in_like_the_composed_one(
    client: httpx.AsyncClient,
) -> None:
    composed = f"jos\u00e9.{unique_email()}"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    created = await client.post(
        "/api/v1/auth/register", json={"email": decomposed, "password": PASSWORD}
    )
    assert created.status_code == 201
    assert created.json()["email"] == composed
    for spelling in (composed, decomposed, decomposed.upper()):
        login = await client.post(
            "/api/v1/auth/login", json={"email": spelling, "password": PASSWORD}
        )
        assert login.status_code == 200, spelling


@pytest.mark.parametrize(
    "name",
    [
        "Ann\u202egnp.exe",  # right-to-left override
        "Ann\u2066Bob\u2069",  # isolates
        "An\u200bn",  # zero-width space
        "Ann\u200d",  # zero-width joiner
        "Ann\x1b[31m",  # escape
    ],
)
async def test_names_with_control_or_format_characters_are_refused(
    client: httpx.AsyncClient, name: str
) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": unique_email(), "password": PASSWORD, "full_name": name},
    )
    body = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert body["details"]["fields"][0]["loc"] == ["body", "full_name"]
    account = await register(client)
    token = (
        await client.post(
            "/api/v1/auth/login", json={"email": account["email"], "password": PASSWORD}
        )
    ).json()["access_token"]
    changed = await client.patch(
        "/api/v1/users/me", json={"full_name": name}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_envelope(changed, 422, "VALIDATION_ERROR")


async def test_names_keep_ordinary_unicode(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": unique_email(), "password": PASSWORD, "full_name": "Zoë Ñúñez 山田"},
    )
    assert response.status_code == 201
    assert response.json()["full_name"] == "Zoë Ñúñez 山田"
