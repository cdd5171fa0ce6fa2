"""Real server processes on loopback, stopped by their PID."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start `gatehouse serve` with some environment (on `port`, or a free one); returns its
    base URL."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(port: int | None = None, **env: str) -> str:
        port = port or free_port()
        log = (tmp_path / f"server-{port}.log").open("wb")
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
            ],
            cwd=tmp_path,
            env={**os.environ, "ARGON2_MEMORY_COST_KIB": "1024", "ARGON2_TIME_COST": "1", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        base_url = f"http://127.0.0.1:{port}"
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

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
