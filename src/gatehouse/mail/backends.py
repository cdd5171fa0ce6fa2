"""Ways a message leaves: the log (development), .eml files, or SMTP."""

from __future__ import annotations

import logging
import os
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import anyio
import anyio.to_thread

from gatehouse.core.config import Settings

logger = logging.getLogger(__name__)


class MailBackend(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Deliver or raise; a raise means the worker tries again later."""


class ConsoleBackend:
    """Development: print the message (links included) to the log."""

    async def send(self, message: EmailMessage) -> None:
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        logger.info("mail to %s: %s\n%s", message["To"], message["Subject"], text)


class FileBackend:
    """One .eml file per message in a directory, readable by the service's user alone.

    The messages hold live reset and verification links, so each file is written 0600;
    the directory, when the backend creates it, is 0700. An existing directory keeps its
    mode (it may be shared, such as /tmp): the files in it are private either way.
    """

    FILE_MODE = 0o600
    DIRECTORY_MODE = 0o700

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _write(self, message: EmailMessage) -> None:
        self.directory.mkdir(mode=self.DIRECTORY_MODE, parents=True, exist_ok=True)
        name = str(message["Message-ID"]).strip("<>").replace("@", "_").replace("/", "_")
        path = self.directory / f"{name}.eml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, self.FILE_MODE)
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), self.FILE_MODE)  # a file that was there keeps no wider mode
            handle.write(bytes(message))

    async def send(self, message: EmailMessage) -> None:
        await anyio.to_thread.run_sync(self._write, message)


class SmtpBackend:
    """aiosmtplib, with no TLS, STARTTLS or implicit TLS, and optional login."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        import aiosmtplib  # deferred: only the SMTP backend sends with it

        settings = self.settings
        await aiosmtplib.send(
            message,
            hostname=settings.SMTP_HOST,
            port=settings.SMTP_PORT,
            username=settings.SMTP_USER,
            password=settings.SMTP_PASSWORD.get_secret_value() if settings.SMTP_PASSWORD else None,
            use_tls=settings.SMTP_TLS == "tls",
            start_tls=settings.SMTP_TLS == "starttls",
            timeout=settings.SMTP_TIMEOUT_SECONDS,
        )


def make_backend(settings: Settings) -> MailBackend:
    if settings.EMAIL_BACKEND == "smtp":
        return SmtpBackend(settings)
    if settings.EMAIL_BACKEND == "file":
        return FileBackend(settings.EMAIL_FILE_DIR)
    return ConsoleBackend()
