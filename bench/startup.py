"""How long Gatehouse takes to start and how much memory one worker holds, beside a bare
FastAPI app, measured in one run (issue 13: start to a 200 on /health <= 1.5 s, one
worker's RSS after start <= 120 MB).

Each server is started the way bench/auth.py starts it (`serving`: pinned to one core with
`taskset`, as one uvicorn worker with uvloop and httptools on 127.0.0.1 and a free port,
polled every 20 ms until it answers 200, then stopped by its PID). Servers:

- bare: FastAPI decoding an HS256 JWT only (bench/bare_app.py), ready on /docs;
- Gatehouse: `gatehouse serve` on a SQLite file migrated beforehand (`gatehouse db
  upgrade`, not timed), ready on /health.

Printed for each: start to the first 200 (from spawning the process) and RSS right after
(VmRSS of /proc/PID/status), each the median of --runs runs, taken in turn.

Usage: `python bench/startup.py [--runs 5]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as `python bench/startup.py`

from bench.auth import SERVER_CORE, Server, bare_server, free_port, gatehouse, serving  # noqa: E402


def measure(server: Server, log: Path, start_s: list[float], rss_mb: list[float]) -> None:
    """Start the server, wait for its first 200, read its RSS, stop it."""
    with serving(server, free_port(), log):
        start_s.append(server.extra["start_s"])
        rss_mb.append(server.extra["rss_mb"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="median of this many starts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gatehouse-startup-") as tmp:
        workdir = Path(tmp)
        bare = bare_server()
        bare.name = "bare FastAPI (bench/bare_app.py)"
        servers = [
            bare,
            gatehouse(
                "Gatehouse (gatehouse serve, SQLite)",
                f"sqlite+aiosqlite:///{workdir / 'startup.db'}",
                workdir,
            ),
        ]
        figures: dict[str, tuple[list[float], list[float]]] = {s.name: ([], []) for s in servers}
        for _ in range(args.runs):
            for server in servers:
                measure(server, workdir / "server.log", *figures[server.name])
    print(f"median of {args.runs} runs, server pinned to core {SERVER_CORE}")
    print(f"{'server':<40} {'start to 200 (s)':>17} {'RSS after start (MB)':>21}")
    for name, (start_s, rss_mb) in figures.items():
        start = statistics.median(start_s)
        rss = statistics.median(rss_mb)
        print(f"{name:<40} {start:>17.2f} {rss:>21.1f}")


if __name__ == "__main__":
    main()
