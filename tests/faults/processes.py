"""The real processes of the fault tests: a private PostgreSQL cluster and redis-server on
free loopback ports, which a test stops and starts again, and `gatehouse` processes it
signals. Each is stopped by its own pid (pg_ctl reads the cluster's) at the end."""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.servers import free_port

START_TIMEOUT_SECONDS = 30
timings = logging.getLogger("tests.faults.timings")


def report(fault: str, observed: dict[str, float]) -> None:
    """Log what a fault test observed (see it with `-o log_cli=true --log-cli-level=INFO`)."""
    timings.info("%s: %s", fault, {name: round(value, 3) for name, value in observed.items()})


def _postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian's layout), or PATH's."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


POSTGRES_BIN = _postgres_bin()
REDIS_SERVER = shutil.which("redis-server")


def gatehouse(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the `gatehouse` CLI to completion (e.g. `db upgrade`)."""
    return subprocess.run(
        [sys.executable, "-m", "gatehouse", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


class PrivatePostgres:
    """A throwaway cluster (initdb) on a free port. initdb refuses root, so as root the
    cluster belongs to the `postgres` account and its commands run as that user."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="gatehouse-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.owner: str | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no postgres account for initdb")
            if shutil.which("runuser") is None:
                pytest.skip("running as root and there is no runuser to run initdb as postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.owner = owner.pw_name

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if self.owner is not None:
            command = ["runuser", "-u", self.owner, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=START_TIMEOUT_SECONDS * 2)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", str(START_TIMEOUT_SECONDS), "start",
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if POSTGRES_BIN is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    server = PrivatePostgres(POSTGRES_BIN)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.close()


class PrivateRedis:
    """A redis-server of the test's own, in the foreground, stopped by its pid."""

    def __init__(self, executable: str, log: Path) -> None:
        self.executable = executable
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # fmt: off
        command = [
            self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no",
        ]
        # fmt: on
        self.process = subprocess.Popen(
            command,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(self.log.read_text()) from None
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if REDIS_SERVER is None:
        pytest.skip("no redis-server on this machine")
    server = PrivateRedis(REDIS_SERVER, tmp_path / "redis.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()


class Service:
    """One `gatehouse` process (serve or worker) of the test's own, signalled by its pid."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, name: str) -> None:
        self.log = cwd / f"{name}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gatehouse", *args],
            cwd=cwd,
            env={**os.environ, "ARGON2_MEMORY_COST_KIB": "1024", "ARGON2_TIME_COST": "1", **env},
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def serve(env: dict[str, str], cwd: Path, port: int | None = None) -> tuple[Service, str]:
    """Start `gatehouse serve` and wait for /health; returns the process and its base URL."""
    port = port or free_port()
    service = Service(
        ["serve", "--host", "127.0.0.1", "--port", str(port)], env, cwd, f"serve-{port}"
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(service.output())
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return service, base_url
        except httpx.TransportError:
            time.sleep(0.1)
    service.close()
    raise RuntimeError("server did not start")


@pytest.fixture
def services() -> Iterator[list[Service]]:
    """Processes a test starts (append them); any still running at the end are killed."""
    started: list[Service] = []
    yield started
    for service in started:
        service.close()
