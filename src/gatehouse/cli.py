"""The `gatehouse` command: run the service and operate its database and users."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from gatehouse import migrate
from gatehouse.core.config import Settings, describe_settings_error
from gatehouse.core.db import make_engine, make_sessionmaker
from gatehouse.core.errors import AppError
from gatehouse.users.exceptions import UserNotFound
from gatehouse.users.models import Role

app = typer.Typer(no_args_is_help=True, help="Gatehouse: accounts and tokens as a service.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
users_app = typer.Typer(no_args_is_help=True, help="Manage user accounts.")
mail_app = typer.Typer(no_args_is_help=True, help="The outbox of mail waiting to be sent.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit trail.")
config_app = typer.Typer(no_args_is_help=True, help="Configuration files and settings.")
deps_app = typer.Typer(no_args_is_help=True, help="The project's dependencies.")
feature_app = typer.Typer(no_args_is_help=True, help="Scaffold new domain packages.")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(mail_app, name="mail")
app.add_typer(audit_app, name="audit")
app.add_typer(config_app, name="config")
app.add_typer(deps_app, name="deps")
app.add_typer(feature_app, name="feature")

T = TypeVar("T")


def fail(message: str, code: int = 1) -> typer.Exit:
    print(message, file=sys.stderr)
    return typer.Exit(code)


def load_settings() -> Settings:
    """The environment's settings, or one line naming the bad variable and exit status 2."""
    try:
        return Settings()
    except ValidationError as exc:
        raise fail(describe_settings_error(exc), code=2) from None


def with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = make_engine(settings)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


async def _prepare_schema(engine: AsyncEngine, *, upgrade: bool) -> str | None:
    """None when the schema is current (upgrading first if allowed), else what is wrong."""
    current = await migrate.current_revision(engine)
    head = migrate.head_revision()
    if current == head:
        return None
    if upgrade:
        await migrate.upgrade(engine)
        return None
    return (
        f"database schema is out of date (at {current or 'nothing'}, this version needs "
        f"{head}): run `gatehouse db upgrade` first"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Run the HTTP service with uvicorn (uvloop, httptools).

    Refuses an out-of-date database schema, except in development, where it upgrades first.
    """
    import uvicorn

    settings = load_settings()
    try:
        problem = with_engine(
            settings, lambda engine: _prepare_schema(engine, upgrade=settings.is_development)
        )
    except OSError as exc:
        raise fail(f"database unreachable: {exc}") from None
    if problem:
        raise fail(problem)
    uvicorn.run(
        "gatehouse.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        loop="uvloop",
        http="httptools",
        # uvicorn would trust proxy headers from 127.0.0.1 on its own, and a client could
        # then forge its address. The app reads them itself, from TRUSTED_PROXIES only.
        proxy_headers=False,
        server_header=False,
        log_config=None,  # the app's own logging (JSON in production) takes uvicorn's too
        log_level="info",
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    settings = load_settings()
    with_engine(settings, lambda engine: migrate.upgrade(engine, revision))
    print(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Revert migrations down to REVISION (`base` removes every table)."""
    settings = load_settings()
    with_engine(settings, lambda engine: migrate.downgrade(engine, revision))
    print(f"database at {revision}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and the one this code needs."""
    settings = load_settings()
    current = with_engine(settings, migrate.current_revision)
    print(f"current: {current or 'none'}\nhead:    {migrate.head_revision()}")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The account's email.")],
    password: Annotated[
        str | None, typer.Option(help="Prompted for (hidden) when not given.")
    ] = None,
    full_name: Annotated[str | None, typer.Option()] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Give the admin role.")] = False,
) -> None:
    """Create a user (verified, since an operator vouches for it)."""
    from gatehouse.core.security import PasswordHasher
    from gatehouse.users import service as users_service
    from gatehouse.users.passwords import PasswordPolicy

    settings = load_settings()
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def create(engine: AsyncEngine) -> str:
        async with make_sessionmaker(engine)() as session:
            user = await users_service.create_user(
                session,
                hasher=PasswordHasher.from_settings(settings),
                policy=PasswordPolicy.from_settings(settings),
                email=email,
                password=password,
                full_name=full_name,
                role=Role.ADMIN if admin else Role.USER,
                is_verified=True,
            )
            await session.commit()
            return f"created {user.role} {user.email} ({user.id})"

    try:
        print(with_engine(settings, create))
    except AppError as exc:
        raise fail(f"error: {exc.detail_message}") from None


def _user_table(users: list[Any], title: str) -> Table:
    table = Table(title=title)
    for column in ("id", "email", "name", "role", "active", "verified", "created"):
        table.add_column(column)
    for user in users:
        table.add_row(
            str(user.id),
            user.email,
            user.full_name or "",
            user.role,
            "yes" if user.is_active else "no",
            "yes" if user.is_verified else "no",
            user.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    return table


@users_app.command("list")
def users_list(
    q: Annotated[str | None, typer.Option(help="Search in email and name.")] = None,
    role: Annotated[Role | None, typer.Option(help="user or admin")] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1, max=100)] = 50,
) -> None:
    """List users, newest first."""
    from gatehouse.core.pagination import PageParams
    from gatehouse.users import service as users_service

    settings = load_settings()

    async def fetch(engine: AsyncEngine) -> tuple[list[Any], int]:
        async with make_sessionmaker(engine)() as session:
            result = await users_service.list_users(
                session, params=PageParams(page=page, page_size=page_size), q=q, role=role
            )
            return list(result.items), result.total

    users, total = with_engine(settings, fetch)
    Console().print(_user_table(users, f"users (page {page}, {len(users)} of {total})"))


def _change_user(email: str, fields: dict[str, Any]) -> str:
    from gatehouse.users import service as users_service

    settings = load_settings()

    async def change(engine: AsyncEngine) -> str:
        async with make_sessionmaker(engine)() as session:
            user = await users_service.find_user_by_email(session, email=email)
            if user is None:
                raise UserNotFound(f"no user with email {email}")
            user = await users_service.admin_update_user(
                session, user=user, fields=fields, actor_id=None, origin=None
            )
            return f"{user.email}: role {user.role}, {'active' if user.is_active else 'inactive'}"

    try:
        return with_engine(settings, change)
    except AppError as exc:
        raise fail(f"error: {exc.detail_message}") from None


@users_app.command("set-role")
def users_set_role(
    email: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help="user or admin")],
) -> None:
    """Give a user the role `user` or `admin` (the last active admin cannot be demoted)."""
    if role not in set(Role):
        raise fail(f"error: role must be {' or '.join(Role)}", code=2)
    print(_change_user(email, {"role": Role(role)}))


@users_app.command("deactivate")
def users_deactivate(email: Annotated[str, typer.Argument()]) -> None:
    """Deactivate a user: their sessions end and they can no longer log in."""
    print(_change_user(email, {"is_active": False}))


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Deliver what is due, then exit.")] = False,
) -> None:
    """Deliver the mail outbox (run several; each message goes out once).

    Set MAIL_WORKER_ENABLED=false on the service processes when you run this.
    """
    from gatehouse.mail.backends import make_backend
    from gatehouse.mail.worker import MailWorker

    settings = load_settings()

    async def deliver(engine: AsyncEngine) -> None:
        mail_worker = MailWorker(
            sessionmaker=make_sessionmaker(engine),
            backend=make_backend(settings),
            settings=settings,
        )
        if once:
            while await mail_worker.run_once():
                pass
            return
        await mail_worker.run_forever()

    with contextlib.suppress(KeyboardInterrupt):
        with_engine(settings, deliver)


@mail_app.command("status")
def mail_status() -> None:
    """Counts of pending, sent and failed messages."""
    from gatehouse.mail import service as mail_service

    settings = load_settings()

    async def count(engine: AsyncEngine) -> mail_service.OutboxStatus:
        async with make_sessionmaker(engine)() as session:
            return await mail_service.status(session)

    result = with_engine(settings, count)
    table = Table(title="mail outbox")
    for column in ("pending", "sent", "failed"):
        table.add_column(column, justify="right")
    table.add_row(str(result.pending), str(result.sent), str(result.failed))
    Console().print(table)


@mail_app.command("retry")
def mail_retry() -> None:
    """Queue every failed message again, with fresh attempts."""
    from gatehouse.mail import service as mail_service

    settings = load_settings()

    async def retry(engine: AsyncEngine) -> int:
        async with make_sessionmaker(engine)() as session:
            return await mail_service.retry_failed(session)

    print(f"re-queued {with_engine(settings, retry)} failed message(s)")


@audit_app.command("tail")
def audit_tail(
    lines: Annotated[int, typer.Option("-n", "--lines", min=1, max=100)] = 20,
    kind: Annotated[str | None, typer.Option(help="Only events of this kind.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events.")
    ] = False,
) -> None:
    """Print the latest audit events, oldest first (and new ones as they come, with -f)."""
    from gatehouse.audit import service as audit_service
    from gatehouse.core.pagination import PageParams

    settings = load_settings()

    async def tail(engine: AsyncEngine) -> None:
        seen: set[Any] = set()
        sessionmaker = make_sessionmaker(engine)
        while True:
            async with sessionmaker() as session:
                page = await audit_service.list_events(
                    session, params=PageParams(page=1, page_size=lines), kind=kind
                )
            for event in reversed(page.items):
                if event.id in seen:
                    continue
                seen.add(event.id)
                print(
                    f"{event.created_at:%Y-%m-%d %H:%M:%S} {event.kind:<26} "
                    f"user={event.user_id or '-'} ip={event.ip or '-'} {event.details}"
                )
            if not follow:
                return
            await asyncio.sleep(1.0)

    with contextlib.suppress(KeyboardInterrupt):
        with_engine(settings, tail)


@app.command("mcp")
def mcp_server(
    user: Annotated[
        str, typer.Option("--user", help="The email of the user whose tasks to serve.")
    ],
) -> None:
    """Serve the task tools over MCP (stdio) as one user, for desktop assistants."""
    from gatehouse.chat.mcp_server import serve_stdio
    from gatehouse.users import service as users_service

    settings = load_settings()

    async def serve(engine: AsyncEngine) -> None:
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as session:
            account = await users_service.find_user_by_email(session, email=user)
        if account is None or not account.is_active:
            raise fail(f"error: no active user with email {user}")
        await serve_stdio(sessionmaker, account.id)

    with contextlib.suppress(KeyboardInterrupt):
        with_engine(settings, serve)


@config_app.command("show")
def config_show(
    file: Annotated[Path | None, typer.Argument(help="A JSON, YAML, INI or TOML file.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="json, yaml, ini or toml")] = None,
) -> None:
    """Show a configuration file as JSON, or (without FILE) the service's effective
    settings with secrets masked."""
    from gatehouse.devtools.config import ConfigError, load_config

    if file is None:
        settings = load_settings()
        shown = {
            name: ("********" if value is not None and "Secret" in type(value).__name__ else value)
            for name, value in settings.model_dump(mode="python").items()
        }
        print(json.dumps(shown, indent=2, default=str))
        return
    try:
        data = load_config(file, fmt)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise fail(f"error: {exc}") from None
    print(json.dumps(data, indent=2, default=str))


@deps_app.command("check")
def deps_check(
    file: Annotated[Path, typer.Argument(help="requirements.txt or pyproject.toml")] = Path(
        "pyproject.toml"
    ),
    outdated: Annotated[
        bool, typer.Option("--outdated", help="Ask the index for newer versions.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check requirements against the installed packages; exit 1 on any problem."""
    from gatehouse.devtools.deps import analyze, render_table_rows

    report = analyze(file, outdated=outdated)
    if as_json:
        print(report.to_json())
    else:
        table = Table(title=f"dependencies of {file}")
        for column in ("name", "wants", "installed", "state", "latest", "from"):
            table.add_column(column)
        for row in render_table_rows(report):
            table.add_row(*row)
        console = Console()
        console.print(table)
        for name, places in report.duplicates.items():
            console.print(f"duplicate: {name}: {'; '.join(places)}")
        for name, places in report.conflicts.items():
            console.print(f"[red]conflict[/red]: {name}: {'; '.join(places)}")
        for line in report.errors + report.notes:
            console.print(line)
    if not report.ok:
        raise typer.Exit(1)


@feature_app.command("new")
def feature_new(
    name: Annotated[str, typer.Argument(help="The domain's name, e.g. notes.")],
    dep: Annotated[
        list[str] | None, typer.Option("--dep", help="A dependency to add (repeatable).")
    ] = None,
    root: Annotated[Path, typer.Option(help="The project's root.")] = Path(),
) -> None:
    """Write a new domain package (models, schemas, service, router, migration, tests)."""
    from gatehouse.devtools.scaffold import ScaffoldError, new_feature

    try:
        result = new_feature(root.resolve(), name, dep or [])
    except ScaffoldError as exc:
        raise fail(f"error: {exc}") from None
    for path in result.files:
        print(f"wrote {path.relative_to(root.resolve())}")
    for requirement in result.dependencies:
        print(f"added dependency {requirement}")
    print(f"registered {name} in src/gatehouse/routers.py and src/gatehouse/models.py")


@app.command("fib")
def fib(n: Annotated[int, typer.Argument(min=0, help="Which Fibonacci number.")]) -> None:
    """Print the n-th Fibonacci number (exact)."""
    from gatehouse.devtools.fib import fibonacci

    sys.set_int_max_str_digits(0)  # F(n) for large n has more digits than the default limit
    print(fibonacci(n))


def main() -> None:
    # stderr: stdout belongs to command output (and to the protocol, for `gatehouse mcp`).
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    app()
