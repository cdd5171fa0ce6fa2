"""The admin API: list, create, get, patch, delete, and its guards."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import (
    PASSWORD,
    assert_envelope,
    bearer,
    login,
    make_admin,
    register,
    signed_up,
    unique_email,
)

USERS = "/api/v1/users"


@pytest.fixture
async def admin(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Any]:
    return await make_admin(app, client)


@pytest.fixture
def admin_headers(admin: dict[str, Any]) -> dict[str, str]:
    return bearer(admin["access_token"])


async def test_a_non_admin_gets_403_on_every_admin_route(client: httpx.AsyncClient) -> None:
    user = await signed_up(client)
    other = await signed_up(client)
    headers = bearer(user["access_token"])
    other_id = other["user"]["id"]
    calls = [
        ("GET", USERS, None),
        ("POST", USERS, {"email": unique_email(), "password": PASSWORD}),
        ("GET", f"{USERS}/{other_id}", None),
        ("PATCH", f"{USERS}/{other_id}", {"role": "admin"}),
        ("DELETE", f"{USERS}/{other_id}", None),
        ("PATCH", f"{USERS}/{user['user']['id']}", {"role": "admin"}),
        ("GET", "/api/v1/users/00000000-0000-0000-0000-000000000000", None),
        ("GET", "/api/v1/users/not-a-uuid", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, headers=headers, json=body)
        assert_envelope(response, 403, "FORBIDDEN")
    me = await client.get(f"{USERS}/{user['user']['id']}", headers=headers)
    assert me.status_code == 200


async def test_admin_routes_need_a_token(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get(USERS), 401, "NOT_AUTHENTICATED")


async def test_admin_lists_users_with_filters_and_pages(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for index in range(5):
        await register(client, f"list{index}_x@corp.example", full_name=f"Person {index}")
    await register(client, "other@elsewhere.example", full_name="Corp 100% Fan")

    page = (await client.get(USERS, headers=admin_headers, params={"page_size": 2})).json()
    assert set(page) == {"items", "total", "page", "page_size", "pages"}
    assert (page["total"], page["page"], page["page_size"], page["pages"]) == (7, 1, 2, 4)
    assert len(page["items"]) == 2

    found = (await client.get(USERS, headers=admin_headers, params={"q": "CORP.example"})).json()
    assert found["total"] == 5
    literal = (await client.get(USERS, headers=admin_headers, params={"q": "100%"})).json()
    assert [u["email"] for u in literal["items"]] == ["other@elsewhere.example"]
    underscore = (await client.get(USERS, headers=admin_headers, params={"q": "_x@"})).json()
    assert underscore["total"] == 5
    admins = (await client.get(USERS, headers=admin_headers, params={"role": "admin"})).json()
    assert admins["total"] == 1
    by_email = (await client.get(USERS, headers=admin_headers, params={"sort": "email"})).json()
    emails = [u["email"] for u in by_email["items"]]
    assert emails == sorted(emails)
    newest = (await client.get(USERS, headers=admin_headers)).json()["items"][0]
    assert newest["email"] == "other@elsewhere.example"


async def test_list_parameters_are_validated(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for params in (
        {"page_size": 101},
        {"page_size": 0},
        {"page": 0},
        {"sort": "password_hash"},
        {"role": "root"},
    ):
        response = await client.get(USERS, headers=admin_headers, params=params)
        assert_envelope(response, 422, "VALIDATION_ERROR")


async def test_admin_creates_gets_and_deletes_a_user(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    email = unique_email("made")
    created = await client.post(
        USERS, headers=admin_headers, json={"email": email, "password": PASSWORD, "role": "admin"}
    )
    assert created.status_code == 201
    user = created.json()
    assert user["role"] == "admin"
    taken = await client.post(
        USERS, headers=admin_headers, json={"email": email, "password": PASSWORD}
    )
    assert_envelope(taken, 409, "EMAIL_ALREADY_REGISTERED")

    fetched = await client.get(f"{USERS}/{user['id']}", headers=admin_headers)
    assert fetched.json() == user
    tokens = await login(client, email)

    deleted = await client.delete(f"{USERS}/{user['id']}", headers=admin_headers)
    assert deleted.status_code == 204
    assert_envelope(
        await client.get(f"{USERS}/{user['id']}", headers=admin_headers), 404, "NOT_FOUND"
    )
    assert_envelope(
        await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"])),
        401,
        "INVALID_TOKEN",
    )
    assert_envelope(
        await client.delete(f"{USERS}/{user['id']}", headers=admin_headers), 404, "NOT_FOUND"
    )


async def test_deactivation_ends_sessions_and_refuses_login(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    target = await signed_up(client)
    response = await client.patch(
        f"{USERS}/{target['user']['id']}", headers=admin_headers, json={"is_active": False}
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert_envelope(
        await client.get("/api/v1/users/me", headers=bearer(target["access_token"])),
        401,
        "INVALID_TOKEN",
    )
    refused = await client.post(
        "/api/v1/auth/login", json={"email": target["user"]["email"], "password": PASSWORD}
    )
    assert_envelope(refused, 403, "ACCOUNT_DISABLED")

    # Reactivation does not bring the old sessions back.
    await client.patch(
        f"{USERS}/{target['user']['id']}", headers=admin_headers, json={"is_active": True}
    )
    assert_envelope(
        await client.get("/api/v1/users/me", headers=bearer(target["access_token"])),
        401,
        "INVALID_TOKEN",
    )
    await login(client, target["user"]["email"])


async def test_admin_patches_role_name_and_email(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    target = await signed_up(client)
    other = await signed_up(client)
    path = f"{USERS}/{target['user']['id']}"
    response = await client.patch(
        path,
        headers=admin_headers,
        json={"role": "admin", "full_name": "Promoted", "email": "P@Example.com"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["role"], body["full_name"], body["email"]) == (
        "admin",
        "Promoted",
        "p@example.com",
    )
    taken = await client.patch(path, headers=admin_headers, json={"email": other["user"]["email"]})
    assert_envelope(taken, 409, "EMAIL_ALREADY_REGISTERED")
    missing = await client.patch(
        f"{USERS}/00000000-0000-0000-0000-000000000000",
        headers=admin_headers,
        json={"full_name": "x"},
    )
    assert_envelope(missing, 404, "NOT_FOUND")


async def test_the_last_active_admin_cannot_be_removed(
    client: httpx.AsyncClient, admin: dict[str, Any], admin_headers: dict[str, str]
) -> None:
    me = f"{USERS}/{admin['user']['id']}"
    for body in ({"role": "user"}, {"is_active": False}):
        assert_envelope(await client.patch(me, headers=admin_headers, json=body), 409, "LAST_ADMIN")
    assert_envelope(await client.delete(me, headers=admin_headers), 409, "LAST_ADMIN")
    assert_envelope(
        await client.request(
            "DELETE", "/api/v1/users/me", headers=admin_headers, json={"password": PASSWORD}
        ),
        409,
        "LAST_ADMIN",
    )
    # With a second admin, the first may step down.
    second = await client.post(
        USERS,
        headers=admin_headers,
        json={"email": unique_email(), "password": PASSWORD, "role": "admin"},
    )
    assert second.status_code == 201
    demoted = await client.patch(me, headers=admin_headers, json={"role": "user"})
    assert demoted.status_code == 200
    assert demoted.json()["role"] == "user"
