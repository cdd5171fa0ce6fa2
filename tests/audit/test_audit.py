"""Audit events: one for each kind, with ip and user agent, never a password or token."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from tests.helpers import (
    PASSWORD,
    assert_envelope,
    bearer,
    deliver_mail,
    link_token,
    login,
    make_admin,
    running,
    signed_up,
    unique_email,
)
from tests.smtp import SmtpServer

NEW_PASSWORD = "a different long passphrase"


async def _events(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/audit", headers=headers, params={"page_size": 100, **params}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_every_event_kind_is_recorded_without_secrets(
    app_factory: Callable[..., FastAPI], smtp_server: SmtpServer
) -> None:
    app: FastAPI = app_factory(
        EMAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port
    )
    secrets_seen: list[str] = [PASSWORD, NEW_PASSWORD, "wrong password here"]
    async with running(app) as client:
        admin = await make_admin(app, client)
        admin_headers = bearer(admin["access_token"])
        agent = {"User-Agent": "audit-test/1.0"}

        account = await signed_up(client)
        email = account["user"]["email"]
        secrets_seen += [account["access_token"], account["refresh_token"]]
        await client.post(
            "/api/v1/auth/login",
            json={"email": email, "password": "wrong password here"},
            headers=agent,
        )
        # refresh reuse
        second = (
            await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": account["refresh_token"]}
            )
        ).json()
        await client.post("/api/v1/auth/refresh", json={"refresh_token": account["refresh_token"]})
        secrets_seen += [second["access_token"], second["refresh_token"]]
        # logout
        fresh = await login(client, email)
        await client.post("/api/v1/auth/logout", headers=bearer(fresh["access_token"]))
        # verification
        await deliver_mail(app)
        verify_token = link_token(smtp_server.inbox.to(email)[0], "verify")
        secrets_seen.append(verify_token)
        assert (
            await client.post("/api/v1/auth/verify", json={"token": verify_token})
        ).status_code == 200
        # password change
        current = await login(client, email)
        changed = await client.post(
            "/api/v1/auth/change-password",
            headers=bearer(current["access_token"]),
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 204
        # reset
        await client.post("/api/v1/auth/forgot-password", json={"email": email})
        await deliver_mail(app)
        reset_token = link_token(
            next(m for m in smtp_server.inbox.to(email) if m["Subject"] == "Reset your password"),
            "reset-password",
        )
        secrets_seen.append(reset_token)
        await client.post(
            "/api/v1/auth/reset-password", json={"token": reset_token, "new_password": PASSWORD}
        )
        # role change and deactivation
        user_id = account["user"]["id"]
        await client.patch(
            f"/api/v1/users/{user_id}", headers=admin_headers, json={"role": "admin"}
        )
        await client.patch(
            f"/api/v1/users/{user_id}", headers=admin_headers, json={"is_active": False}
        )

        page = await _events(client, admin_headers, user_id=user_id)
        kinds = {event["kind"] for event in page["items"]}
        assert kinds >= {
            "login_succeeded",
            "login_failed",
            "logout",
            "refresh_reuse_detected",
            "password_reset_requested",
            "password_reset_completed",
            "password_changed",
            "email_verified",
            "role_changed",
            "user_deactivated",
        }
        failed = next(e for e in page["items"] if e["kind"] == "login_failed")
        assert failed["ip"] == "127.0.0.1"
        assert failed["user_agent"] == "audit-test/1.0"
        assert failed["details"]["email"] != email  # masked
        assert failed["details"]["email"].endswith("@example.com")
        role = next(e for e in page["items"] if e["kind"] == "role_changed")
        assert role["details"] == {"old": "user", "new": "admin", "by": admin["user"]["id"]}

        dump = json.dumps(page)
        for secret in secrets_seen:
            assert secret not in dump

        only_failed = await _events(client, admin_headers, kind="login_failed")
        assert {e["kind"] for e in only_failed["items"]} == {"login_failed"}
        newest_first = [e["created_at"] for e in page["items"]]
        assert newest_first == sorted(newest_first, reverse=True)


async def test_audit_is_admin_only_and_validated(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await signed_up(client)
    assert_envelope(
        await client.get("/api/v1/audit", headers=bearer(user["access_token"])), 403, "FORBIDDEN"
    )
    admin = await make_admin(app, client)
    headers = bearer(admin["access_token"])
    assert_envelope(
        await client.get("/api/v1/audit", headers=headers, params={"kind": "nope"}),
        422,
        "VALIDATION_ERROR",
    )
    assert_envelope(
        await client.get("/api/v1/audit", headers=headers, params={"page_size": 101}),
        422,
        "VALIDATION_ERROR",
    )
    ghost = await client.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": "nope nope"}
    )
    assert ghost.status_code == 401
    events = await _events(client, headers, kind="login_failed")
    assert events["total"] == 1
    assert events["items"][0]["user_id"] is None
