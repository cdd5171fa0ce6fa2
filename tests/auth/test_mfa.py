"""The second factor: TOTP enrolment, the code step of every login, recovery codes,
disable, regenerate, an admin's reset, replay and drift, the mfa_token's limits, the
throttle, the audit trail and what is stored. Codes are computed by pyotp."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select, update

from gatehouse.audit.models import AuditEvent
from gatehouse.auth.models import MfaChallenge, RecoveryCode, TotpCredential
from gatehouse.auth.second_factor import SecretBox
from gatehouse.auth.throttle import ThrottlePolicy
from gatehouse.core.config import Settings
from gatehouse.core.db import utcnow
from gatehouse.core.security import hash_token
from tests.conftest import make_settings
from tests.helpers import (
    PASSWORD,
    ManualClock,
    assert_envelope,
    bearer,
    make_admin,
    running,
    signed_up,
)
from tests.pages.helpers import HTML, csrf_of, read_page, sign_in, visible_fields

MFA = "/api/v1/auth/mfa"
LOGIN = "/api/v1/auth/login"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def app_and_client(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = app_factory({"clock": clock})
    async with running(app) as client:
        yield app, client


@pytest.fixture
def mfa_client(app_and_client: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return app_and_client[1]


def code_at(secret: str, clock: ManualClock, steps: int = 0) -> str:
    """The TOTP code of `secret`, `steps` time steps from the clock's now."""
    return pyotp.TOTP(secret).at(clock.now().timestamp() + 30 * steps)


def wrong_code(secret: str, clock: ManualClock) -> str:
    """A 6-digit code that is none of the codes within a step of now."""
    near = {code_at(secret, clock, steps) for steps in (-1, 0, 1)}
    return next(code for code in ("111111", "222222", "333333", "444444") if code not in near)


async def enrolled(client: httpx.AsyncClient, clock: ManualClock) -> dict[str, Any]:
    """A signed-up user with confirmed TOTP: the account, its secret and recovery codes.
    The clock then moves one step on, so the confirming code's step is in the past."""
    account = await signed_up(client)
    headers = bearer(account["access_token"])
    setup = await client.post(f"{MFA}/totp/setup", json={"password": PASSWORD}, headers=headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    confirm = await client.post(
        f"{MFA}/totp/confirm", json={"code": code_at(secret, clock)}, headers=headers
    )
    assert confirm.status_code == 200, confirm.text
    clock.advance(30)
    return {**account, "secret": secret, "recovery_codes": confirm.json()["recovery_codes"]}


async def mfa_token(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    error = assert_envelope(response, 401, "MFA_REQUIRED")
    assert error["details"]["methods"] == ["totp", "recovery_code"]
    token: str = error["details"]["mfa_token"]
    return token


async def verify(client: httpx.AsyncClient, token: str, code: str) -> httpx.Response:
    return await client.post(f"{MFA}/verify", json={"mfa_token": token, "code": code})


async def audit_kinds(app: FastAPI, user_id: str) -> list[str]:
    async with app.state.sessionmaker() as db:
        rows = await db.scalars(
            select(AuditEvent.kind).where(AuditEvent.user_id == uuid.UUID(user_id))
        )
        return list(rows)


async def test_setup_then_confirm_turns_totp_on_with_ten_recovery_codes(
    app_and_client: tuple[FastAPI, httpx.AsyncClient], clock: ManualClock
) -> None:
    app, client = app_and_client
    account = await signed_up(client)
    headers = bearer(account["access_token"])
    wrong = await client.post(f"{MFA}/totp/setup", json={"password": "nope"}, headers=headers)
    assert_envelope(wrong, 400, "INVALID_PASSWORD")
    early = await client.post(f"{MFA}/totp/confirm", json={"code": "123456"}, headers=headers)
    assert_envelope(early, 409, "MFA_NOT_ENABLED")

    setup = await client.post(f"{MFA}/totp/setup", json={"password": PASSWORD}, headers=headers)
    assert setup.status_code == 200
    assert setup.headers["cache-control"] == "no-store"
    secret = setup.json()["secret"]
    parsed = pyotp.parse_uri(setup.json()["otpauth_uri"])
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.secret == secret
    assert (parsed.digits, parsed.interval, parsed.issuer) == (6, 30, "Gatehouse")
    assert parsed.name == account["user"]["email"]
    # Nothing is active before the confirmation: the password alone still signs in.
    pending = await client.post(
        LOGIN, json={"email": account["user"]["email"], "password": PASSWORD}
    )
    assert pending.status_code == 200

    bad = await client.post(
        f"{MFA}/totp/confirm", json={"code": code_at(secret, clock, 3)}, headers=headers
    )
    assert_envelope(bad, 401, "INVALID_MFA_CODE")
    confirm = await client.post(
        f"{MFA}/totp/confirm", json={"code": code_at(secret, clock)}, headers=headers
    )
    assert confirm.status_code == 200
    assert confirm.headers["cache-control"] == "no-store"
    codes = confirm.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10

    again = await client.post(f"{MFA}/totp/setup", json={"password": PASSWORD}, headers=headers)
    assert_envelope(again, 409, "MFA_ALREADY_ENABLED")
    twice = await client.post(
        f"{MFA}/totp/confirm", json={"code": code_at(secret, clock, 1)}, headers=headers
    )
    assert_envelope(twice, 409, "MFA_ALREADY_ENABLED")
    kinds = await audit_kinds(app, account["user"]["id"])
    assert kinds.count("mfa_enabled") == 1
    assert kinds.count("mfa_failed") == 1


async def test_a_new_setup_replaces_a_pending_one(
    mfa_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    account = await signed_up(mfa_client)
    headers = bearer(account["access_token"])
    first = await mfa_client.post(f"{MFA}/totp/setup", json={"password": PASSWORD}, headers=headers)
    second = await mfa_client.post(
        f"{MFA}/totp/setup", json={"password": PASSWORD}, headers=headers
    )
    old, new = first.json()["secret"], second.json()["secret"]
    assert old != new
    stale = await mfa_client.post(
        f"{MFA}/totp/confirm", json={"code": code_at(old, clock)}, headers=headers
    )
    assert_envelope(stale, 401, "INVALID_MFA_CODE")
    fresh = await mfa_client.post(
        f"{MFA}/totp/confirm", json={"code": code_at(new, clock)}, headers=headers
    )
    assert fresh.status_code == 200


async def test_token_and_login_answer_mfa_required_and_verify_gives_the_token_pair(
    app_and_client: tuple[FastAPI, httpx.AsyncClient], clock: ManualClock
) -> None:
    app, client = app_and_client
    account = await enrolled(client, clock)
    email = account["user"]["email"]
    wrong_password = await client.post(LOGIN, json={"email": email, "password": "wrong"})
    assert_envelope(wrong_password, 401, "INVALID_CREDENTIALS")
    form = await client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    error = assert_envelope(form, 401, "MFA_REQUIRED")
    assert set(error["details"]) == {"mfa_token", "methods"}
    assert form.headers["cache-control"] == "no-store"

    token = await mfa_token(client, email)
    response = await verify(client, token, code_at(account["secret"], clock))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-device-token"]
    pair = response.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}
    me = await client.get("/api/v1/users/me", headers=bearer(pair["access_token"]))
    assert me.json()["email"] == email

    used = await verify(client, token, code_at(account["secret"], clock, 1))
    assert_envelope(used, 401, "INVALID_TOKEN")
    unknown = await verify(client, "not-a-token", "123456")
    assert_envelope(unknown, 401, "INVALID_TOKEN")
    # The form token from /token is still open and works too.
    other = await verify(
        client, error["details"]["mfa_token"], code_at(account["secret"], clock, 1)
    )
    assert other.status_code == 200
    kinds = await audit_kinds(app, account["user"]["id"])
    assert kinds.count("login_succeeded") == 3  # the signup login and the two second steps


async def test_the_browser_login_ends_with_its_own_second_step(
    mfa_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    account = await enrolled(mfa_client, clock)
    email = account["user"]["email"]
    started = await mfa_client.post("/sessions", data={"email": email, "password": PASSWORD})
    error = assert_envelope(started, 401, "MFA_REQUIRED")
    assert "session_id" not in started.cookies
    assert started.headers["cache-control"] == "no-store"
    token = error["details"]["mfa_token"]

    # A browser login's token does not give a token pair, nor an API login's a cookie.
    assert_envelope(
        await verify(mfa_client, token, wrong_code(account["secret"], clock)), 401, "INVALID_TOKEN"
    )
    api_token = await mfa_token(mfa_client, email)
    crossed = await mfa_client.post(
        "/sessions/mfa", data={"mfa_token": api_token, "code": code_at(account["secret"], clock)}
    )
    assert_envelope(crossed, 401, "INVALID_TOKEN")

    wrong = await mfa_client.post(
        "/sessions/mfa", data={"mfa_token": token, "code": wrong_code(account["secret"], clock)}
    )
    assert_envelope(wrong, 401, "INVALID_MFA_CODE")
    done = await mfa_client.post(
        "/sessions/mfa", data={"mfa_token": token, "code": code_at(account["secret"], clock)}
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"email": email, "message": "logged in"}
    assert done.cookies["session_id"]
    profile = await mfa_client.get("/profile")  # with the cookie just set
    assert profile.json() == {"email": email}


async def test_the_sign_in_page_asks_for_the_code_after_the_password(
    mfa_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    account = await enrolled(mfa_client, clock)
    secret = account["secret"]
    step = await sign_in(mfa_client, account["user"]["email"], PASSWORD, next_path="/account")
    assert step.status_code == 200, step.text
    assert 'action="/login/code"' in step.text
    assert "session_id" not in step.cookies
    page = read_page(step.text)
    assert visible_fields(page) == {"code": "Code"}
    token = re.search(r'name="mfa_token" value="([^"]+)"', step.text)
    assert token is not None

    async def send(code: str, mfa_token: str = token.group(1)) -> httpx.Response:
        data = {"csrf_token": csrf_of(step), "mfa_token": mfa_token, "code": code}
        return await mfa_client.post("/login/code", data={**data, "next": "/account"}, headers=HTML)

    empty = await send("")
    assert empty.status_code == 422
    assert "Enter the code" in empty.text
    wrong = await send(wrong_code(secret, clock))
    assert wrong.status_code == 401
    assert "incorrect" in wrong.text
    assert 'action="/login/code"' in wrong.text
    done = await send(code_at(secret, clock))
    assert done.status_code == 303
    assert done.headers["location"] == "/account"
    assert done.cookies["session_id"]
    # The token is used now: back to the password.
    again = await send(code_at(secret, clock, 1))
    assert again.status_code == 401
    assert 'action="/login"' in again.text
    forged = await mfa_client.post(
        "/login/code", data={"mfa_token": "x", "code": "1"}, headers=HTML
    )
    assert forged.status_code == 403


async def test_a_code_is_accepted_once(mfa_client: httpx.AsyncClient, clock: ManualClock) -> None:
    account = await enrolled(mfa_client, clock)
    email, secret = account["user"]["email"], account["secret"]
    code = code_at(secret, clock)
    first = await verify(mfa_client, await mfa_token(mfa_client, email), code)
    assert first.status_code == 200
    replay_token = await mfa_token(mfa_client, email)
    assert_envelope(await verify(mfa_client, replay_token, code), 401, "INVALID_MFA_CODE")
    # Nor is a code of an earlier step, still within the drift, once a later one was used.
    earlier = code_at(secret, clock, -1)
    assert_envelope(await verify(mfa_client, replay_token, earlier), 401, "INVALID_MFA_CODE")
    clock.advance(30)
    later = await verify(mfa_client, replay_token, code_at(secret, clock))
    assert later.status_code == 200


async def test_one_step_of_drift_either_way_is_accepted_and_two_are_not(
    mfa_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    account = await enrolled(mfa_client, clock)
    email, secret = account["user"]["email"], account["secret"]
    clock.advance(120)  # well after the confirming code's step
    token = await mfa_token(mfa_client, email)
    for steps in (-2, 2):
        response = await verify(mfa_client, token, code_at(secret, clock, steps))
        assert_envelope(response, 401, "INVALID_MFA_CODE")
    behind = await verify(mfa_client, token, code_at(secret, clock, -1))
    assert behind.status_code == 200
    ahead = await verify(mfa_client, await mfa_token(mfa_client, email), code_at(secret, clock, 1))
    assert ahead.status_code == 200


async def test_recovery_codes_work_once_each(
    app_and_client: tuple[FastAPI, httpx.AsyncClient], clock: ManualClock
) -> None:
    app, client = app_and_client
    account = await enrolled(client, clock)
    email, code = account["user"]["email"], account["recovery_codes"][0]
    # Typed without the dashes, in capitals: still the code.
    typed = code.replace("-", "").upper()
    response = await verify(client, await mfa_token(client, email), typed)
    assert response.status_code == 200, response.text
    again = await verify(client, await mfa_token(client, email), code)
    assert_envelope(again, 401, "INVALID_MFA_CODE")
    another = await verify(client, await mfa_token(client, email), account["recovery_codes"][1])
    assert another.status_code == 200
    async with app.state.sessionmaker() as db:
        events = (
            await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.user_id == uuid.UUID(account["user"]["id"]),
                    AuditEvent.kind == "recovery_code_used",
                )
            )
        ).all()
    assert sorted(event.details["remaining"] for event in events) == [8, 9]


async def test_five_wrong_codes_end_the_mfa_token(
    app_and_client: tuple[FastAPI, httpx.AsyncClient], clock: ManualClock
) -> None:
    app, client = app_and_client
    account = await enrolled(client, clock)
    secret = account["secret"]
    token = await mfa_token(client, account["user"]["email"])
    right = code_at(secret, clock)
    wrong = wrong_code(secret, clock)
    for _ in range(5):
        assert_envelope(await verify(client, token, wrong), 401, "INVALID_MFA_CODE")
    assert_envelope(await verify(client, token, right), 401, "INVALID_TOKEN")
    kinds = await audit_kinds(app, account["user"]["id"])
    assert kinds.count("mfa_failed") == 5


async def test_an_expired_mfa_token_is_refused(
    app_and_client: tuple[FastAPI, httpx.AsyncClient], clock: ManualClock
) -> None:
    app, client = app_and_client
    account = await enrolled(client, clock)
    token = await mfa_token(client, account["user"]["email"])
    async with app.state.sessionmaker() as db:
        challenge = await db.scalar(
            select(MfaChallenge).where(MfaChallenge.token_hash == hash_token(token))
        )
        assert challenge is not None
        assert challenge.expires_at - challenge.created_at == timedelta(minutes=5)
        await db.execute(
            update(MfaChallenge)
            .where(MfaChallenge.id == challenge.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await db.commit()
    response = await verify(client, token, code_at(account["secret"], clock))
    assert_envelope(response, 401, "INVALID_TOKEN")


async def test_disable_needs_the_password_and_a_code_and_removes_the_recovery_codes(
    app_and_client: tuple[FastAPI, httpx.AsyncClient], clock: ManualClock
) -> None:
    app, client = app_and_client
    account = await enrolled(client, clock)
    headers = bearer(account["access_token"])
    secret = account["secret"]

    async def disable(password: str, code: str) -> httpx.Response:
        return await client.request(
            "DELETE",
            f"{MFA}/totp",
            json={"password": password, "code": code},
            headers=headers,
        )

    assert_envelope(await disable("wrong", code_at(secret, clock)), 400, "INVALID_PASSWORD")
    wrong = wrong_code(secret, clock)
    assert_envelope(await disable(PASSWORD, wrong), 401, "INVALID_MFA_CODE")
    assert (await disable(PASSWORD, code_at(secret, clock))).status_code == 204
    assert_envelope(await disable(PASSWORD, code_at(secret, clock, 1)), 409, "MFA_NOT_ENABLED")

    user_id = uuid.UUID(account["user"]["id"])
    async with app.state.sessionmaker() as db:
        assert (
            await db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id))
        ).all() == []
        assert (
            await db.scalar(select(TotpCredential).where(TotpCredential.user_id == user_id)) is None
        )
    plain = await client.post(LOGIN, json={"email": account["user"]["email"], "password": PASSWORD})
    assert plain.status_code == 200
    assert "mfa_disabled" in await audit_kinds(app, account["user"]["id"])


async def test_a_recovery_code_can_disable_totp(
    mfa_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    account = await enrolled(mfa_client, clock)
    response = await mfa_client.request(
        "DELETE",
        f"{MFA}/totp",
        json={"password": PASSWORD, "code": account["recovery_codes"][0]},
        headers=bearer(account["access_token"]),
    )
    assert response.status_code == 204


async def test_new_recovery_codes_replace_the_old_set(
    mfa_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    account = await enrolled(mfa_client, clock)
    headers = bearer(account["access_token"])
    email, secret, old = account["user"]["email"], account["secret"], account["recovery_codes"]
    refused = await mfa_client.post(
        f"{MFA}/recovery-codes",
        json={"password": "wrong", "code": code_at(secret, clock)},
        headers=headers,
    )
    assert_envelope(refused, 400, "INVALID_PASSWORD")
    response = await mfa_client.post(
        f"{MFA}/recovery-codes",
        json={"password": PASSWORD, "code": code_at(secret, clock)},
        headers=headers,
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    new = response.json()["recovery_codes"]
    assert len(new) == 10
    assert not set(new) & set(old)
    assert_envelope(
        await verify(mfa_client, await mfa_token(mfa_client, email), old[1]),
        401,
        "INVALID_MFA_CODE",
    )
    fresh = await verify(mfa_client, await mfa_token(mfa_client, email), new[0])
    assert fresh.status_code == 200


async def test_the_routes_of_an_enrolled_user_need_totp_on(mfa_client: httpx.AsyncClient) -> None:
    account = await signed_up(mfa_client)
    response = await mfa_client.post(
        f"{MFA}/recovery-codes",
        json={"password": PASSWORD, "code": "123456"},
        headers=bearer(account["access_token"]),
    )
    assert_envelope(response, 409, "MFA_NOT_ENABLED")
    anonymous = await mfa_client.post(f"{MFA}/totp/setup", json={"password": PASSWORD})
    assert_envelope(anonymous, 401, "NOT_AUTHENTICATED")


async def test_an_admin_resets_a_users_second_factor(
    app_and_client: tuple[FastAPI, httpx.AsyncClient], clock: ManualClock
) -> None:
    app, client = app_and_client
    account = await enrolled(client, clock)
    user_id = account["user"]["id"]
    admin = await make_admin(app, client)
    url = f"/api/v1/users/{user_id}/mfa"
    open_token = await mfa_token(client, account["user"]["email"])
    by_user = await client.delete(url, headers=bearer(account["access_token"]))
    assert_envelope(by_user, 403, "FORBIDDEN")
    unknown = await client.delete(
        f"/api/v1/users/{uuid.uuid4()}/mfa", headers=bearer(admin["access_token"])
    )
    assert_envelope(unknown, 404, "NOT_FOUND")
    assert (await client.delete(url, headers=bearer(admin["access_token"]))).status_code == 204
    assert (await client.delete(url, headers=bearer(admin["access_token"]))).status_code == 204

    # The reset ends the logins waiting for a code, and the password alone signs in.
    ended = await verify(client, open_token, code_at(account["secret"], clock))
    assert_envelope(ended, 401, "INVALID_TOKEN")
    plain = await client.post(LOGIN, json={"email": account["user"]["email"], "password": PASSWORD})
    assert plain.status_code == 200
    async with app.state.sessionmaker() as db:
        events = (
            await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.user_id == uuid.UUID(user_id), AuditEvent.kind == "mfa_disabled"
                )
            )
        ).all()
    assert [event.details["by"] for event in events] == [admin["user"]["id"]]


async def test_wrong_codes_feed_the_login_throttle(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    app = app_factory(
        {"clock": clock, "throttle_policy": ThrottlePolicy(free_failures=1)},
        RATE_LIMIT_ENABLED=True,
    )
    async with running(app) as client:
        account = await enrolled(client, clock)
        email, secret = account["user"]["email"], account["secret"]
        token = await mfa_token(client, email)
        wrong = wrong_code(secret, clock)
        assert_envelope(await verify(client, token, wrong), 401, "INVALID_MFA_CODE")
        # The account now waits: even the right code, or the right password, is refused.
        waiting = await verify(client, token, code_at(secret, clock))
        assert_envelope(waiting, 429, "RATE_LIMITED")
        password = await client.post(LOGIN, json={"email": email, "password": PASSWORD})
        assert_envelope(password, 429, "RATE_LIMITED")
        clock.advance(600)
        later = await verify(client, token, code_at(secret, clock))
        assert later.status_code == 200, later.text


async def test_the_secret_and_recovery_codes_are_not_stored_in_plain_text(
    app_and_client: tuple[FastAPI, httpx.AsyncClient], clock: ManualClock
) -> None:
    app, client = app_and_client
    account = await enrolled(client, clock)
    user_id = uuid.UUID(account["user"]["id"])
    async with app.state.sessionmaker() as db:
        credential = await db.scalar(
            select(TotpCredential).where(TotpCredential.user_id == user_id)
        )
        hashes = set(
            (
                await db.scalars(
                    select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user_id)
                )
            ).all()
        )
    assert credential is not None
    assert account["secret"] not in credential.secret_encrypted
    assert account["secret"].lower() not in credential.secret_encrypted.lower()
    assert len(hashes) == 10
    for code in account["recovery_codes"]:
        assert code not in hashes
        assert code.replace("-", "") not in hashes
    # Sealed under a key derived from SECRET_KEY, bound to the user: it opens with that
    # key for that user only.
    box = SecretBox(app.state.settings.secret_key)
    assert box.open(credential.secret_encrypted, user_id=user_id) == account["secret"]
    assert box.open(credential.secret_encrypted, user_id=uuid.uuid4()) is None
    assert SecretBox("another key").open(credential.secret_encrypted, user_id=user_id) is None


async def test_an_mfa_encryption_key_of_its_own_seals_the_secrets(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    key = "an-mfa-key-of-its-own-0123456789abcdef"
    app = app_factory({"clock": clock}, MFA_ENCRYPTION_KEY=key)
    async with running(app) as client:
        account = await enrolled(client, clock)
        user_id = uuid.UUID(account["user"]["id"])
        async with app.state.sessionmaker() as db:
            sealed = await db.scalar(
                select(TotpCredential.secret_encrypted).where(TotpCredential.user_id == user_id)
            )
        assert sealed is not None
        assert SecretBox(key).open(sealed, user_id=user_id) == account["secret"]
        assert SecretBox(app.state.settings.secret_key).open(sealed, user_id=user_id) is None
        # A code is checked against the secret this key opens.
        token = await mfa_token(client, account["user"]["email"])
        assert (await verify(client, token, code_at(account["secret"], clock))).status_code == 200


@pytest.mark.parametrize("key", ["short", "a" * 40])
def test_a_guessable_mfa_encryption_key_is_refused(database_url: str, key: str) -> None:
    with pytest.raises(ValidationError, match="MFA_ENCRYPTION_KEY"):
        make_settings(database_url, MFA_ENCRYPTION_KEY=key)


def test_the_mfa_encryption_key_is_optional(database_url: str) -> None:
    settings: Settings = make_settings(database_url)
    assert settings.MFA_ENCRYPTION_KEY is None


async def test_the_sign_in_pages_code_step_waits_out_the_throttle(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    app = app_factory(
        {"clock": clock, "throttle_policy": ThrottlePolicy(free_failures=1)},
        RATE_LIMIT_ENABLED=True,
    )
    async with running(app) as client:
        account = await enrolled(client, clock)
        secret = account["secret"]
        step = await sign_in(client, account["user"]["email"], PASSWORD)
        token = re.search(r'name="mfa_token" value="([^"]+)"', step.text)
        assert token is not None
        data = {"csrf_token": csrf_of(step), "mfa_token": token.group(1)}
        wrong = await client.post(
            "/login/code", data={**data, "code": wrong_code(secret, clock)}, headers=HTML
        )
        assert wrong.status_code == 401
        waiting = await client.post(
            "/login/code", data={**data, "code": code_at(secret, clock)}, headers=HTML
        )
        assert waiting.status_code == 429
        assert 'action="/login/code"' in waiting.text
