"""`gatehouse users ...`: user accounts, as an operator."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.table import Table

from gatehouse.cli.common import fail, load_settings, open_database
from gatehouse.core.errors import AppError
from gatehouse.users.exceptions import UserNotFound
from gatehouse.users.models import Role

users_app = typer.Typer(no_args_is_help=True, help="Manage user accounts.")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The account's email.")],
    password: Annotated[
        str | None, typer.Option(help="Prompted for (hidden) when not given.")
    ] = None,
    full_name: Annotated[str | None, typer.Option()] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Give the admin role.")] = False,
    invite: Annotated[
        bool,
        typer.Option(
            "--invite", help="No password: mail the user a link to choose one (needs mail set up)."
        ),
    ] = False,
) -> None:
    """Create a user (verified, since an operator vouches for it), or with --invite one
    without a password, invited by mail (verified once the link is used)."""
    from gatehouse.auth import invitations
    from gatehouse.core.security import PasswordHasher
    from gatehouse.users.passwords import PasswordPolicy

    settings = load_settings()
    if invite and password is not None:
        raise fail("error: --invite and --password exclude each other")
    if password is None and not invite:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def create() -> str:
        async with open_database(settings) as database, database.session() as db:
            user = await invitations.create_user(
                db,
                settings=settings,
                hasher=PasswordHasher.from_settings(settings),
                policy=PasswordPolicy.from_settings(settings),
                email=email,
                password=password,
                full_name=full_name,
                role=Role.ADMIN if admin else Role.USER,
                is_verified=not invite,
                by="cli",
                origin=None,
            )
            invited = ", invitation queued for mail" if invite else ""
            return f"created {user.role} {user.email} ({user.id}){invited}"

    try:
        print(asyncio.run(create()))
    except AppError as exc:
        raise fail(f"error: {exc.detail_message}") from None


def _user_table(users: list[Any], title: str) -> Table:
    from rich.table import Table  # deferred: `gatehouse serve` does not need rich

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

    async def fetch() -> tuple[list[Any], int]:
        async with open_database() as database, database.session() as db:
            result = await users_service.list_users(
                db, params=PageParams(page=page, page_size=page_size), q=q, role=role
            )
            return list(result.items), result.total

    users, total = asyncio.run(fetch())
    from rich.console import Console  # deferred, as in _user_table

    Console().print(_user_table(users, f"users (page {page}, {len(users)} of {total})"))


def _change_user(email: str, fields: dict[str, Any]) -> str:
    from gatehouse.users import service as users_service

    async def change() -> str:
        async with open_database() as database, database.session() as db:
            user = await users_service.find_user_by_email(db, email=email)
            if user is None:
                raise UserNotFound(f"no user with email {email}")
            user = await users_service.admin_update_user(
                db, user=user, fields=fields, actor_id=None, origin=None
            )
            return f"{user.email}: role {user.role}, {'active' if user.is_active else 'inactive'}"

    try:
        return asyncio.run(change())
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
