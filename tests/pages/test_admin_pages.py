"""The admin page `/admin/users` through HTTP: admins only, CSRF, search, pages, role
changes, deactivation and activation (with the API's guards, audit and session ends)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from gatehouse.users.models import User
from tests.helpers import PASSWORD, bearer, login, register, running, unique_email
from tests.pages.helpers import HTML, csrf_of, read_page, sign_up, visible_fields

USERS = "/admin/users"


async def promote(app: FastAPI, email: str) -> None:
    async with app.state.sessionmaker() as session:
        await session.execute(update(User).where(User.email == email).values(role="admin"))
        await session.commit()


async def signed_in_admin(app: FastAPI, client: httpx.AsyncClient) -> str:
    """Sign up through the pages (the client keeps the session cookie), made an admin."""
    email = unique_email("page-admin")
    await sign_up(client, email, PASSWORD)
    await promote(app, email)
    return email


async def post(client: httpx.AsyncClient, action: str, **data: str) -> httpx.Response:
    """POST a form of the admin page with the token the page carries."""
    form = await client.get(USERS, headers=HTML)
    assert form.status_code == 200, form.text
    return await client.post(action, data={"csrf_token": csrf_of(form), **data}, headers=HTML)


def rows(html: str) -> list[str]:
    """The emails listed, in order."""
    return re.findall(r'<span class="email">([^<\s]+)', html)


async def user_by_api(client: httpx.AsyncClient, admin_email: str, user_id: str) -> Any:
    tokens = await login(client, admin_email)
    response = await client.get(f"/api/v1/users/{user_id}", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    return response.json()


async def test_only_admins_see_the_page_and_its_link(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    signed_out = await client.get(USERS, headers=HTML)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/login?next=%2Fadmin%2Fusers"

    email = unique_email("page-user")
    await sign_up(client, email, PASSWORD)
    target = await register(client)
    refused = await client.get(USERS, headers=HTML)
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]
    assert "for admins only" in refused.text
    assert 'href="/admin/users"' not in (await client.get("/account", headers=HTML)).text
    # Nor can a user post the forms, with a right token of their own.
    account = await client.get("/account", headers=HTML)
    for action in ("deactivate", "activate", "role"):
        denied = await client.post(
            f"{USERS}/{target['id']}/{action}",
            data={"csrf_token": csrf_of(account), "role": "admin"},
            headers=HTML,
        )
        assert denied.status_code == 403, action
        assert "for admins only" in denied.text

    await promote(app, email)
    assert (await client.get(USERS, headers=HTML)).status_code == 200
    assert 'href="/admin/users">Admin</a>' in (await client.get("/account", headers=HTML)).text
    assert (await user_by_api(client, email, target["id"]))["is_active"] is True
    assert (await user_by_api(client, email, target["id"]))["role"] == "user"


async def test_the_forms_need_this_sessions_csrf_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await signed_in_admin(app, client)
    target = await register(client)
    action = f"{USERS}/{target['id']}/deactivate"
    forged = await client.post(action, data={"csrf_token": "forged"}, headers=HTML)
    assert forged.status_code == 403
    assert "CSRF" in forged.text
    missing = await client.post(action, headers=HTML)
    assert missing.status_code == 403
    page = await client.get(USERS, headers=HTML)
    cross_site = await client.post(
        action,
        data={"csrf_token": csrf_of(page)},
        headers={**HTML, "Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert (await user_by_api(client, admin, target["id"]))["is_active"] is True

    client.cookies.delete("session_id")
    signed_out = await client.post(action, data={"csrf_token": csrf_of(page)}, headers=HTML)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/login?next=%2Fadmin%2Fusers"


async def test_search_and_pages(app: FastAPI, client: httpx.AsyncClient) -> None:
    await signed_in_admin(app, client)
    tag = unique_email("needle").split("@")[0]
    emails = {(await register(client, f"{tag}-{n:02}@example.com"))["email"] for n in range(23)}
    await register(client, unique_email("haystack"), full_name="Needle In Name")

    page = await client.get(USERS, headers=HTML, params={"q": tag.upper()})
    assert page.status_code == 200
    assert "23 users" in page.text
    assert "page 1 of 2" in page.text
    first = rows(page.text)
    assert len(first) == 20
    assert set(first) <= emails
    assert visible_fields(read_page(page.text)) == {"q": "Search"}
    role_labels = [text for id_, text in read_page(page.text).labels.items() if id_ != "q"]
    assert role_labels == ["Role"] * 20  # one labelled select a user
    assert f'value="{tag.upper()}"' in page.text
    assert 'rel="next"' in page.text
    assert 'rel="prev"' not in page.text

    second = await client.get(USERS, headers=HTML, params={"q": tag.upper(), "page": "2"})
    assert len(rows(second.text)) == 3
    assert set(first) | set(rows(second.text)) == emails
    assert f'href="/admin/users?q={tag.upper()}"' in second.text  # the previous page
    assert 'rel="next"' not in second.text

    by_name = await client.get(USERS, headers=HTML, params={"q": "needle in"})
    assert "1 user matching" in by_name.text
    for odd in ("0", "-1", "x", "99999999999"):
        response = await client.get(USERS, headers=HTML, params={"page": odd})
        assert response.status_code == 200, odd
    past_the_end = await client.get(USERS, headers=HTML, params={"q": tag, "page": "3"})
    assert rows(past_the_end.text) == []
    nothing = await client.get(USERS, headers=HTML, params={"q": "%_no such user_%"})
    assert "No users match this search." in nothing.text


async def test_role_change_deactivate_and_activate(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await signed_in_admin(app, client)
    target = await register(client)
    target_tokens = await login(client, target["email"])
    tag = target["email"].split("@")[0]

    promoted = await post(client, f"{USERS}/{target['id']}/role", role="admin", q=tag, page="1")
    assert promoted.status_code == 303
    assert promoted.headers["location"] == f"{USERS}?q={tag}&notice=role-changed"
    shown = await client.get(promoted.headers["location"], headers=HTML)
    assert "The role is changed." in shown.text
    assert (await user_by_api(client, admin, target["id"]))["role"] == "admin"
    demoted = await post(client, f"{USERS}/{target['id']}/role", role="user")
    assert demoted.headers["location"] == f"{USERS}?notice=role-changed"

    deactivated = await post(client, f"{USERS}/{target['id']}/deactivate", q=tag, page="2")
    assert deactivated.headers["location"] == f"{USERS}?q={tag}&page=2&notice=deactivated"
    listed = await client.get(USERS, headers=HTML, params={"q": tag})
    assert "deactivated" in listed.text
    assert read_page(listed.text).buttons[-1] == "Activate"
    assert (await user_by_api(client, admin, target["id"]))["is_active"] is False
    # As through the API: the user's sessions are over, and they cannot sign in.
    me = await client.get("/api/v1/users/me", headers=bearer(target_tokens["access_token"]))
    assert me.status_code == 401
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": target_tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401

    activated = await post(client, f"{USERS}/{target['id']}/activate")
    assert activated.headers["location"] == f"{USERS}?notice=activated"
    assert (await user_by_api(client, admin, target["id"]))["is_active"] is True
    assert (await login(client, target["email"]))["access_token"]

    tokens = await login(client, admin)
    audit = await client.get(
        "/api/v1/audit",
        params={"user_id": target["id"]},
        headers=bearer(tokens["access_token"]),
    )
    kinds = [event["kind"] for event in audit.json()["items"]]
    assert kinds.count("role_changed") == 2
    assert kinds.count("user_deactivated") == 1
    changed = next(e for e in audit.json()["items"] if e["kind"] == "user_deactivated")
    assert changed["details"]["by"] != "cli"


async def test_the_last_admin_is_refused_on_the_page(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await signed_in_admin(app, client)
    page = await client.get(USERS, headers=HTML, params={"q": admin})
    admin_id = re.search(r'data-user="([0-9a-f-]+)"', page.text)
    assert admin_id
    own = admin_id.group(1)
    for action, data in (("deactivate", {}), ("role", {"role": "user"})):
        refused = await post(client, f"{USERS}/{own}/{action}", **data)
        assert refused.status_code == 409, action
        assert "This is the last active admin; make another admin first." in refused.text
        row = refused.text.split(f'data-user="{own}"')[1].split("</li>")[0]
        assert "last active admin" in row  # beside that user
    assert (await client.get(USERS, headers=HTML)).status_code == 200  # still an admin

    # With another admin, giving up your own rights is allowed: then the page is closed.
    other = await register(client)
    await promote(app, other["email"])
    stepped_down = await post(client, f"{USERS}/{own}/role", role="user")
    assert stepped_down.headers["location"] == "/"
    assert (await client.get(USERS, headers=HTML)).status_code == 403


async def test_unknown_users_bad_roles_and_limits_show_on_the_page(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(RATE_LIMIT_ENABLED=True, RATE_LIMIT_DEFAULT="3/minute")
    async with running(app) as client:
        await signed_in_admin(app, client)
        target = await register(client)
        for user_id in ("00000000-0000-0000-0000-000000000000", "not-an-id"):
            gone = await post(client, f"{USERS}/{user_id}/deactivate")
            assert gone.status_code == 404
            assert "This user no longer exists." in read_page(gone.text).errors
        bad_role = await post(client, f"{USERS}/{target['id']}/role", role="owner")
        assert bad_role.status_code == 422
        row = bad_role.text.split(f'data-user="{target["id"]}"')[1].split("</li>")[0]
        assert "Choose a role: user or admin." in row
        limited = await post(client, f"{USERS}/{target['id']}/deactivate")
        assert limited.status_code == 429
        assert "Too many attempts" in limited.text


@pytest.mark.parametrize("path", [USERS, f"{USERS}?q=x&page=2"])
async def test_the_page_has_the_pages_headers(
    app: FastAPI, client: httpx.AsyncClient, path: str
) -> None:
    await signed_in_admin(app, client)
    response = await client.get(path, headers=HTML)
    assert response.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in response.headers["content-security-policy"]
