"""`gatehouse mail ...` (the outbox) and `gatehouse worker` (which delivers it)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Annotated

import typer

from gatehouse.cli.common import load_settings, open_database

mail_app = typer.Typer(no_args_is_help=True, help="The outbox of mail waiting to be sent.")


def worker(
    once: Annotated[bool, typer.Option("--once", help="Deliver what is due, then exit.")] = False,
) -> None:
    """Deliver the mail outbox and run housekeeping (run several; each message goes out
    once, each housekeeping pass runs once across them).

    Housekeeping deletes what retention no longer keeps (RETENTION_*_DAYS) every
    HOUSEKEEPING_INTERVAL_SECONDS. Set MAIL_WORKER_ENABLED=false on the service processes
    when you run this. SIGTERM (or Ctrl-C) stops it between two messages, then it exits 0.
    """
    from gatehouse.mail.backends import make_backend
    from gatehouse.mail.worker import MailWorker
    from gatehouse.ops.housekeeping import Housekeeper

    settings = load_settings()

    async def deliver() -> None:
        async with open_database(settings) as database:
            mail_worker = MailWorker(
                sessionmaker=database.sessionmaker,
                backend=make_backend(settings),
                settings=settings,
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for stop_signal in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(stop_signal, stop.set)
            housekeeper = Housekeeper(sessionmaker=database.sessionmaker, settings=settings)
            if once:
                while not stop.is_set() and await mail_worker.run_once(stop):
                    pass
                if not stop.is_set():
                    await housekeeper.run_once(stop=stop)
                return
            await asyncio.gather(mail_worker.run_forever(stop), housekeeper.run_forever(stop))

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(deliver())


@mail_app.command("status")
def mail_status() -> None:
    """Counts of pending, sent and failed messages."""
    from gatehouse.mail import service as mail_service

    async def count() -> mail_service.OutboxStatus:
        async with open_database() as database, database.session() as db:
            return await mail_service.status(db)

    result = asyncio.run(count())
    from rich.console import Console  # deferred: `gatehouse serve` does not need rich
    from rich.table import Table

    table = Table(title="mail outbox")
    for column in ("pending", "sent", "failed"):
        table.add_column(column, justify="right")
    table.add_row(str(result.pending), str(result.sent), str(result.failed))
    Console().print(table)


@mail_app.command("retry")
def mail_retry() -> None:
    """Queue every failed message again, with fresh attempts."""
    from gatehouse.mail import service as mail_service

    async def retry() -> int:
        async with open_database() as database, database.session() as db:
            return await mail_service.retry_failed(db)

    print(f"re-queued {asyncio.run(retry())} failed message(s)")
