"""The SDK against a real running server (uvicorn on loopback): every typed method."""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import jwt
import pytest

from gatehouse_client import ApiError, AsyncClient, Client
from tests.helpers import PASSWORD, unique_email

SDK = Path(__file__).resolve().parents[2] / "clients" / "python" / "src" / "gatehouse_client"


def test_the_sdk_imports_nothing_from_the_server() -> None:
    modules = sorted(SDK.glob("*.py"))
    assert {p.name for p in modules} >= {"__init__.py", "client.py", "verifier.py"}
    for path in modules:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] != "gatehouse", f"{path.name} imports {name}"


@pytest.fixture
def server(start_server: Callable[..., str], tmp_path: Path) -> str:
    return start_server(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'sdk.db'}",
        SECRET_KEY="sdk-test-secret-key-0123456789abcdefgh",
        ACCESS_TOKEN_TTL_MINUTES="1",
        RATE_LIMIT_ENABLED="false",
        FIRST_ADMIN_EMAIL="root@example.com",
        FIRST_ADMIN_PASSWORD="the admin's own phrase",
    )


def test_every_typed_method_of_the_sync_client(server: str) -> None:
    email = unique_email("sdk")
    with Client(server) as client:
        user = client.register(email, PASSWORD, full_name="Sdk User")
        assert (user.email, user.full_name, user.role) == (email, "Sdk User", "user")
        assert client.login_form(email, PASSWORD).token_type == "bearer"
        tokens = client.login(email, PASSWORD)
        assert client.tokens == tokens
        assert client.me().id == user.id
        assert client.update_me(full_name="Renamed").full_name == "Renamed"
        sessions = client.sessions()
        assert sum(1 for s in sessions if s.current) == 1
        other = next(s for s in sessions if not s.current)
        client.revoke_session(other.id)
        assert len(client.sessions()) == len(sessions) - 1

        task = client.create_task("write the sdk", priority="high", due_date=date(2030, 1, 2))
        assert (task.title, task.priority, task.due_date) == (
            "write the sdk",
            "high",
            date(2030, 1, 2),
        )
        assert client.get_task(task.id) == task
        assert client.update_task(task.id, completed=True).completed is True
        assert client.replace_task(task.id, "rewritten").priority == "medium"
        page = client.list_tasks(completed=False, q="rewrit")
        assert (page.total, page.items[0].title) == (1, "rewritten")
        client.delete_task(task.id)
        with pytest.raises(ApiError) as missing:
            client.get_task(task.id)
        assert (missing.value.status, missing.value.code) == (404, "NOT_FOUND")
        assert missing.value.request_id

        reply = client.chat("add buy milk tomorrow")
        assert reply.tool_calls[0].name == "add_task"
        follow = client.chat("mark it done", conversation_id=reply.conversation_id)
        assert follow.tool_calls[0].name == "complete_task"
        conversations = client.list_conversations()
        assert conversations.total == 1
        detail = client.get_conversation(reply.conversation_id)
        assert [m.role for m in detail.messages] == ["user", "assistant", "user", "assistant"]
        client.delete_conversation(reply.conversation_id)

        assert client.forgot_password(email).message
        with pytest.raises(ApiError) as bad_reset:
            client.reset_password("not-a-token", "whatever new phrase")
        assert bad_reset.value.code == "INVALID_RESET_TOKEN"
        assert client.request_verification().message
        with pytest.raises(ApiError) as bad_verify:
            client.verify("not-a-token")
        assert bad_verify.value.code == "INVALID_VERIFICATION_TOKEN"
        client.change_password(PASSWORD, "a newer long passphrase")
        assert client.get("/api/v1/users/me")["email"] == email  # the generic verbs too
        client.logout_all()
        with pytest.raises(ApiError) as ended:
            client.me()
        assert ended.value.code == "INVALID_TOKEN"

        client.login(email, "a newer long passphrase")
        client.logout()
        assert client.tokens is None
        client.login(email, "a newer long passphrase")
        client.delete_me("a newer long passphrase")

    with Client(server) as admin:
        admin.login("root@example.com", "the admin's own phrase")
        created = admin.create_user(unique_email("made"), PASSWORD, role="admin")
        assert admin.get_user(created.id).role == "admin"
        assert admin.update_user(created.id, is_active=False).is_active is False
        assert admin.list_users(role="admin").total == 2
        events = admin.list_audit_events(kind="user_deactivated")
        assert events.items[0].user_id == created.id
        admin.delete_user(created.id)


def test_the_client_sends_back_the_device_token_it_was_given(server: str) -> None:
    email, other = unique_email("device"), unique_email("device-other")
    with Client(server) as client:
        client.register(email, PASSWORD)
        client.register(other, PASSWORD)
        assert client.device_token is None
        client.login(email, PASSWORD)
        device = client.device_token
        assert device is not None
        assert device.count(".") == 2
        # The server answers a presented token of this account with the same token, and
        # anything else (no token, or another account's) with a new one.
        client.login(email, PASSWORD)
        assert client.device_token == device
        client.login(other, PASSWORD)
        assert client.device_token not in (None, device)
    with Client(server, device_token=device) as later:  # kept across runs
        later.login_form(email, PASSWORD)
        assert later.device_token == device
    with Client(server) as stranger:
        stranger.login(email, PASSWORD)
        assert stranger.device_token != device


def test_the_client_refreshes_once_on_token_expired(server: str) -> None:
    email = unique_email("expiring")
    with Client(server) as client:
        client.register(email, PASSWORD)
        first = client.login(email, PASSWORD)
        claims = jwt.decode(first.access_token, options={"verify_signature": False})
        expired = jwt.encode(
            {**claims, "iat": int(time.time()) - 120, "exp": int(time.time()) - 60},
            "sdk-test-secret-key-0123456789abcdefgh",
            algorithm="HS256",
        )
        client._state.access_token = expired  # as if the minute had passed
        assert client.me().email == email
        assert client.tokens is not None
        assert client.tokens.refresh_token != first.refresh_token


async def test_the_async_client(server: str) -> None:
    email = unique_email("async")
    async with AsyncClient(server) as client:
        await client.register(email, PASSWORD)
        await client.login(email, PASSWORD)
        task = await client.create_task("async task")
        assert (await client.list_tasks()).items[0].id == task.id
        assert (await client.chat("what are my tasks?")).tool_calls[0].name == "list_tasks"
        with pytest.raises(ApiError) as denied:
            await client.list_users()
        assert (denied.value.status, denied.value.code) == (403, "FORBIDDEN")
        await client.logout()


def test_validation_errors_carry_the_envelope(server: str) -> None:
    with Client(server) as client, pytest.raises(ApiError) as invalid:
        client.register("not-an-email", PASSWORD)
    assert invalid.value.status == 422
    assert invalid.value.code == "VALIDATION_ERROR"
    assert invalid.value.details["fields"]


def test_requests_are_logged_without_secrets(server: str, caplog: pytest.LogCaptureFixture) -> None:
    email = unique_email("logged")
    with caplog.at_level("INFO", logger="gatehouse_client"), Client(server) as client:
        client.register(email, PASSWORD)
        tokens = client.login(email, PASSWORD)
        client.me()
    assert "POST /api/v1/auth/login -> 200" in caplog.text
    for secret in (PASSWORD, tokens.access_token, tokens.refresh_token):
        assert secret not in caplog.text


def test_http_client_can_be_injected() -> None:
    transport = httpx.MockTransport(lambda _request: httpx.Response(200, json={"status": "ok"}))
    with Client(
        "http://unused", http=httpx.Client(transport=transport, base_url="http://x")
    ) as client:
        assert client.get("/health") == {"status": "ok"}
