"""How long Gatehouse takes to start and how much memory one worker holds, beside a bare
FastAPI app, measured in one run (issue 13: start to a 200 on /health <= 1.5 s, one
worker's RSS after start <= 120 MB).

Each server is started pinned to one core (`taskset`, SERVER_CORE), as one uvicorn worker
with uvloop and httptools on 127.0.0.1 and a free port, polled every 20 ms until it
answers 200, then stopped by its PID. Servers:

- bare: FastAPI decoding an HS256 JWT only (bench/bare_app.py), ready on /docs;
- Gatehouse: `gatehouse serve` on a SQLite file migrated beforehand (`gatehouse db
  upgrade`, not timed), ready on /health.

Printed for each: start to the first 200 (from spawning the process) and RSS right after
(VmRSS of /proc/PID/status), each the median of --runs runs, taken in turn.

Usage: `python bench/startup.py [--runs 5]`.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER_CORE = "0"
SECRET = "bench-secret-key-0123456789-0123456789"
UVICORN = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status_of(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    ready_path: str
    cwd: Path = ROOT
    start_s: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)


def measure(server: Server, log: Path) -> None:
    """Start the server, wait for its first 200, read its RSS, stop it."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, *server.command, "--port", str(port)],  # noqa: S607
        cwd=server.cwd,
        env={**os.environ, **server.env},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if status_of(port, server.ready_path) == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{server.name} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.02)
        server.start_s.append(time.perf_counter() - started)
        rss = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{process.pid}/status").read_text())
        server.rss_mb.append(int(rss.group(1)) / 1024 if rss else float("nan"))
    finally:
        process.terminate()
        process.wait(timeout=30)


def gatehouse(workdir: Path) -> Server:
    env = {
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'startup.db'}",
        "SECRET_KEY": SECRET,
    }
    subprocess.run(
        [sys.executable, "-m", "gatehouse", "db", "upgrade"],
        cwd=workdir,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    return Server(
        name="Gatehouse (gatehouse serve, SQLite)",
        command=[sys.executable, "-m", "gatehouse", "serve"],
        env=env,
        ready_path="/health",
        cwd=workdir,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="median of this many starts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gatehouse-startup-") as tmp:
        workdir = Path(tmp)
        servers = [
            Server(
                name="bare FastAPI (bench/bare_app.py)",
                command=[sys.executable, "-m", "uvicorn", "bench.bare_app:app", *UVICORN],
                env={},
                ready_path="/docs",
            ),
            gatehouse(workdir),
        ]
        for _ in range(args.runs):
            for server in servers:
                measure(server, workdir / "server.log")
    print(f"median of {args.runs} runs, server pinned to core {SERVER_CORE}")
    print(f"{'server':<40} {'start to 200 (s)':>17} {'RSS after start (MB)':>21}")
    for server in servers:
        start = statistics.median(server.start_s)
        rss = statistics.median(server.rss_mb)
        print(f"{server.name:<40} {start:>17.2f} {rss:>21.1f}")


if __name__ == "__main__":
    main()
