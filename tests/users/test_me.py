"""Self-service: GET/PATCH/DELETE /api/v1/users/me."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import PASSWORD, assert_envelope, bearer, login, signed_up

ME = "/api/v1/users/me"


@pytest.fixture
async def account(client: httpx.AsyncClient) -> dict[str, Any]:
    return await signed_up(client)


async def test_read_me(client: httpx.AsyncClient, account: dict[str, Any]) -> None:
    response = await client.get(ME, headers=bearer(account["access_token"]))
    assert response.json() == account["user"]


async def test_patch_me_changes_the_name_and_ignores_privileged_fields(
    client: httpx.AsyncClient,
    account: dict[str, Any],
) -> None:
    response = await client.patch(
        ME,
        headers=bearer(account["access_token"]),
        json={"full_name": "New Name", "role": "admin", "is_active": False, "is_verified": True},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["full_name"] == "New Name"
    assert (body["role"], body["is_active"], body["is_verified"]) == ("user", True, False)


async def test_email_change_needs_the_current_password(
    client: httpx.AsyncClient,
    account: dict[str, Any],
) -> None:
    headers = bearer(account["access_token"])
    missing = await client.patch(ME, headers=headers, json={"email": "new@example.com"})
    assert_envelope(missing, 422, "VALIDATION_ERROR")
    wrong = await client.patch(
        ME, headers=headers, json={"email": "new@example.com", "current_password": "nope nope"}
    )
    assert_envelope(wrong, 400, "INVALID_PASSWORD")
    other = await signed_up(client)
    taken = await client.patch(
        ME,
        headers=headers,
        json={"email": other["user"]["email"].upper(), "current_password": PASSWORD},
    )
    assert_envelope(taken, 409, "EMAIL_ALREADY_REGISTERED")


async def test_email_change_marks_the_account_unverified_and_moves_the_login(
    client: httpx.AsyncClient,
    account: dict[str, Any],
) -> None:
    response = await client.patch(
        ME,
        headers=bearer(account["access_token"]),
        json={"email": "Moved@Example.com", "current_password": PASSWORD},
    )
    assert response.status_code == 200
    assert (response.json()["email"], response.json()["is_verified"]) == (
        "moved@example.com",
        False,
    )
    await login(client, "moved@example.com")
    old = await client.post(
        "/api/v1/auth/login", json={"email": account["user"]["email"], "password": PASSWORD}
    )
    assert_envelope(old, 401, "INVALID_CREDENTIALS")


async def test_delete_me_needs_the_password_and_removes_everything(
    client: httpx.AsyncClient,
    account: dict[str, Any],
) -> None:
    headers = bearer(account["access_token"])
    await client.post("/api/v1/tasks", headers=headers, json={"title": "mine"})
    wrong = await client.request("DELETE", ME, headers=headers, json={"password": "not it at all"})
    assert_envelope(wrong, 400, "INVALID_PASSWORD")
    missing = await client.request("DELETE", ME, headers=headers, json={})
    assert_envelope(missing, 422, "VALIDATION_ERROR")

    response = await client.request("DELETE", ME, headers=headers, json={"password": PASSWORD})
    assert response.status_code == 204
    assert_envelope(await client.get(ME, headers=headers), 401, "INVALID_TOKEN")
    gone = await client.post(
        "/api/v1/auth/login", json={"email": account["user"]["email"], "password": PASSWORD}
    )
    assert_envelope(gone, 401, "INVALID_CREDENTIALS")
    # The email is free again, and the new account starts with no tasks.
    again = await signed_up(client, account["user"]["email"])
    tasks = await client.get("/api/v1/tasks", headers=bearer(again["access_token"]))
    assert tasks.json()["total"] == 0
