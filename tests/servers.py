"""Real server processes on loopback, stopped by their PID."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerStarter:
    """`start(port=None, **env)` starts `gatehouse serve` with some environment (on `port`,
    or a free one; `start.with_args(serve_args, ...)` adds options to `serve`) and returns its base URL; `stop(base_url)` stops that one by its PID
    (to restart it on the same port, say). Whatever still runs is stopped at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def __call__(self, port: int | None = None, **env: str) -> str:
        return self.with_args((), port, **env)

    def with_args(self, serve_args: tuple[str, ...], port: int | None = None, **env: str) -> str:
        tmp_path = self.tmp_path
        port = port or free_port()
        log = (tmp_path / f"server-{port}.log").open("ab")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gatehouse",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *serve_args,
            ],
            cwd=tmp_path,
            env={**os.environ, "ARGON2_MEMORY_COST_KIB": "1024", "ARGON2_TIME_COST": "1", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        self.processes[base_url] = process
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / f"server-{port}.log").read_text())
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    return base_url
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self, base_url: str) -> None:
        process = self.processes.pop(base_url)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[ServerStarter]:
    """Start `gatehouse serve` with some environment (on `port`, or a free one); returns its
    base URL. `start_server.stop(url)` stops one early."""
    starter = ServerStarter(tmp_path)
    yield starter
    for base_url in list(starter.processes):
        starter.stop(base_url)
