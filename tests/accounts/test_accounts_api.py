"""`gatehouse.accounts`: every name of the original exercise's DB and Auth, in process, on
the test database (SQLite, and PostgreSQL with TEST_DATABASE_URL), under the service's
password policy, login throttle and audit trail."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from fastapi import FastAPI
from sqlalchemy import Select, select

from gatehouse.accounts import (
    AccountDisabled,
    AccountExists,
    AccountNotFound,
    Accounts,
    InvalidCredentials,
    InvalidField,
    InvalidFilter,
    InvalidInput,
    LastAdmin,
    PasswordRejected,
    RateLimited,
    ResetTokenInvalid,
    Role,
    SchemaOutOfDate,
    UserRead,
)
from gatehouse.audit.models import AuditEvent
from gatehouse.auth.throttle import ThrottlePolicy
from gatehouse.core.config import Settings
from gatehouse.core.db import make_engine, make_sessionmaker
from gatehouse.mail.models import OutboxMessage
from gatehouse.users.models import User
from tests.conftest import make_settings
from tests.helpers import PASSWORD, ManualClock, bearer, login, running, unique_email

NEW_PASSWORD = "a different long passphrase"


@pytest.fixture
async def accounts(settings: Settings) -> AsyncIterator[Accounts]:
    async with Accounts.open(settings) as opened:
        yield opened


async def _rows(settings: Settings, statement: Select[Any]) -> Sequence[Any]:
    """Rows of the test database, read beside the API (as an operator would)."""
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as db:
            return (await db.scalars(statement)).all()
    finally:
        await engine.dispose()


async def _events(settings: Settings, user_id: uuid.UUID) -> list[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.user_id == user_id)
    return list(await _rows(settings, statement.order_by(AuditEvent.created_at)))


async def _kinds(settings: Settings, user_id: uuid.UUID) -> list[str]:
    return [event.kind for event in await _events(settings, user_id)]


async def _mails(settings: Settings, to: str) -> list[str]:
    statement = select(OutboxMessage.subject).where(OutboxMessage.to == to)
    return list(await _rows(settings, statement))


# --- opening


async def test_open_refuses_a_database_not_at_the_current_migration(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SchemaOutOfDate, match=r"revision none, not .*gatehouse db upgrade"):
        async with Accounts.open(settings):
            pass
    async with Accounts.open(settings, upgrade=True) as accounts:
        user = await accounts.register_user(unique_email(), PASSWORD)
    async with Accounts.open(settings) as accounts:  # now at the head
        assert (await accounts.find_user_by(id=user.id)).email == user.email


async def test_open_reads_the_settings_of_the_environment(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("DATABASE_URL", "SECRET_KEY", "ARGON2_MEMORY_COST_KIB", "ARGON2_TIME_COST"):
        value = getattr(settings, name)
        monkeypatch.setenv(name, value.get_secret_value() if name == "SECRET_KEY" else str(value))
    email = unique_email()
    async with Accounts.open() as accounts:
        assert accounts.settings.DATABASE_URL == settings.DATABASE_URL
        await accounts.register_user(email, PASSWORD)
    async with Accounts.open(settings) as accounts:
        assert (await accounts.find_user_by(email=email)).email == email


# --- DB: add_user, find_user_by, update_user


async def test_add_user_takes_the_exercise_bcrypt_hash_which_becomes_argon2id(
    accounts: Accounts, settings: Settings
) -> None:
    email = unique_email()
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4))  # as the exercise
    user = await accounts.add_user(email.upper(), hashed, full_name="Ada", role="admin")
    assert isinstance(user, UserRead)
    assert (user.email, user.full_name, user.role, user.is_verified) == (
        email,
        "Ada",
        Role.ADMIN,
        False,
    )
    assert await accounts.valid_login(email, PASSWORD)
    [stored] = await _rows(settings, select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("$argon2id$")  # upgraded at the login
    assert await accounts.valid_login(email, PASSWORD)


async def test_add_user_refuses_a_taken_email_and_what_is_not_a_hash(
    accounts: Accounts,
) -> None:
    email = unique_email()
    await accounts.register_user(email, PASSWORD)
    hashed = bcrypt.hashpw(b"whatever it was", bcrypt.gensalt(rounds=4))
    with pytest.raises(AccountExists) as taken:
        await accounts.add_user(email, hashed)
    assert isinstance(taken.value, ValueError)
    assert taken.value.code == "EMAIL_ALREADY_REGISTERED"
    for not_a_hash in ("plain text password", "$argon2id$", "$2b$12$" + "!" * 53):
        with pytest.raises(InvalidInput, match="not an Argon2id or bcrypt hash"):
            await accounts.add_user(unique_email(), not_a_hash)
    with pytest.raises(ValueError, match="email"):
        await accounts.add_user("not an email", hashed)
    with pytest.raises(ValueError, match="full_name"):
        await accounts.add_user(unique_email(), hashed, full_name="bidi\u202eoverride")


async def test_of_concurrent_adds_of_one_email_one_wins(accounts: Accounts) -> None:
    email = unique_email()
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    results = await asyncio.gather(
        *(accounts.add_user(email, hashed) for _ in range(8)), return_exceptions=True
    )
    added = [result for result in results if isinstance(result, UserRead)]
    assert len(added) == 1
    assert all(isinstance(result, AccountExists) for result in results if result not in added)


async def test_find_user_by_filters_and_its_errors(accounts: Accounts) -> None:
    email = unique_email()
    user = await accounts.register_user(email, PASSWORD, full_name="Grace")
    assert await accounts.find_user_by(email=f"  {email.upper()} ") == user
    assert await accounts.find_user_by(id=user.id) == user
    assert await accounts.find_user_by(id=str(user.id), role="user", is_active=True) == user
    assert await accounts.find_user_by(email=email, full_name="Grace", is_verified=False) == user

    with pytest.raises(AccountNotFound, match="no user with email=") as missing:
        await accounts.find_user_by(email=unique_email())
    assert isinstance(missing.value, LookupError)
    with pytest.raises(AccountNotFound):
        await accounts.find_user_by(email=email, role=Role.ADMIN)
    with pytest.raises(AccountNotFound):
        await accounts.find_user_by(id=uuid.uuid4())

    bad: list[dict[str, Any]] = [
        {},
        {"session_id": "abc"},
        {"hashed_password": "x"},
        {"id": "not-a-uuid"},
        {"role": "owner"},
        {"is_active": "yes"},
        {"email": 3},
        {"full_name": 3},
    ]
    for filters in bad:
        with pytest.raises(InvalidFilter) as invalid:
            await accounts.find_user_by(**filters)
        assert isinstance(invalid.value, ValueError), filters


async def test_update_user_changes_the_fields_the_api_can(
    accounts: Accounts, settings: Settings
) -> None:
    email, other = unique_email(), unique_email()
    user = await accounts.register_user(email, PASSWORD)
    await accounts.register_user(other, PASSWORD)
    changed = await accounts.update_user(
        str(user.id), full_name="Ada L.", role=Role.ADMIN, is_verified=True
    )
    assert (changed.full_name, changed.role, changed.is_verified) == ("Ada L.", "admin", True)
    new_email = unique_email()
    moved = await accounts.update_user(user.id, email=new_email.upper())
    assert (moved.email, moved.is_verified) == (new_email, False)  # a new email is unverified
    kept = await accounts.update_user(user.id, email=email, is_verified=True)
    assert (kept.email, kept.is_verified) == (email, True)
    with pytest.raises(AccountExists):
        await accounts.update_user(user.id, email=other)
    events = [e for e in await _events(settings, user.id) if e.kind == "role_changed"]
    assert [e.details for e in events] == [{"old": "user", "new": "admin", "by": "accounts-api"}]


async def test_update_user_refuses_unknown_fields_and_bad_values_before_any_change(
    accounts: Accounts,
) -> None:
    user = await accounts.register_user(unique_email(), PASSWORD)
    with pytest.raises(InvalidField, match=r"'hashed_password'.*set `password`") as hashed:
        await accounts.update_user(user.id, hashed_password="$2b$...", full_name="X")
    assert isinstance(hashed.value, ValueError)
    bad: list[dict[str, Any]] = [
        {"session_id": None},
        {"reset_token": "t"},
        {"email": "nope"},
        {"role": "owner"},
        {"is_active": 1},
        {"password": 12345678},
        {"full_name": "\x00"},
    ]
    for fields in bad:
        with pytest.raises(InvalidField):
            await accounts.update_user(user.id, **{"full_name": "Changed", **fields})
    assert (await accounts.find_user_by(id=user.id)).full_name is None
    with pytest.raises(AccountNotFound):
        await accounts.update_user(uuid.uuid4(), full_name="Nobody")
    with pytest.raises(InvalidInput):
        await accounts.update_user("not-an-id", full_name="Nobody")


async def test_update_user_sets_a_password_under_the_policy(
    accounts: Accounts, settings: Settings
) -> None:
    email = unique_email()
    user = await accounts.register_user(email, PASSWORD)
    session_id = await accounts.create_session(email)
    for weak in ("short", "password123", email):
        with pytest.raises(PasswordRejected):
            await accounts.update_user(user.id, password=weak, full_name="Not saved")
    assert (await accounts.find_user_by(id=user.id)).full_name is None
    assert await accounts.get_user_from_session_id(session_id) is not None

    await accounts.update_user(user.id, password=NEW_PASSWORD)
    assert await accounts.valid_login(email, NEW_PASSWORD)
    assert not await accounts.valid_login(email, PASSWORD)
    assert await accounts.get_user_from_session_id(session_id) is None  # sessions end
    assert "password_changed" in await _kinds(settings, user.id)
    assert len(await _mails(settings, email)) == 2  # verification, then the change notice


async def test_update_user_keeps_the_last_admin_and_deactivation_ends_sessions(
    accounts: Accounts, settings: Settings
) -> None:
    admin_email = unique_email()
    admin = await accounts.register_user(admin_email, PASSWORD)
    await accounts.update_user(admin.id, role="admin")
    with pytest.raises(LastAdmin):
        await accounts.update_user(admin.id, is_active=False)
    email = unique_email()
    user = await accounts.register_user(email, PASSWORD)
    session_id = await accounts.create_session(email)
    off = await accounts.update_user(user.id, is_active=False)
    assert off.is_active is False
    assert await accounts.get_user_from_session_id(session_id) is None
    assert await accounts.create_session(email) is None
    assert not await accounts.valid_login(email, PASSWORD)  # its right password, disabled
    [event] = [e for e in await _events(settings, user.id) if e.kind == "user_deactivated"]
    assert event.details == {"by": "accounts-api"}
    assert event.user_agent == "gatehouse.accounts"


# --- Auth: register_user, valid_login, sessions, reset


async def test_register_user_as_the_api_does(accounts: Accounts, settings: Settings) -> None:
    email = unique_email()
    user = await accounts.register_user(email, PASSWORD, full_name="Ada")
    assert (user.email, user.role, user.is_verified, user.is_active) == (
        email,
        Role.USER,
        False,
        True,
    )
    assert len(await _mails(settings, email)) == 1  # the verification mail
    with pytest.raises(AccountExists) as exists:
        await accounts.register_user(email.upper(), NEW_PASSWORD)
    assert isinstance(exists.value, ValueError)


@pytest.mark.parametrize("password", ["short", "password1234", "{email}"])
async def test_register_user_enforces_the_password_policy(
    accounts: Accounts, password: str
) -> None:
    email = unique_email()
    with pytest.raises(PasswordRejected) as rejected:
        await accounts.register_user(email, password.format(email=email))
    assert rejected.value.code == "VALIDATION_ERROR"
    with pytest.raises(AccountNotFound):
        await accounts.find_user_by(email=email)


async def test_valid_login_is_audited_and_answers_a_bool(
    accounts: Accounts, settings: Settings
) -> None:
    email = unique_email()
    user = await accounts.register_user(email, PASSWORD)
    assert await accounts.valid_login(email.upper(), PASSWORD) is True
    assert await accounts.valid_login(email, "wrong password") is False
    assert await accounts.valid_login(unique_email(), PASSWORD) is False
    events = await _events(settings, user.id)
    assert [e.kind for e in events] == ["login_succeeded", "login_failed"]
    assert events[1].details["reason"] == "bad_credentials"
    assert events[1].details["email"] != email  # masked
    assert all(e.user_agent == "gatehouse.accounts" and e.ip is None for e in events)
    unknown = await _rows(
        settings,
        select(AuditEvent).where(AuditEvent.kind == "login_failed", AuditEvent.user_id.is_(None)),
    )
    assert len(unknown) == 1


async def test_valid_login_is_held_by_the_login_throttle(database_url: str) -> None:
    settings = make_settings(database_url, RATE_LIMIT_ENABLED=True)
    clock = ManualClock()
    policy = ThrottlePolicy(free_failures=2, base_seconds=60, max_seconds=600)
    async with Accounts.open(settings, clock=clock, throttle_policy=policy) as accounts:
        email = unique_email()
        user = await accounts.register_user(email, PASSWORD)
        assert not await accounts.valid_login(email, "wrong one")
        assert not await accounts.valid_login(email, "wrong two")  # now it must wait 60 s
        with pytest.raises(RateLimited) as limited:
            await accounts.valid_login(email, PASSWORD)  # even the right password
        assert limited.value.details == {"retry_after": 60}
        with pytest.raises(RateLimited):
            await accounts.login(email, PASSWORD)
        clock.advance(61)
        assert await accounts.valid_login(email, PASSWORD)
        reasons = [
            e.details["reason"]
            for e in await _events(settings, user.id)
            if e.kind == "login_failed"
        ]
        assert reasons == ["bad_credentials", "bad_credentials", "throttled", "throttled"]


async def test_a_session_from_create_session_is_a_browser_session(
    accounts: Accounts, app: FastAPI
) -> None:
    email = unique_email()
    user = await accounts.register_user(email, PASSWORD)
    assert await accounts.create_session(unique_email()) is None
    session_id = await accounts.create_session(email.upper())
    assert session_id is not None
    assert await accounts.get_user_from_session_id(session_id) == user
    assert await accounts.get_user_from_session_id("not-a-session") is None
    assert await accounts.get_user_from_session_id(None) is None
    assert await accounts.get_user_from_session_id("") is None
    async with running(app) as client:
        # The id is the `session_id` cookie of the browser API and the pages.
        client.cookies.set("session_id", session_id)
        profile = await client.get("/profile")
        assert profile.status_code == 200, profile.text
        assert profile.json() == {"email": email}
        tokens = await login(client, email)
        sessions = await client.get("/api/v1/auth/sessions", headers=bearer(tokens["access_token"]))
        # The user sees it among their sessions, opened by this API.
        agents = sorted(str(item["user_agent"]) for item in sessions.json())
        assert agents == ["gatehouse.accounts", client.headers["user-agent"]]


async def test_login_opens_a_session_with_a_password(accounts: Accounts) -> None:
    email = unique_email()
    user = await accounts.register_user(email, PASSWORD)
    session_id = await accounts.login(email, PASSWORD)
    assert await accounts.get_user_from_session_id(session_id) == user
    with pytest.raises(InvalidCredentials):
        await accounts.login(email, "wrong password")
    await accounts.update_user(user.id, is_active=False)
    with pytest.raises(AccountDisabled):
        await accounts.login(email, PASSWORD)


async def test_destroy_session_ends_every_session_of_the_user(
    accounts: Accounts, app: FastAPI, settings: Settings
) -> None:
    email = unique_email()
    user = await accounts.register_user(email, PASSWORD)
    first = await accounts.create_session(email)
    second = await accounts.login(email, PASSWORD)
    async with running(app) as client:
        tokens = await login(client, email)
        assert (
            await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        ).status_code == 200
        await accounts.destroy_session(user.id)
        me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 401  # the API session too, at once
    assert await accounts.get_user_from_session_id(first) is None
    assert await accounts.get_user_from_session_id(second) is None
    logout = [e for e in await _events(settings, user.id) if e.kind == "logout"]
    assert [e.details for e in logout] == [{"all": True}]
    with pytest.raises(AccountNotFound):
        await accounts.destroy_session(uuid.uuid4())


async def test_a_reset_token_sets_a_new_password_once(
    accounts: Accounts, settings: Settings
) -> None:
    email = unique_email()
    user = await accounts.register_user(email, PASSWORD)
    session_id = await accounts.create_session(email)
    token = await accounts.get_reset_password_token(email.upper())
    assert len(await _mails(settings, email)) == 1  # no reset mail: the caller has the token
    with pytest.raises(PasswordRejected):
        await accounts.update_password(token, "short")
    await accounts.update_password(token, NEW_PASSWORD)  # the refused try did not use it
    assert await accounts.valid_login(email, NEW_PASSWORD)
    assert await accounts.get_user_from_session_id(session_id) is None
    with pytest.raises(ResetTokenInvalid) as used:
        await accounts.update_password(token, "yet another passphrase")
    assert isinstance(used.value, ValueError)
    with pytest.raises(ResetTokenInvalid):
        await accounts.update_password("made-up", NEW_PASSWORD)
    kinds = await _kinds(settings, user.id)
    assert "password_reset_requested" in kinds
    assert "password_reset_completed" in kinds
    # Only the token's hash is stored; the audit holds no token.
    assert all(token not in str(e.details) for e in await _events(settings, user.id))


async def test_a_newer_reset_token_voids_the_older_and_send_mail_queues_the_link(
    accounts: Accounts, settings: Settings
) -> None:
    email = unique_email()
    await accounts.register_user(email, PASSWORD)
    older = await accounts.get_reset_password_token(email)
    newer = await accounts.get_reset_password_token(email, send_mail=True)
    [link] = await _rows(
        settings,
        select(OutboxMessage.text)
        .where(OutboxMessage.to == email)
        .order_by(OutboxMessage.created_at.desc())
        .limit(1),
    )
    assert f"reset-password?token={newer}" in link
    with pytest.raises(ResetTokenInvalid):
        await accounts.update_password(older, NEW_PASSWORD)
    await accounts.update_password(newer, NEW_PASSWORD)


async def test_get_reset_password_token_needs_an_active_account(accounts: Accounts) -> None:
    with pytest.raises(AccountNotFound) as unknown:
        await accounts.get_reset_password_token(unique_email())
    assert isinstance(unknown.value, ValueError)
    email = unique_email()
    user = await accounts.register_user(email, PASSWORD)
    token = await accounts.get_reset_password_token(email)
    await accounts.update_user(user.id, is_active=False)
    with pytest.raises(AccountDisabled):
        await accounts.get_reset_password_token(email)
    with pytest.raises(ResetTokenInvalid):
        await accounts.update_password(token, NEW_PASSWORD)
