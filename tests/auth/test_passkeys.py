"""Passkeys through the API: registration, listing, rename, delete, passwordless sign-in
with a discoverable credential, the second step of a login, and what is refused (another
origin, a replayed challenge, a counter that goes back, another user's passkey). The
authenticator is a software one (tests/authenticator.py): real P-256 keys and signatures
that py_webauthn checks."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from gatehouse.audit.models import AuditEvent
from gatehouse.auth.models import Passkey, PasskeyChallenge
from gatehouse.auth.throttle import ThrottlePolicy
from gatehouse.core.db import utcnow
from gatehouse.users.models import User
from tests.authenticator import SoftAuthenticator
from tests.helpers import PASSWORD, ManualClock, assert_envelope, bearer, running, signed_up
from tests.pages.helpers import HTML, csrf_of, sign_in

WEBAUTHN = "/api/v1/auth/mfa/webauthn"
ORIGIN = "http://testserver"  # the tests' PUBLIC_URL


@pytest.fixture
async def app_and_client(
    app_factory: Callable[..., FastAPI],
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = app_factory()
    async with running(app) as client:
        yield app, client


@pytest.fixture
def pk_client(app_and_client: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return app_and_client[1]


def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(origin=ORIGIN, rp_id="testserver")


async def add_passkey(
    client: httpx.AsyncClient, token: str, device: SoftAuthenticator, name: str | None = "Laptop"
) -> dict[str, Any]:
    headers = bearer(token)
    options = await client.post(f"{WEBAUTHN}/register/options", headers=headers)
    assert options.status_code == 200, options.text
    response = await client.post(
        f"{WEBAUTHN}/register/verify",
        json={"credential": device.create(options.json()), "name": name},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login_options(client: httpx.AsyncClient, email: str | None = None) -> dict[str, Any]:
    response = await client.post(
        f"{WEBAUTHN}/login/options", json={"email": email} if email else {}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def audit_kinds(app: FastAPI, user_id: str) -> list[str]:
    async with app.state.sessionmaker() as db:
        rows = await db.scalars(
            select(AuditEvent.kind).where(AuditEvent.user_id == uuid.UUID(user_id))
        )
        return list(rows)


async def test_options_name_the_relying_party_of_public_url(pk_client: httpx.AsyncClient) -> None:
    account = await signed_up(pk_client)
    options = await pk_client.post(
        f"{WEBAUTHN}/register/options", headers=bearer(account["access_token"])
    )
    body = options.json()
    assert body["rp"] == {"id": "testserver", "name": "Gatehouse"}
    assert body["user"]["name"] == account["user"]["email"]
    assert body["user"]["id"] != account["user"]["id"]  # an opaque handle
    assert body["authenticatorSelection"]["residentKey"] == "required"
    assert options.headers["Cache-Control"] == "no-store"


async def test_register_list_rename_and_delete_a_passkey(
    app_and_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = app_and_client
    account = await signed_up(client)
    headers = bearer(account["access_token"])
    device = authenticator()
    added = await add_passkey(client, account["access_token"], device)
    assert added["name"] == "Laptop"
    assert added["transports"] == ["internal"]
    assert added["last_used_at"] is None

    listed = await client.get(f"{WEBAUTHN}/credentials", headers=headers)
    assert [item["id"] for item in listed.json()] == [added["id"]]
    async with app.state.sessionmaker() as db:
        stored = await db.scalar(select(Passkey).where(Passkey.id == uuid.UUID(added["id"])))
        assert stored is not None
        assert stored.credential_id == device.id
        assert stored.sign_count == 0

    renamed = await client.patch(
        f"{WEBAUTHN}/credentials/{added['id']}", json={"name": "Phone"}, headers=headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Phone"

    # The same authenticator cannot be registered twice.
    options = await client.post(f"{WEBAUTHN}/register/options", headers=headers)
    assert options.json()["excludeCredentials"][0]["id"] == device.id
    again = await client.post(
        f"{WEBAUTHN}/register/verify",
        json={"credential": device.create(options.json())},
        headers=headers,
    )
    assert_envelope(again, 400, "PASSKEY_REGISTRATION_FAILED")

    deleted = await client.delete(f"{WEBAUTHN}/credentials/{added['id']}", headers=headers)
    assert deleted.status_code == 204
    assert (await client.get(f"{WEBAUTHN}/credentials", headers=headers)).json() == []
    kinds = await audit_kinds(app, account["user"]["id"])
    assert kinds.count("passkey_added") == 1
    assert kinds.count("passkey_removed") == 1


async def test_a_passkey_without_a_name_gets_a_default_one(pk_client: httpx.AsyncClient) -> None:
    account = await signed_up(pk_client)
    added = await add_passkey(pk_client, account["access_token"], authenticator(), name=None)
    assert added["name"] == "Passkey"


async def test_another_users_passkey_is_404(pk_client: httpx.AsyncClient) -> None:
    owner = await signed_up(pk_client)
    other = await signed_up(pk_client)
    added = await add_passkey(pk_client, owner["access_token"], authenticator())
    headers = bearer(other["access_token"])
    path = f"{WEBAUTHN}/credentials/{added['id']}"
    assert_envelope(await pk_client.delete(path, headers=headers), 404, "PASSKEY_NOT_FOUND")
    renamed = await pk_client.patch(path, json={"name": "mine"}, headers=headers)
    assert_envelope(renamed, 404, "PASSKEY_NOT_FOUND")
    assert_envelope(
        await pk_client.delete(f"{WEBAUTHN}/credentials/not-an-id", headers=headers),
        404,
        "PASSKEY_NOT_FOUND",
    )
    mine = await pk_client.get(f"{WEBAUTHN}/credentials", headers=bearer(owner["access_token"]))
    assert len(mine.json()) == 1


async def test_the_passkey_endpoints_need_a_signed_in_user(pk_client: httpx.AsyncClient) -> None:
    assert (await pk_client.post(f"{WEBAUTHN}/register/options")).status_code == 401
    assert (await pk_client.get(f"{WEBAUTHN}/credentials")).status_code == 401


async def test_passwordless_sign_in_with_a_discoverable_passkey(
    app_and_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = app_and_client
    account = await signed_up(client)
    device = authenticator()
    await add_passkey(client, account["access_token"], device)

    options = await login_options(client)
    assert options["allowCredentials"] == []
    assert options["rpId"] == "testserver"
    signed_in = await client.post(
        f"{WEBAUTHN}/login/verify", json={"credential": device.get(options)}
    )
    assert signed_in.status_code == 200, signed_in.text
    tokens = signed_in.json()
    me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    assert me.json()["email"] == account["user"]["email"]

    listed = await client.get(f"{WEBAUTHN}/credentials", headers=bearer(tokens["access_token"]))
    assert listed.json()[0]["last_used_at"] is not None
    async with app.state.sessionmaker() as db:
        assert await db.scalar(select(Passkey.sign_count)) == 1
        succeeded = await db.scalar(
            select(AuditEvent).where(
                AuditEvent.user_id == uuid.UUID(account["user"]["id"]),
                AuditEvent.kind == "login_succeeded",
                AuditEvent.details["method"].as_string() == "passkey",
            )
        )
        assert succeeded is not None


async def test_options_with_an_email_offer_that_accounts_passkeys_only(
    pk_client: httpx.AsyncClient,
) -> None:
    account = await signed_up(pk_client)
    device = authenticator()
    await add_passkey(pk_client, account["access_token"], device)
    options = await login_options(pk_client, account["user"]["email"])
    assert [item["id"] for item in options["allowCredentials"]] == [device.id]

    # An unknown email gets a made-up passkey, the same one each time.
    unknown = await login_options(pk_client, "nobody@example.com")
    again = await login_options(pk_client, "nobody@example.com")
    assert len(unknown["allowCredentials"]) == 1
    assert unknown["allowCredentials"] == again["allowCredentials"]

    # Options made for one account do not sign in another account's passkey.
    other = await signed_up(pk_client)
    other_device = authenticator()
    await add_passkey(pk_client, other["access_token"], other_device)
    refused = await pk_client.post(
        f"{WEBAUTHN}/login/verify", json={"credential": other_device.get(options)}
    )
    assert_envelope(refused, 401, "PASSKEY_LOGIN_FAILED")


async def test_a_response_for_another_origin_is_refused(pk_client: httpx.AsyncClient) -> None:
    account = await signed_up(pk_client)
    device = authenticator()
    headers = bearer(account["access_token"])
    options = await pk_client.post(f"{WEBAUTHN}/register/options", headers=headers)
    wrong = await pk_client.post(
        f"{WEBAUTHN}/register/verify",
        json={"credential": device.create(options.json(), origin="https://evil.example")},
        headers=headers,
    )
    assert_envelope(wrong, 400, "PASSKEY_REGISTRATION_FAILED")

    await add_passkey(pk_client, account["access_token"], device)
    refused = await pk_client.post(
        f"{WEBAUTHN}/login/verify",
        json={"credential": device.get(await login_options(pk_client), origin="http://evil")},
    )
    assert_envelope(refused, 401, "PASSKEY_LOGIN_FAILED")


async def test_a_challenge_works_once(pk_client: httpx.AsyncClient) -> None:
    account = await signed_up(pk_client)
    device = authenticator()
    await add_passkey(pk_client, account["access_token"], device)
    options = await login_options(pk_client)
    first = await pk_client.post(
        f"{WEBAUTHN}/login/verify", json={"credential": device.get(options)}
    )
    assert first.status_code == 200, first.text
    replayed = await pk_client.post(
        f"{WEBAUTHN}/login/verify", json={"credential": device.get(options)}
    )
    assert_envelope(replayed, 401, "PASSKEY_LOGIN_FAILED")

    # A registration challenge is not a sign-in challenge, nor the reverse.
    headers = bearer(account["access_token"])
    register_options = await pk_client.post(f"{WEBAUTHN}/register/options", headers=headers)
    crossed = await pk_client.post(
        f"{WEBAUTHN}/login/verify",
        json={"credential": device.get({**register_options.json(), "rpId": "testserver"})},
    )
    assert_envelope(crossed, 401, "PASSKEY_LOGIN_FAILED")
    login_challenge = await login_options(pk_client)
    fake_create = authenticator().create(
        {
            "rp": {"id": "testserver"},
            "user": {"id": "AAAA"},
            "challenge": login_challenge["challenge"],
        }
    )
    crossed_register = await pk_client.post(
        f"{WEBAUTHN}/register/verify", json={"credential": fake_create}, headers=headers
    )
    assert_envelope(crossed_register, 400, "PASSKEY_REGISTRATION_FAILED")


async def test_an_expired_challenge_is_refused(
    app_and_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = app_and_client
    account = await signed_up(client)
    device = authenticator()
    await add_passkey(client, account["access_token"], device)
    options = await login_options(client)
    async with app.state.sessionmaker() as db:
        await db.execute(
            update(PasskeyChallenge).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await db.commit()
    expired = await client.post(
        f"{WEBAUTHN}/login/verify", json={"credential": device.get(options)}
    )
    assert_envelope(expired, 401, "PASSKEY_LOGIN_FAILED")


async def test_a_sign_count_that_goes_back_is_refused(
    app_and_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = app_and_client
    account = await signed_up(client)
    device = authenticator()
    await add_passkey(client, account["access_token"], device)
    ok = await client.post(
        f"{WEBAUTHN}/login/verify",
        json={"credential": device.get(await login_options(client), sign_count=5)},
    )
    assert ok.status_code == 200, ok.text
    cloned = await client.post(
        f"{WEBAUTHN}/login/verify",
        json={"credential": device.get(await login_options(client), sign_count=3)},
    )
    assert_envelope(cloned, 401, "PASSKEY_LOGIN_FAILED")
    async with app.state.sessionmaker() as db:
        assert await db.scalar(select(Passkey.sign_count)) == 5
    assert "login_failed" in await audit_kinds(app, account["user"]["id"])


async def test_passwordless_sign_in_needs_user_verification(pk_client: httpx.AsyncClient) -> None:
    account = await signed_up(pk_client)
    device = authenticator()
    await add_passkey(pk_client, account["access_token"], device)
    device.user_verified = False
    refused = await pk_client.post(
        f"{WEBAUTHN}/login/verify", json={"credential": device.get(await login_options(pk_client))}
    )
    assert_envelope(refused, 401, "PASSKEY_LOGIN_FAILED")


async def test_failed_passkey_sign_ins_feed_the_account_throttle(
    app_factory: Callable[..., FastAPI],
) -> None:
    clock = ManualClock()
    app = app_factory(
        {"clock": clock, "throttle_policy": ThrottlePolicy(free_failures=1)},
        RATE_LIMIT_ENABLED=True,
    )
    async with running(app) as client:
        account = await signed_up(client)
        device = authenticator()
        await add_passkey(client, account["access_token"], device)
        bad = device.get(await login_options(client), origin="http://evil")
        refused = await client.post(f"{WEBAUTHN}/login/verify", json={"credential": bad})
        assert_envelope(refused, 401, "PASSKEY_LOGIN_FAILED")
        # The account now waits: even a good passkey answer, or the password, is refused.
        good = device.get(await login_options(client))
        waiting = await client.post(f"{WEBAUTHN}/login/verify", json={"credential": good})
        assert_envelope(waiting, 429, "RATE_LIMITED")
        credentials = {"email": account["user"]["email"], "password": PASSWORD}
        password = await client.post("/api/v1/auth/login", json=credentials)
        assert_envelope(password, 429, "RATE_LIMITED")
        clock.advance(600)
        later = device.get(await login_options(client))
        signed_in = await client.post(f"{WEBAUTHN}/login/verify", json={"credential": later})
        assert signed_in.status_code == 200, signed_in.text


async def test_garbage_and_unknown_credentials_are_refused(pk_client: httpx.AsyncClient) -> None:
    account = await signed_up(pk_client)
    headers = bearer(account["access_token"])
    for credential in ({}, {"response": {"clientDataJSON": "!!"}}, {"id": 3, "response": []}):
        login = await pk_client.post(f"{WEBAUTHN}/login/verify", json={"credential": credential})
        assert_envelope(login, 401, "PASSKEY_LOGIN_FAILED")
        registered = await pk_client.post(
            f"{WEBAUTHN}/register/verify", json={"credential": credential}, headers=headers
        )
        assert_envelope(registered, 400, "PASSKEY_REGISTRATION_FAILED")
    # A well-formed answer from a passkey nobody registered.
    stranger = authenticator().get(await login_options(pk_client))
    login = await pk_client.post(f"{WEBAUTHN}/login/verify", json={"credential": stranger})
    assert_envelope(login, 401, "PASSKEY_LOGIN_FAILED")


async def test_a_passkey_is_offered_and_accepted_as_the_second_step(
    app_and_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = app_and_client
    account = await signed_up(client)
    headers = bearer(account["access_token"])
    setup = await client.post(
        "/api/v1/auth/mfa/totp/setup", json={"password": PASSWORD}, headers=headers
    )
    secret = setup.json()["secret"]
    confirmed = await client.post(
        "/api/v1/auth/mfa/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    device = authenticator()
    await add_passkey(client, account["access_token"], device)

    credentials = {"email": account["user"]["email"], "password": PASSWORD}
    required = assert_envelope(
        await client.post("/api/v1/auth/login", json=credentials), 401, "MFA_REQUIRED"
    )
    assert required["details"]["methods"] == ["totp", "recovery_code", "webauthn"]
    mfa_token = required["details"]["mfa_token"]

    # Another account's passkey does not finish this login.
    other = await signed_up(client)
    other_device = authenticator()
    await add_passkey(client, other["access_token"], other_device)
    wrong = await client.post(
        f"{WEBAUTHN}/login/verify",
        json={"credential": other_device.get(await login_options(client)), "mfa_token": mfa_token},
    )
    assert_envelope(wrong, 401, "PASSKEY_LOGIN_FAILED")

    # The second step does not need user verification: the password was the first factor.
    device.user_verified = False
    finished = await client.post(
        f"{WEBAUTHN}/login/verify",
        json={"credential": device.get(await login_options(client)), "mfa_token": mfa_token},
    )
    assert finished.status_code == 200, finished.text
    again = await client.post(
        f"{WEBAUTHN}/login/verify",
        json={"credential": device.get(await login_options(client)), "mfa_token": mfa_token},
    )
    assert_envelope(again, 401, "PASSKEY_LOGIN_FAILED")
    assert "mfa_failed" in await audit_kinds(app, other["user"]["id"])


# --- the cookie API and the account page


async def test_the_cookie_api_signs_in_with_a_passkey(pk_client: httpx.AsyncClient) -> None:
    account = await signed_up(pk_client)
    device = authenticator()
    await add_passkey(pk_client, account["access_token"], device)
    credential = json.dumps(device.get(await login_options(pk_client)))
    cross_site = await pk_client.post(
        "/sessions/webauthn", data={"credential": credential}, headers={"Origin": "https://evil"}
    )
    assert_envelope(cross_site, 403, "CSRF_FAILED")
    signed_in = await pk_client.post("/sessions/webauthn", data={"credential": credential})
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["email"] == account["user"]["email"]
    profile = await pk_client.get("/profile")
    assert profile.json() == {"email": account["user"]["email"]}
    for bad in ("not json", "[1, 2]"):
        refused = await pk_client.post("/sessions/webauthn", data={"credential": bad})
        assert_envelope(refused, 401, "PASSKEY_LOGIN_FAILED")


async def test_a_passkey_finishes_a_cookie_login_with_its_mfa_token(
    pk_client: httpx.AsyncClient,
) -> None:
    account = await signed_up(pk_client)
    headers = bearer(account["access_token"])
    setup = await pk_client.post(
        "/api/v1/auth/mfa/totp/setup", json={"password": PASSWORD}, headers=headers
    )
    code = pyotp.TOTP(setup.json()["secret"]).now()
    await pk_client.post("/api/v1/auth/mfa/totp/confirm", json={"code": code}, headers=headers)
    device = authenticator()
    await add_passkey(pk_client, account["access_token"], device)
    required = assert_envelope(
        await pk_client.post(
            "/sessions", data={"email": account["user"]["email"], "password": PASSWORD}
        ),
        401,
        "MFA_REQUIRED",
    )
    credential = json.dumps(device.get(await login_options(pk_client)))
    done = await pk_client.post(
        "/sessions/webauthn",
        data={"credential": credential, "mfa_token": required["details"]["mfa_token"]},
    )
    assert done.status_code == 200, done.text
    assert (await pk_client.get("/profile")).status_code == 200


async def test_the_account_page_adds_lists_and_deletes_passkeys(
    pk_client: httpx.AsyncClient,
) -> None:
    account = await signed_up(pk_client)
    step = await sign_in(pk_client, account["user"]["email"], PASSWORD, next_path="/account")
    assert step.status_code == 303, step.text
    page = await pk_client.get("/account", headers=HTML)
    assert "You have no passkeys yet." in page.text
    csrf = csrf_of(page)

    forged = await pk_client.post("/account/passkeys/options", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    options = await pk_client.post("/account/passkeys/options", data={"csrf_token": csrf})
    assert options.status_code == 200, options.text
    device = authenticator()
    for bad in ({}, {"credential": "not json"}):
        refused = await pk_client.post("/account/passkeys", data={"csrf_token": csrf, **bad})
        assert refused.status_code == 400
        assert "JavaScript" in refused.json()["error"]
    wrong_origin = json.dumps(device.create(options.json(), origin="https://evil.example"))
    refused = await pk_client.post(
        "/account/passkeys", data={"csrf_token": csrf, "credential": wrong_origin}
    )
    assert refused.status_code == 400
    assert "not accepted" in refused.json()["error"]

    options = await pk_client.post("/account/passkeys/options", data={"csrf_token": csrf})
    created = json.dumps(device.create(options.json()))
    added = await pk_client.post(
        "/account/passkeys", data={"csrf_token": csrf, "credential": created, "name": "Desk key"}
    )
    assert added.status_code == 200, added.text
    assert added.json() == {"location": "/account?notice=passkey-added#passkeys"}
    page = await pk_client.get("/account?notice=passkey-added", headers=HTML)
    assert "Your passkey is added." in page.text
    assert "Desk key" in page.text
    assert "not used yet" in page.text

    listed = await pk_client.get(f"{WEBAUTHN}/credentials", headers=bearer(account["access_token"]))
    passkey_id = listed.json()[0]["id"]
    for unknown in ("not-an-id", str(uuid.uuid4())):
        gone = await pk_client.post(
            f"/account/passkeys/{unknown}/delete", data={"csrf_token": csrf}
        )
        assert gone.status_code == 303
    deleted = await pk_client.post(
        f"/account/passkeys/{passkey_id}/delete", data={"csrf_token": csrf}
    )
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/account?notice=passkey-removed#passkeys"
    page = await pk_client.get("/account", headers=HTML)
    assert "Desk key" not in page.text


async def test_the_passkey_script_is_served(pk_client: httpx.AsyncClient) -> None:
    script = await pk_client.get("/static/passkeys.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "navigator.credentials.create" in script.text
    assert "Sign in with a passkey" in script.text
    login_page = await pk_client.get("/login", headers=HTML)
    assert '<script src="/static/passkeys.js" defer></script>' in login_page.text


async def test_a_disabled_accounts_passkey_does_not_sign_in(
    app_and_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = app_and_client
    account = await signed_up(client)
    device = authenticator()
    await add_passkey(client, account["access_token"], device)
    async with app.state.sessionmaker() as db:
        await db.execute(
            update(User).where(User.id == uuid.UUID(account["user"]["id"])).values(is_active=False)
        )
        await db.commit()
    refused = await client.post(
        f"{WEBAUTHN}/login/verify", json={"credential": device.get(await login_options(client))}
    )
    assert_envelope(refused, 403, "ACCOUNT_DISABLED")


async def test_the_account_pages_passkey_forms_need_a_session(pk_client: httpx.AsyncClient) -> None:
    for path in (
        "/account/passkeys/options",
        "/account/passkeys",
        f"/account/passkeys/{uuid.uuid4()}/delete",
    ):
        answer = await pk_client.post(path, data={"csrf_token": "x"})
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")
