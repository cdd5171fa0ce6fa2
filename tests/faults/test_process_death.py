"""The service process dies (SIGKILL) or is asked to stop (SIGTERM): nothing it
acknowledged is lost, nothing in flight is cut off, no mail goes out twice."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from gatehouse import migrate
from gatehouse.main import create_app
from tests.conftest import make_settings
from tests.faults.processes import Service, gatehouse, report, serve, services
from tests.helpers import PASSWORD, register, running, unique_email
from tests.smtp import Inbox, SmtpServer

__all__ = ["services"]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SECRET = "faults-process-secret-key-0123456789abcdef"
WRITERS = 4
KILL_AFTER_WRITES = 60
GRACEFUL_TIMEOUT_SECONDS = 30  # `gatehouse serve --graceful-timeout`'s default
MAILS = 6
LOGINS = 6


def _established(port: int) -> int:
    """How many TCP connections to `port` are established on the server's side (a closed
    one, in CLOSE_WAIT or gone, does not count, however late the server sees it close)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            count += local_port == port and fields[3] == "01"  # 01: ESTABLISHED
    return count


def _sqlite_env(tmp_path: Path, name: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / name}",
        "SECRET_KEY": SECRET,
        "RATE_LIMIT_ENABLED": "false",
    }
    gatehouse("db", "upgrade", env=env, cwd=tmp_path)
    return env


def _bearer(base_url: str) -> dict[str, str]:
    credentials = {"email": unique_email("fault"), "password": PASSWORD}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        assert client.post("/api/v1/auth/register", json=credentials).status_code == 201
        token = client.post("/api/v1/auth/login", json=credentials).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_sigkill_during_a_burst_of_writes_loses_no_acknowledged_task(
    services: list[Service], tmp_path: Path
) -> None:
    env = _sqlite_env(tmp_path, "kill.db")
    service, base_url = serve(env, tmp_path)
    services.append(service)
    headers = _bearer(base_url)
    acknowledged: list[str] = []
    lock = threading.Lock()

    def write(writer: int) -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
            for n in range(10_000):
                try:
                    response = client.post("/api/v1/tasks", json={"title": f"w{writer}-{n}"})
                except httpx.TransportError:
                    return  # the process is gone
                assert response.status_code == 201, response.text
                with lock:
                    acknowledged.append(response.json()["id"])

    writers = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in writers:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < KILL_AFTER_WRITES and time.monotonic() < deadline:
        time.sleep(0.01)
    service.process.send_signal(signal.SIGKILL)
    assert service.wait(timeout=10) == -signal.SIGKILL
    for thread in writers:
        thread.join(timeout=30)
    assert len(acknowledged) >= KILL_AFTER_WRITES

    with sqlite3.connect(tmp_path / "kill.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {uuid.UUID(row[0]).hex for row in db.execute("SELECT id FROM tasks")}
    assert {uuid.UUID(task_id).hex for task_id in acknowledged} <= stored

    restarted, base_url = serve(env, tmp_path)
    services.append(restarted)
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
        for task_id in acknowledged:
            assert client.get(f"/api/v1/tasks/{task_id}").status_code == 200, task_id
        assert client.post("/api/v1/tasks", json={"title": "after"}).status_code == 201
    report("SIGKILL", {"acknowledged": len(acknowledged), "stored": len(stored)})


def test_sigterm_lets_the_requests_in_flight_finish_and_exits_zero(
    services: list[Service], tmp_path: Path
) -> None:
    # Logins that hash for a while (Argon2 at a real cost) are the requests in flight.
    env = {
        **_sqlite_env(tmp_path, "term.db"),
        # About half a second a hash, so the logins stay in flight for seconds even when a
        # busy machine (the suite runs in two workers) is slow to see their connections.
        "ARGON2_MEMORY_COST_KIB": "65536",
        "ARGON2_TIME_COST": "10",
        # One hashing thread: the logins queue for it, so all are in flight at once.
        "HASHING_THREADS": "1",
    }
    service, base_url = serve(env, tmp_path)
    services.append(service)
    credentials = {"email": unique_email("term"), "password": PASSWORD}
    with httpx.Client(base_url=base_url, timeout=60) as client:
        assert client.post("/api/v1/auth/register", json=credentials).status_code == 201
    answers: list[tuple[int, float]] = []
    ready = threading.Barrier(LOGINS)

    def log_in() -> None:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            ready.wait(timeout=30)  # every client is built before any login is sent
            response = client.post("/api/v1/auth/login", json=credentials)
            answers.append((response.status_code, time.monotonic()))

    port = httpx.URL(base_url).port or 80
    in_flight = [threading.Thread(target=log_in) for _ in range(LOGINS)]
    for thread in in_flight:
        thread.start()
    # Signal once the service has accepted every connection (a connection still in the
    # listen queue at SIGTERM is refused, as it should be, but it was never in flight).
    deadline = time.monotonic() + 30
    while _established(port) < LOGINS:
        assert time.monotonic() < deadline, service.output()
        time.sleep(0.01)
    time.sleep(0.1)  # and has read their requests
    signalled = time.monotonic()
    service.process.send_signal(signal.SIGTERM)
    assert service.wait(timeout=GRACEFUL_TIMEOUT_SECONDS + 10) == 0, service.output()
    exited = time.monotonic() - signalled
    for thread in in_flight:
        thread.join(timeout=10)
    assert [status for status, _ in answers] == [200] * LOGINS, service.output()
    after = sum(answered > signalled for _, answered in answers)
    assert after > 0  # some were still being answered when the signal came
    report("SIGTERM serve", {"exit 0 after": exited, "logins answered after": after})


class SlowInbox(Inbox):
    """An SMTP server that takes its time over each message."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.4)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.inbox = SlowInbox()
    server.start()
    yield server
    server.stop()


async def _queue_mail(database_url: str, count: int) -> list[str]:
    """`count` registrations on the migrated database: one verification mail each."""
    engine = create_async_engine(database_url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    async with running(create_app(make_settings(database_url))) as client:
        return [(await register(client))["email"] for _ in range(count)]


def _outbox(path: Path) -> tuple[int, int, int]:
    """Sent, unsent and still-claimed unsent messages."""
    with sqlite3.connect(path) as db:
        sent, unsent, claimed = db.execute(
            "SELECT count(sent_at), count(*) - count(sent_at),"
            " count(CASE WHEN sent_at IS NULL THEN claimed_until END) FROM mail_outbox"
        ).fetchone()
    return int(sent), int(unsent), int(claimed)


def test_sigterm_stops_the_mail_worker_between_messages_and_none_is_sent_twice(
    services: list[Service], slow_smtp: SmtpServer, tmp_path: Path
) -> None:
    database = tmp_path / "mail.db"
    database_url = f"sqlite+aiosqlite:///{database}"
    recipients = asyncio.run(_queue_mail(database_url, MAILS))
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(slow_smtp.port),
        "MAIL_POLL_SECONDS": "0.2",
    }
    worker = Service(["worker"], env, tmp_path, "worker")
    services.append(worker)
    deadline = time.monotonic() + 60
    while not slow_smtp.inbox.messages:
        assert time.monotonic() < deadline, worker.output()
        assert worker.process.poll() is None, worker.output()
        time.sleep(0.05)
    signalled = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=10) == 0, worker.output()
    exited = time.monotonic() - signalled
    delivered = len(slow_smtp.inbox.messages)
    sent, unsent, claimed = _outbox(database)
    assert delivered < MAILS  # it stopped between messages, not after the whole batch
    assert (sent, unsent, claimed) == (delivered, MAILS - delivered, 0)  # the rest given back

    gatehouse("worker", "--once", env=env, cwd=tmp_path)
    received = sorted(str(message["To"]) for message in slow_smtp.inbox.messages)
    assert received == sorted(recipients)  # each exactly once
    assert _outbox(database) == (MAILS, 0, 0)
    report("SIGTERM worker", {"exit 0 after": exited, "sent before": delivered})
