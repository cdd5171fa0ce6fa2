"""The `gatehouse` command: users create, db upgrade, the schema check of serve."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from gatehouse import migrate
from gatehouse.cli import app
from gatehouse.core.db import make_sessionmaker
from gatehouse.users.models import User
from gatehouse.users.service import find_user_by_email
from tests.servers import ServerStarter

runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "cli-test-secret-key-0123456789-abcdef")
    monkeypatch.setenv("ARGON2_MEMORY_COST_KIB", "1024")
    monkeypatch.setenv("ARGON2_TIME_COST", "1")
    monkeypatch.setenv("COLUMNS", "200")  # rich tables wide enough to read whole cells
    return database_url


def _load_user(database_url: str, email: str) -> User | None:
    async def load() -> User | None:
        engine = create_async_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await find_user_by_email(session, email=email)
        finally:
            await engine.dispose()

    return asyncio.run(load())


def test_users_create_makes_an_admin(cli_env: str) -> None:
    result = runner.invoke(
        app,
        [
            "users",
            "create",
            "--email",
            "Root@Example.com",
            "--password",
            "a fine long secret",
            "--admin",
        ],
    )
    assert result.exit_code == 0, result.output
    user = _load_user(cli_env, "root@example.com")
    assert user is not None
    assert (user.role, user.is_verified) == ("admin", True)


def test_users_create_prompts_for_the_password(cli_env: str) -> None:
    result = runner.invoke(
        app,
        ["users", "create", "--email", "prompted@example.com"],
        input="a fine long secret\na fine long secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "a fine long secret" not in result.output
    user = _load_user(cli_env, "prompted@example.com")
    assert user is not None
    assert user.role == "user"


def test_users_create_refuses_a_taken_email_and_a_weak_password(cli_env: str) -> None:
    args = ["users", "create", "--email", "twice@example.com", "--password"]
    assert runner.invoke(app, [*args, "a fine long secret"]).exit_code == 0
    taken = runner.invoke(app, [*args, "a fine long secret"])
    assert taken.exit_code == 1
    assert "already exists" in taken.output
    weak = runner.invoke(
        app, ["users", "create", "--email", "weak@example.com", "--password", "password"]
    )
    assert weak.exit_code == 1
    assert "too common" in weak.output


def test_users_create_invite_mails_a_link_instead_of_a_password(
    cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from email import message_from_bytes, policy

    from gatehouse.core.security import UNUSABLE_PASSWORD_HASH

    monkeypatch.setenv("EMAIL_BACKEND", "file")
    monkeypatch.setenv("EMAIL_FILE_DIR", str(tmp_path / "sent"))
    both = runner.invoke(
        app, ["users", "create", "--email", "x@example.com", "--invite", "--password", "p"]
    )
    assert both.exit_code == 1
    created = runner.invoke(
        app, ["users", "create", "--email", "invited@example.com", "--invite"], input=""
    )
    assert created.exit_code == 0, created.output
    assert "invitation queued" in created.output
    user = _load_user(cli_env, "invited@example.com")
    assert user is not None
    assert (user.password_hash, user.is_verified) == (UNUSABLE_PASSWORD_HASH, False)

    assert runner.invoke(app, ["worker", "--once"]).exit_code == 0
    [sent] = list((tmp_path / "sent").glob("*.eml"))
    message = message_from_bytes(sent.read_bytes(), policy=policy.default)
    assert message["To"] == "invited@example.com"
    assert message["Subject"] == "You are invited to Gatehouse"
    assert "/reset-password?token=" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatehouse", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_db_upgrade_then_serve_accepts_the_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    env = {
        "DATABASE_URL": url,
        "SECRET_KEY": "cli-production-key-Zq81Lm30Vx57Nb92Tc46",
        "ENVIRONMENT": "production",
        "EMAIL_BACKEND": "file",
    }
    refused = _run(["serve", "--port", "1"], env, tmp_path)
    assert refused.returncode == 1
    assert "out of date" in refused.stderr
    assert "gatehouse db upgrade" in refused.stderr
    assert "Traceback" not in refused.stderr

    upgraded = _run(["db", "upgrade"], env, tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    current = _run(["db", "current"], env, tmp_path)
    assert f"current: {migrate.head_revision()}" in current.stdout


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_serve_runs_on_the_event_loop_asked_for(
    tmp_path: Path, loop: str, start_server: ServerStarter
) -> None:
    base_url = start_server.with_args(
        ("--loop", loop),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'loop.db'}",
        ENVIRONMENT="development",
        MAIL_WORKER_ENABLED="false",
    )
    assert httpx.get(f"{base_url}/health", timeout=10).status_code == 200
    refused = _run(["serve", "--loop", "trio", "--port", "1"], {}, tmp_path)
    assert refused.returncode == 2
    assert "trio" in refused.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])  # noqa: S104 (what is refused)
def test_serve_in_development_refuses_a_host_that_is_not_loopback(
    tmp_path: Path, host: str
) -> None:
    database = tmp_path / "dev.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{database}", "ENVIRONMENT": "development"}
    refused = _run(["serve", "--host", host, "--port", "1"], env, tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.splitlines() == [
        f"refusing to serve on {host} in development: use a loopback host "
        "(127.0.0.1, ::1 or localhost), or set ENVIRONMENT=production"
    ]
    assert not database.exists()  # refused before the database is opened


def test_serve_in_production_may_bind_any_host(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}",
        "SECRET_KEY": "cli-production-key-Zq81Lm30Vx57Nb92Tc46",
        "ENVIRONMENT": "production",
        "EMAIL_BACKEND": "file",
    }
    # Past the host check, serve stops at the next one: the schema is not there yet.
    refused = _run(["serve", "--host", "0.0.0.0", "--port", "1"], env, tmp_path)  # noqa: S104
    assert refused.returncode == 1, refused.stderr
    assert "out of date" in refused.stderr
    assert "refusing to serve" not in refused.stderr


def test_users_list_set_role_and_deactivate(cli_env: str) -> None:
    for email in ("first@example.com", "second@example.com"):
        created = runner.invoke(
            app, ["users", "create", "--email", email, "--password", "a fine long secret"]
        )
        assert created.exit_code == 0, created.output

    listed = runner.invoke(app, ["users", "list"])
    assert listed.exit_code == 0, listed.output
    assert "first@example.com" in listed.output
    assert "second@example.com" in listed.output

    promoted = runner.invoke(app, ["users", "set-role", "first@example.com", "admin"])
    assert promoted.exit_code == 0, promoted.output
    user = _load_user(cli_env, "first@example.com")
    assert user is not None
    assert user.role == "admin"
    admins = runner.invoke(app, ["users", "list", "--role", "admin"])
    assert "first@example.com" in admins.output
    assert "second@example.com" not in admins.output

    # The only admin can be neither demoted nor deactivated.
    refused = runner.invoke(app, ["users", "deactivate", "first@example.com"])
    assert refused.exit_code == 1
    assert "last active admin" in refused.output

    deactivated = runner.invoke(app, ["users", "deactivate", "second@example.com"])
    assert deactivated.exit_code == 0, deactivated.output
    second = _load_user(cli_env, "second@example.com")
    assert second is not None
    assert second.is_active is False

    unknown = runner.invoke(app, ["users", "deactivate", "nobody@example.com"])
    assert unknown.exit_code == 1
    assert "no user" in unknown.output
    bad_role = runner.invoke(app, ["users", "set-role", "second@example.com", "root"])
    assert bad_role.exit_code == 2


def _enqueue(database_url: str, count: int) -> None:
    from gatehouse.mail import service as mail_service

    async def enqueue() -> None:
        engine = create_async_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                for index in range(count):
                    await mail_service.enqueue(
                        session,
                        to=f"cli{index}@example.com",
                        template="password_changed",
                        context={"name": None, "reset_url": "http://x/reset-password"},
                    )
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(enqueue())


def test_worker_once_delivers_and_mail_status_counts(
    cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMAIL_BACKEND", "file")
    monkeypatch.setenv("EMAIL_FILE_DIR", str(tmp_path / "sent"))
    _enqueue(cli_env, 3)
    before = runner.invoke(app, ["mail", "status"])
    assert before.exit_code == 0, before.output
    assert "3" in before.output

    delivered = runner.invoke(app, ["worker", "--once"])
    assert delivered.exit_code == 0, delivered.output
    assert len(list((tmp_path / "sent").glob("*.eml"))) == 3
    after = runner.invoke(app, ["mail", "status"])
    pending, sent, failed = after.output.splitlines()[-2].replace("│", " ").split()
    assert (pending, sent, failed) == ("0", "3", "0")


def test_mail_retry_requeues_failed_messages(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import update

    from gatehouse.core.db import utcnow
    from gatehouse.mail.models import OutboxMessage

    _enqueue(cli_env, 2)

    async def fail_all() -> None:
        engine = create_async_engine(cli_env)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    update(OutboxMessage).values(failed_at=utcnow(), attempts=8, last_error="boom")
                )
        finally:
            await engine.dispose()

    asyncio.run(fail_all())
    status = runner.invoke(app, ["mail", "status"])
    assert status.output.splitlines()[-2].replace("│", " ").split() == ["0", "0", "2"]
    retried = runner.invoke(app, ["mail", "retry"])
    assert retried.exit_code == 0
    assert "re-queued 2" in retried.output
    status = runner.invoke(app, ["mail", "status"])
    assert status.output.splitlines()[-2].replace("│", " ").split() == ["2", "0", "0"]


def test_audit_tail_prints_the_latest_events(cli_env: str) -> None:
    from gatehouse.audit import service as audit_service
    from gatehouse.core.origin import RequestOrigin

    async def record() -> None:
        engine = create_async_engine(cli_env)
        try:
            async with make_sessionmaker(engine)() as session:
                for kind in ("login_failed", "login_succeeded", "logout"):
                    audit_service.record(
                        session, kind=kind, user_id=None, origin=RequestOrigin("10.0.0.9", "cli")
                    )
                    await session.flush()
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(record())
    result = runner.invoke(app, ["audit", "tail", "-n", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert "ip=10.0.0.9" in lines[0]
    only = runner.invoke(app, ["audit", "tail", "--kind", "login_failed"])
    assert "login_failed" in only.output
    assert "logout" not in only.output
