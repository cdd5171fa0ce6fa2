"""`gatehouse serve`: the HTTP service, behind a check of the database schema."""

from __future__ import annotations

import asyncio
import signal
from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gatehouse import migrate
from gatehouse.cli.common import fail, load_settings, open_database
from gatehouse.core.network import is_loopback_host


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


GRACEFUL_TIMEOUT_SECONDS = 30


class EventLoop(StrEnum):
    """The event loop uvicorn runs the service on (docs/performance.md measures both)."""

    UVLOOP = "uvloop"  # the most requests per second
    ASYNCIO = "asyncio"  # about 10% fewer, with a p99 a third of uvloop's at saturation


def _exit_zero_after_sigterm() -> None:
    """uvicorn answers SIGTERM by stopping gracefully, then raises the signal again for the
    handler it found; with Python's default that handler kills the process (status -15)
    after a clean stop. A handler that does nothing lets a requested stop exit 0."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    graceful_timeout: Annotated[
        int,
        typer.Option(
            min=0,
            help="On SIGTERM, seconds to let requests in flight finish before cutting them off.",
        ),
    ] = GRACEFUL_TIMEOUT_SECONDS,
    loop: Annotated[
        EventLoop,
        typer.Option(
            help="Event loop: uvloop for throughput, asyncio for a shorter tail at saturation."
        ),
    ] = EventLoop.UVLOOP,
) -> None:
    """Run the HTTP service with uvicorn (uvloop or asyncio, httptools).

    Refuses an out-of-date database schema, except in development, where it upgrades first.
    Development serves on loopback only: its secret, mail and docs are not for a network.
    SIGTERM stops it gracefully: no new connections, requests in flight finish (within
    --graceful-timeout), the in-process mail worker ends its message, then exit 0.
    """
    import uvicorn

    settings = load_settings()
    if settings.is_development and not is_loopback_host(host):
        raise fail(
            f"refusing to serve on {host} in development: use a loopback host "
            "(127.0.0.1, ::1 or localhost), or set ENVIRONMENT=production",
            code=2,
        )

    async def check_schema() -> str | None:
        async with open_database(settings) as database:
            return await _prepare_schema(database.engine, upgrade=settings.is_development)

    try:
        problem = asyncio.run(check_schema())
    except OSError as exc:
        raise fail(f"database unreachable: {exc}") from None
    if problem:
        raise fail(problem)
    _exit_zero_after_sigterm()
    uvicorn.run(
        "gatehouse.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        timeout_graceful_shutdown=graceful_timeout,
        loop=loop.value,
        http="httptools",
        # uvicorn would trust proxy headers from 127.0.0.1 on its own, and a client could
        # then forge its address. The app reads them itself, from TRUSTED_PROXIES only.
        proxy_headers=False,
        server_header=False,
        log_config=None,  # the app's own logging (JSON in production) takes uvicorn's too
        log_level="info",
    )
