"""Soak: mixed traffic at a fixed rate for N minutes against `gatehouse serve --workers 2` on
PostgreSQL + Redis (run on demand; not part of CI).

Creates a database of its own on the server of `--database-url` (default: the local
`postgresql+asyncpg://postgres@127.0.0.1:5432/test`) and uses a key prefix of its own on
`--redis-url`; both are removed at the end. Traffic, open loop at `--rate` requests/s from
a pool of users: logins, refreshes, task create/get/patch/list/delete and chat messages.
The limits stay on (counted in Redis), raised so the pool's traffic is not refused.

Every 10 s it samples the RSS and open file descriptors of the two worker processes.
Prints, per minute: requests, 5xx, other failures, p50/p99, RSS and fds; then whether
the last minute's RSS, fds and p99 are within 10% of the second minute's. Exit status 1
when any request got a 5xx or no answer.

    .venv/bin/python bench/soak.py --minutes 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from gatehouse import migrate

PASSWORD = "soak password that is long enough"
USERS = 40
SAMPLE_SECONDS = 10.0
FLAT_WITHIN = 0.10
# name -> weight of each operation in the mix
MIX: dict[str, int] = {
    "login": 6,
    "refresh": 8,
    "task_create": 20,
    "task_get": 18,
    "task_patch": 14,
    "task_list": 14,
    "task_delete": 10,
    "me": 5,
    "chat": 5,
}
CHAT_MESSAGES = ("add a task called soak check tomorrow", "list my tasks", "show my open tasks")


@dataclass
class User:
    email: str
    access: str = ""
    refresh: str = ""
    tasks: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


@dataclass
class Minute:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    no_answer: int = 0
    rss: list[int] = field(default_factory=list)  # summed over the workers, per sample
    fds: list[int] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def migrate_database(url: str) -> None:
    engine = create_async_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


def workers_of(parent: int) -> list[int]:
    """The worker processes uvicorn spawned (children of the supervisor, from /proc)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"multiprocessing" in cmdline and b"spawn_main" in cmdline:
            children.append(int(entry))
    return sorted(children)


def rss_and_fds(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kib = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")
    return rss_kib * 1024, len(os.listdir(f"/proc/{pid}/fd"))


class Soak:
    def __init__(self, base_url: str, rate: float, seconds: float, server_pid: int) -> None:
        self.base_url = base_url
        self.rate = rate
        self.seconds = seconds
        self.server_pid = server_pid
        self.minutes: dict[int, Minute] = defaultdict(Minute)
        self.idle: asyncio.Queue[User] = asyncio.Queue()
        self.started = 0.0
        self.client = httpx.AsyncClient(
            base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=64)
        )
        self.random = random.Random(1)

    def minute(self) -> Minute:
        """The minute under way (a request counts in the minute it was sent in)."""
        return self.minutes[int((time.monotonic() - self.started) // 60)]

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        began, minute = time.monotonic(), self.minute()
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.TransportError:
            minute.no_answer += 1
            return None
        minute.latencies.append(time.monotonic() - began)
        minute.statuses[response.status_code] += 1
        return response

    async def log_in(self, user: User) -> None:
        response = await self.call(
            "POST", "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
        )
        if response is not None and response.status_code == 200:
            body = response.json()
            user.access, user.refresh = body["access_token"], body["refresh_token"]

    async def operate(self, name: str, user: User) -> None:
        if name == "login" or not user.access:
            await self.log_in(user)
        elif name == "refresh":
            response = await self.call(
                "POST", "/api/v1/auth/refresh", json={"refresh_token": user.refresh}
            )
            if response is not None and response.status_code == 200:
                body = response.json()
                user.access, user.refresh = body["access_token"], body["refresh_token"]
        elif name == "task_create" or not user.tasks:
            response = await self.call(
                "POST",
                "/api/v1/tasks",
                json={"title": f"soak {uuid.uuid4().hex[:8]}", "priority": "high"},
                headers=user.headers,
            )
            if response is not None and response.status_code == 201:
                user.tasks.append(response.json()["id"])
        elif name == "task_get":
            await self.call("GET", f"/api/v1/tasks/{user.tasks[-1]}", headers=user.headers)
        elif name == "task_patch":
            await self.call(
                "PATCH",
                f"/api/v1/tasks/{self.random.choice(user.tasks)}",
                json={"completed": True},
                headers=user.headers,
            )
        elif name == "task_list":
            await self.call("GET", "/api/v1/tasks", headers=user.headers)
        elif name == "task_delete":
            task = user.tasks.pop(0)
            await self.call("DELETE", f"/api/v1/tasks/{task}", headers=user.headers)
        elif name == "me":
            await self.call("GET", "/api/v1/users/me", headers=user.headers)
        else:
            await self.call(
                "POST",
                "/api/v1/chat",
                json={"message": self.random.choice(CHAT_MESSAGES)},
                headers=user.headers,
            )

    async def one(self, name: str) -> None:
        user = await self.idle.get()  # one request at a time per user: refresh rotates
        try:
            await self.operate(name, user)
        finally:
            self.idle.put_nowait(user)

    async def prepare(self) -> None:
        for _ in range(USERS):
            user = User(email=f"soak-{uuid.uuid4().hex[:10]}@example.com")
            response = await self.client.post(
                "/api/v1/auth/register", json={"email": user.email, "password": PASSWORD}
            )
            if response.status_code != 201:
                raise SystemExit(f"register: {response.status_code} {response.text}")
            self.idle.put_nowait(user)

    async def sample(self) -> None:
        while True:
            rss = fds = 0
            for pid in workers_of(self.server_pid):
                with_rss, with_fds = rss_and_fds(pid)
                rss, fds = rss + with_rss, fds + with_fds
            minute = self.minute()
            minute.rss.append(rss)
            minute.fds.append(fds)
            await asyncio.sleep(SAMPLE_SECONDS)

    async def run(self) -> None:
        await self.prepare()
        names, weights = list(MIX), list(MIX.values())
        self.started = time.monotonic()
        sampler = asyncio.create_task(self.sample())
        pending: set[asyncio.Task[None]] = set()
        interval, sent = 1.0 / self.rate, 0
        while (elapsed := time.monotonic() - self.started) < self.seconds:
            due = int(elapsed / interval) + 1
            for _ in range(due - sent):
                task = asyncio.create_task(self.one(self.random.choices(names, weights)[0]))
                pending.add(task)
                task.add_done_callback(pending.discard)
            sent = due
            await asyncio.sleep(interval)
        sampler.cancel()  # before the last answers, which may come after the last minute
        await asyncio.gather(*pending)
        await self.client.aclose()


def report(soak: Soak, rate: float) -> int:
    minutes = [soak.minutes[index] for index in sorted(soak.minutes)]
    print(f"soak: {len(minutes)} min at {rate:g} req/s, `gatehouse serve --workers 2`, "
          "PostgreSQL + Redis")  # fmt: skip
    print(f"{'min':>3} {'requests':>8} {'5xx':>4} {'no ans':>6} {'4xx':>5} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'RSS MiB':>8} {'fds':>4}")  # fmt: skip
    for index, minute in enumerate(minutes, start=1):
        client_errors = sum(n for status, n in minute.statuses.items() if 400 <= status < 500)
        rss = statistics.mean(minute.rss) / 2**20 if minute.rss else 0.0
        fds = statistics.mean(minute.fds) if minute.fds else 0.0
        print(f"{index:>3} {len(minute.latencies):>8} {minute.server_errors:>4} "
              f"{minute.no_answer:>6} {client_errors:>5} {minute.percentile(0.5):>7.1f} "
              f"{minute.percentile(0.99):>7.1f} {rss:>8.1f} {fds:>4.0f}")  # fmt: skip
    failures = sum(m.server_errors + m.no_answer for m in minutes)
    print(f"5xx or no answer: {failures}")
    if len(minutes) < 3:
        print("last minute vs second: needs a run of 3 minutes or more")
    else:
        second, last = minutes[1], minutes[-1]
        pairs = {
            "RSS": (statistics.mean(second.rss or [0]), statistics.mean(last.rss or [0])),
            "fds": (statistics.mean(second.fds or [0]), statistics.mean(last.fds or [0])),
            "p99": (second.percentile(0.99), last.percentile(0.99)),
        }
        for name, (then, now) in pairs.items():
            change = (now - then) / then if then else 0.0
            verdict = "within" if abs(change) <= FLAT_WITHIN else "NOT within"
            print(f"last minute vs second, {name}: {change:+.1%} ({verdict} 10%)")
    return 1 if failures else 0


def start_server(env: dict[str, str], workdir: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gatehouse", "serve", "--port", str(port), "--workers", "2"],
        cwd=workdir,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "server.log").open("wb"),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit((workdir / "server.log").read_text())
        try:
            ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200
            if ready and len(workers_of(process.pid)) == 2:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    name = f"gatehouse_soak_{uuid.uuid4().hex[:8]}"
    server_url = make_url(args.database_url)
    database_url = server_url.set(database=name).render_as_string(hide_password=False)
    prefix = f"soak-{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(args.database_url, f'CREATE DATABASE "{name}"'))
    process: subprocess.Popen[bytes] | None = None
    try:
        asyncio.run(migrate_database(database_url))
        env = {
            "ENVIRONMENT": "development",
            "DATABASE_URL": database_url,
            "REDIS_URL": args.redis_url,
            "REDIS_KEY_PREFIX": prefix,
            "SECRET_KEY": "soak-secret-key-0123456789-0123456789",
            "MAIL_WORKER_ENABLED": "false",
            # Counted in Redis, but high enough for the pool's traffic from one address.
            "RATE_LIMIT_LOGIN": "60/minute",
            "RATE_LIMIT_LOGIN_IP": "100000/minute",
            "RATE_LIMIT_REGISTER": "100000/minute",
            "RATE_LIMIT_DEFAULT": "100000/minute",
        }
        port = free_port()
        with tempfile.TemporaryDirectory() as workdir:
            process = start_server(env, Path(workdir), port)
            soak = Soak(f"http://127.0.0.1:{port}", args.rate, args.minutes * 60, process.pid)
            asyncio.run(soak.run())
            status = report(soak, args.rate)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    finally:
        if process is not None and process.poll() is None:
            process.kill()
        asyncio.run(admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        store = redis.Redis.from_url(args.redis_url)
        keys = list(store.scan_iter(f"{prefix}:*"))
        if keys:
            store.delete(*keys)
        store.close()
    raise SystemExit(status)


if __name__ == "__main__":
    main()
