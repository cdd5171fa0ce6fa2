"""Auth throughput against a real server, beside the baselines measured in the same run.

Starts `gatehouse serve` (uvicorn, one worker, SQLite, the default OWASP Argon2id
parameters) on a free loopback port and prints:

1. login requests/s beside the ceiling hashing allows (cores / seconds per verify,
   measured here with the same parameters);
2. authenticated `GET /api/v1/users/me` requests/s and p99 beside `GET /health`, a
   bare endpoint of the same app;
3. the `/users/me` p99 while 16 logins run at once (hashing must not stall the loop).

The load comes from a small keep-alive HTTP/1.1 client in this process, on the same
machine, so every figure is a floor. Usage: `python bench/auth.py [--seconds 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PASSWORD = "bench password that is long enough"
EMAIL = "bench@example.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class Connection:
    """One keep-alive HTTP/1.1 connection; enough of the protocol for this bench."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


def http_request(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


LOGIN = http_request(
    "POST",
    "/api/v1/auth/login",
    json.dumps({"email": EMAIL, "password": PASSWORD}).encode(),
    {"Content-Type": "application/json"},
)


async def load(
    port: int, raw: bytes, *, concurrency: int, seconds: float, expect: int = 200
) -> Result:
    result = Result()
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        connection = await Connection.open(port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status, _ = await connection.request(raw)
                if status == expect:
                    result.latencies.append(time.perf_counter() - started)
                else:
                    result.errors += 1
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - started
    return result


def seconds_per_verify(samples: int = 20) -> float:
    from gatehouse.core.config import Settings
    from gatehouse.core.security import PasswordHasher

    settings = Settings(_env_file=None, SECRET_KEY="x" * 40)
    hasher = PasswordHasher.from_settings(settings)
    stored = hasher.hash_sync(PASSWORD)
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        hasher.verify_and_update_sync(PASSWORD, stored)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def start_server(workdir: Path, port: int, database_url: str | None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        "SECRET_KEY": "bench-secret-key-0123456789-0123456789",
        # Measured here: hashing and the request path, not the login limits (5/minute).
        "RATE_LIMIT_ENABLED": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gatehouse", "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "server.log").open("wb"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit((workdir / "server.log").read_text()) from None
            time.sleep(0.2)
    raise SystemExit("server did not start")


async def prepare(port: int) -> str:
    connection = await Connection.open(port)
    register = http_request(
        "POST",
        "/api/v1/auth/register",
        json.dumps({"email": EMAIL, "password": PASSWORD}).encode(),
        {"Content-Type": "application/json"},
    )
    status, _ = await connection.request(register)
    assert status == 201, status
    status, body = await connection.request(LOGIN)
    assert status == 200, status
    connection.close()
    return str(json.loads(body)["access_token"])


async def run(port: int, seconds: float) -> None:
    cores = os.cpu_count() or 1
    per_verify = seconds_per_verify()
    ceiling = cores / per_verify
    token = await prepare(port)
    me = http_request("GET", "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    health = http_request("GET", "/health")

    await load(port, health, concurrency=8, seconds=1)  # warm-up
    await load(port, me, concurrency=8, seconds=1)

    logins = await load(port, LOGIN, concurrency=2 * cores, seconds=seconds)
    bare = await load(port, health, concurrency=16, seconds=seconds)
    authed = await load(port, me, concurrency=16, seconds=seconds)

    me_alone = await load(port, me, concurrency=4, seconds=seconds)
    me_during, logins_during = await asyncio.gather(
        load(port, me, concurrency=4, seconds=seconds),
        load(port, LOGIN, concurrency=16, seconds=seconds),
    )

    print(f"machine: {cores} cores; Argon2id m=19456 KiB, t=2, p=1; server: 1 uvicorn worker")
    print()
    print("1. login")
    print(f"   seconds per verify (same parameters, this run): {per_verify * 1000:8.1f} ms")
    print(f"   hashing ceiling (cores / s per verify):         {ceiling:8.1f} logins/s")
    print(
        f"   measured POST /login ({2 * cores} concurrent):          {logins.rps:8.1f} logins/s "
        f"({logins.rps / ceiling:.0%} of ceiling, {logins.errors} errors)"
    )
    print()
    print("2. authenticated request vs bare endpoint (16 concurrent)")
    print(
        f"   GET /health        {bare.rps:8.0f} req/s   p50 {bare.percentile(0.5):6.2f} ms   "
        f"p99 {bare.percentile(0.99):6.2f} ms"
    )
    print(
        f"   GET /users/me      {authed.rps:8.0f} req/s   p50 {authed.percentile(0.5):6.2f} ms   "
        f"p99 {authed.percentile(0.99):6.2f} ms   ({authed.rps / bare.rps:.0%} of bare)"
    )
    print()
    print("3. /users/me while 16 logins run at once (4 concurrent /users/me)")
    print(
        f"   alone              {me_alone.rps:8.0f} req/s   p99 {me_alone.percentile(0.99):6.2f} ms"
    )
    print(
        f"   during logins      {me_during.rps:8.0f} req/s   p99 {me_during.percentile(0.99):6.2f} ms"
        f"   (logins meanwhile: {logins_during.rps:.1f}/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--database-url", help="an EMPTY database to use instead of a fresh SQLite file"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    port = free_port()
    server = start_server(workdir, port, args.database_url)
    try:
        asyncio.run(run(port, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
