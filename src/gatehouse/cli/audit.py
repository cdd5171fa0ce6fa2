"""`gatehouse audit ...`: the audit trail."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

import typer

from gatehouse.cli.common import open_database

audit_app = typer.Typer(no_args_is_help=True, help="The audit trail.")


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

    async def tail() -> None:
        seen: set[Any] = set()
        async with open_database() as database:
            while True:
                async with database.session() as db:
                    page = await audit_service.list_events(
                        db, params=PageParams(page=1, page_size=lines), kind=kind
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
        asyncio.run(tail())
