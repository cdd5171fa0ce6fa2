"""The authenticated request and login of Gatehouse beside a bare FastAPI endpoint and
fastapi-users 15, measured in one run with wrk (issue 13's table).

Each server runs alone, pinned to one core (`taskset`, SERVER_CORE), as one uvicorn worker
with uvloop and httptools; wrk runs on the other core (LOAD_CORE), `-t2 -c64`. Servers:

- bare: FastAPI decoding an HS256 JWT only (bench/bare_app.py);
- fastapi-users: its documented SQLAlchemy example (bench/peers/), SQLite, in a
  virtualenv of its own built from bench/requirements-peers.txt under .bench/peers;
- Gatehouse on SQLite (a fresh file) and on PostgreSQL (a database of its own, created on
  --postgres-url's server and dropped after), rate limits off.

Printed: GET current user req/s and p99, login req/s beside the hashing ceiling (cores
given / seconds per verify, measured on the server's core in the same run, with the
server's own parameters), the /users/me p99 while 16 logins run beside its idle p99, and
the ratios of the targets. All servers are started first; each run then measures them in
turn (so a change in the machine's load between runs touches every row alike), and each
figure is the median of --runs runs.

Usage: `python bench/auth.py [--seconds 10] [--runs 2] [--no-postgres] [--no-peers]`.
Needs wrk (`apt-get install wrk`) and two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS_VENV = ROOT / ".bench" / "peers"
SERVER_CORE, LOAD_CORE = "0", "1"
ASYNCIO_ROW = "Gatehouse (SQLite), `serve --loop asyncio`"
PASSWORD = "bench password that is long enough"
EMAIL = "bench@example.com"
SECRET = "bench-secret-key-0123456789-0123456789"
UVICORN = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body or None, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback http
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


@dataclass
class Load:
    rps: float
    p99_ms: float
    errors: int


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    port: int,
    path: str,
    *,
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
    cores: str = LOAD_CORE,
) -> Load:
    command = ["taskset", "-c", cores, "wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s"]
    command += ["--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    timeouts = re.search(r"timeout (\d+)", output)
    return Load(
        rps=rps,
        p99_ms=float(p99.group(1)) * _UNIT_MS[p99.group(2)] if p99 else float("nan"),
        errors=(int(errors.group(1)) if errors else 0)
        + (int(timeouts.group(1)) if timeouts else 0),
    )


def lua_post(workdir: Path, name: str, body: str, content_type: str) -> Path:
    path = workdir / f"{name}.lua"
    path.write_text(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
        f'wrk.headers["Content-Type"] = "{content_type}"\n'
    )
    return path


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    me_path: str
    login_path: str
    login_script: Path
    verify_command: list[str]  # prints the seconds one password verification takes
    cwd: Path = ROOT
    ready_path: str = "/docs"  # answers 200 once the server is up
    extra: dict[str, float] = field(default_factory=dict)
    # Adding a task (Gatehouse): the wrk script of the API's POST and of the chat's.
    task_script: Path | None = None
    chat_script: Path | None = None


@contextmanager
def serving(
    server: Server, port: int, log: Path, *, cores: str = SERVER_CORE, extra: tuple[str, ...] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    started = time.perf_counter()
    process = subprocess.Popen(
        ["taskset", "-c", cores, *server.command, "--port", str(port), *extra],  # noqa: S607
        cwd=server.cwd,
        env={**os.environ, **server.env},
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if call(port, "GET", server.ready_path)[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{server.name} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.02)  # the resolution of start_s (bench/startup.py)
        server.extra["start_s"] = time.perf_counter() - started
        rss = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{process.pid}/status").read_text())
        server.extra["rss_mb"] = int(rss.group(1)) / 1024 if rss else float("nan")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def gatehouse(name: str, database_url: str, workdir: Path) -> Server:
    env = {
        "ENVIRONMENT": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "RATE_LIMIT_ENABLED": "false",
        "TASKS_MAX_PER_USER": "10000000",  # the task and chat loads add that many
    }
    subprocess.run(
        [sys.executable, "-m", "gatehouse", "db", "upgrade"],
        cwd=workdir,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    verify = (
        "import time,statistics\n"
        "from gatehouse.core.config import Settings\n"
        "from gatehouse.core.security import PasswordHasher\n"
        f"h=PasswordHasher.from_settings(Settings(_env_file=None,SECRET_KEY='{SECRET}'))\n"
        f"s=h.hash_sync('{PASSWORD}');t=[]\n"
        "for _ in range(30):\n"
        f" a=time.perf_counter();h.verify_and_update_sync('{PASSWORD}',s);t.append(time.perf_counter()-a)\n"
        "print(statistics.median(t))\n"
    )
    return Server(
        name=name,
        command=[sys.executable, "-m", "gatehouse", "serve"],
        env=env,
        cwd=workdir,
        ready_path="/health",
        me_path="/api/v1/users/me",
        login_path="/api/v1/auth/login",
        login_script=lua_post(
            workdir,
            "login-" + re.sub(r"[^a-z]+", "-", name.lower()),
            json.dumps({"email": EMAIL, "password": PASSWORD}),
            "application/json",
        ),
        verify_command=[sys.executable, "-c", verify],
        task_script=lua_post(
            workdir, "add-task", json.dumps({"title": "buy milk"}), "application/json"
        ),
        chat_script=lua_post(
            workdir,
            "chat-add-task",
            json.dumps({"message": "add a task to buy milk"}),
            "application/json",
        ),
    )


def gatehouse_token(port: int) -> str:
    body = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()
    headers = {"Content-Type": "application/json"}
    status, _ = call(port, "POST", "/api/v1/auth/register", body, headers)
    assert status == 201, status
    return gatehouse_login(port)


def gatehouse_login(port: int) -> str:
    body = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()
    headers = {"Content-Type": "application/json"}
    status, answer = call(port, "POST", "/api/v1/auth/login", body, headers)
    assert status == 200, status
    return str(json.loads(answer)["access_token"])


def peer_token(port: int) -> str:
    body = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()
    status, _ = call(port, "POST", "/auth/register", body, {"Content-Type": "application/json"})
    assert status == 201, status
    form = f"username={EMAIL}&password={PASSWORD.replace(' ', '+')}".encode()
    status, answer = call(
        port, "POST", "/auth/jwt/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200, status
    return str(json.loads(answer)["access_token"])


def bare_token(_port: int) -> str:
    import jwt

    return jwt.encode({"sub": "00000000-0000-4000-8000-000000000000"}, SECRET, algorithm="HS256")


def ensure_peers_venv() -> Path:
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        print("building the fastapi-users virtualenv in .bench/peers ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "-r",
                ROOT / "bench/requirements-peers.txt",
            ],
            check=True,
        )
    return python


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"gatehouse_bench_{os.getpid()}"

    async def admin(statement: str) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Row:
    me: list[Load] = field(default_factory=list)
    login: list[Load] = field(default_factory=list)
    ceiling: list[float] = field(default_factory=list)
    me_idle: list[Load] = field(default_factory=list)
    me_during: list[Load] = field(default_factory=list)
    start_s: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    task_post: list[Load] = field(default_factory=list)
    chat_add: list[Load] = field(default_factory=list)
    one_worker: list[Load] = field(default_factory=list)
    two_workers: list[Load] = field(default_factory=list)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def seconds_per_verify(server: Server) -> float:
    return float(
        subprocess.run(
            ["taskset", "-c", SERVER_CORE, *server.verify_command],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **server.env},
            cwd=server.cwd,
        ).stdout.split()[-1]
    )


def measure(server: Server, row: Row, token: str, port: int, seconds: float) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    row.start_s.append(server.extra["start_s"])
    row.rss_mb.append(server.extra["rss_mb"])
    wrk(port, server.me_path, connections=64, seconds=min(2, seconds), headers=auth)  # warm-up
    row.me.append(wrk(port, server.me_path, connections=64, seconds=seconds, headers=auth))
    if server.login_path:
        before = seconds_per_verify(server)
        row.login.append(
            wrk(
                port, server.login_path, connections=16, seconds=seconds, script=server.login_script
            )
        )
        # One core given; verified just before and just after the logins, on their core.
        row.ceiling.append(2 / (before + seconds_per_verify(server)))
    if server.name == ASYNCIO_ROW:
        return  # the loop's effect on /users/me is the point of this row
    if server.name.startswith("Gatehouse"):
        row.me_idle.append(wrk(port, server.me_path, connections=8, seconds=seconds, headers=auth))
        logins = subprocess.Popen(
            [
                *("taskset", "-c", LOAD_CORE, "wrk", "-t1", "-c16", f"-d{int(seconds) + 2}s"),
                *("-s", str(server.login_script), f"http://127.0.0.1:{port}{server.login_path}"),
            ],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(1)
        row.me_during.append(
            wrk(port, server.me_path, connections=8, seconds=seconds, headers=auth)
        )
        logins.wait()
        # Adding a task: the API's POST beside the built-in chat ("add a task to ..."), which
        # also stores the conversation's two messages and the tool call.
        for loads, path, script in (
            (row.task_post, "/api/v1/tasks", server.task_script),
            (row.chat_add, "/api/v1/chat", server.chat_script),
        ):
            loads.append(
                wrk(port, path, connections=16, seconds=seconds, headers=auth, script=script)
            )


def measure_workers(server: Server, row: Row, workdir: Path, seconds: float) -> None:
    """`/users/me` with the server given both cores, as one worker and as two (wrk shares
    the cores, the same way in both)."""
    for workers, loads in ((1, row.one_worker), (2, row.two_workers)):
        port = free_port()
        log = workdir / f"workers-{workers}-{port}.log"
        extra = ("--workers", str(workers))
        with serving(server, port, log, cores=f"{SERVER_CORE},{LOAD_CORE}", extra=extra):
            auth = {"Authorization": f"Bearer {gatehouse_login(port)}"}
            both = f"{SERVER_CORE},{LOAD_CORE}"
            wrk(port, server.me_path, connections=64, seconds=2, headers=auth, cores=both)
            loads.append(
                wrk(port, server.me_path, connections=64, seconds=seconds, headers=auth, cores=both)
            )


def fmt(value: float, digits: int = 0) -> str:
    return "-" if value != value else f"{value:.{digits}f}"


def report(rows: dict[str, Row], runs: int, seconds: float) -> None:
    bare = rows["bare FastAPI, decode an HS256 JWT only"]
    bare_rps = median([load.rps for load in bare.me])
    bare_p99 = median([load.p99_ms for load in bare.me])
    print()
    print(
        f"wrk -t2 -c64 -d{seconds:g}s on core {LOAD_CORE}; each server alone on core "
        f"{SERVER_CORE}, one uvicorn worker (uvloop, httptools); median of {runs} run(s)"
    )
    print()
    print(
        "| server | GET current user, req/s | p99 | login req/s | login ÷ hashing ceiling "
        "| /users/me p99 idle -> during 16 logins |"
    )
    print("|---|---|---|---|---|---|")
    for name, row in rows.items():
        rps = median([load.rps for load in row.me])
        p99 = median([load.p99_ms for load in row.me])
        ratio = "" if row is bare else f" ({rps / bare_rps:.2f} x)"
        p99_ratio = "" if row is bare else f" ({p99 / bare_p99:.1f} x)"
        login = median([load.rps for load in row.login])
        ceiling = median(row.ceiling)
        during = ""
        if row.me_idle:
            idle = median([load.p99_ms for load in row.me_idle])
            busy = median([load.p99_ms for load in row.me_during])
            during = f"{idle:.0f} ms -> {busy:.0f} ms ({busy / idle:.1f} x)"
        errors = sum(load.errors for load in row.me + row.login)
        print(
            f"| {name} | {rps:.0f}{ratio} | {p99:.0f} ms{p99_ratio} | {fmt(login, 1)} "
            f"| {fmt(login / ceiling, 2)} (ceiling {fmt(ceiling, 1)}/s) | {during or '-'} |"
            + (f" {errors} errors" if errors else "")
        )
    print()
    for name, row in rows.items():
        if name.startswith("Gatehouse"):
            print(
                f"{name}: start to a 200 on /health (migrated database) {median(row.start_s):.2f} s, "
                f"RSS after start {median(row.rss_mb):.0f} MB"
            )
    print()
    print(
        "| server | POST /api/v1/tasks req/s | chat adds a task, req/s | chat ÷ POST, time "
        "per task | /users/me, 1 worker on 2 cores | 2 workers | 2 ÷ 1 |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        if not row.task_post:
            continue
        post = median([load.rps for load in row.task_post])
        chat = median([load.rps for load in row.chat_add])
        one = median([load.rps for load in row.one_worker])
        two = median([load.rps for load in row.two_workers])
        errors = sum(load.errors for load in row.task_post + row.chat_add + row.two_workers)
        print(
            f"| {name} | {post:.0f} | {chat:.0f} | {post / chat:.2f} x | {fmt(one)} | {fmt(two)} "
            f"| {fmt(two / one, 2)} x |" + (f" {errors} errors" if errors else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server where a database of the bench's own is created, then dropped",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-peers", action="store_true", help="skip fastapi-users")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        raise SystemExit("needs wrk and taskset (apt-get install wrk util-linux)")
    rows: dict[str, Row] = {}
    workdir = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    try:
        with contextlib.ExitStack() as database:
            postgres_url = None
            if not args.no_postgres:
                postgres_url = database.enter_context(postgres_database(args.postgres_url))
            with contextlib.ExitStack() as stack:
                running = [
                    (server, kind, stack.enter_context(started(server, kind, workdir)))
                    for server, kind in servers_of(args, workdir, postgres_url)
                ]
                # Every server is up (idle ones cost nothing); each run measures them in
                # turn, so a change in the machine's load between runs touches every row alike.
                for run in range(args.runs):
                    for server, _kind, (port, token) in running:
                        print(f"run {run + 1}: {server.name} ...", file=sys.stderr)
                        row = rows.setdefault(server.name, Row())
                        measure(server, row, token, port, args.seconds)
            # One and two workers need both cores: measured once the others have stopped.
            gatehouses = [
                server
                for server, kind in servers_of(args, workdir, postgres_url, peers=False)
                if kind == "gatehouse" and server.name != ASYNCIO_ROW
            ]
            for run in range(args.runs):
                for server in gatehouses:
                    print(f"run {run + 1}: {server.name}, 1 and 2 workers ...", file=sys.stderr)
                    measure_workers(server, rows[server.name], workdir, args.seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(rows, args.runs, args.seconds)


def bare_server() -> Server:
    return Server(
        name="bare FastAPI, decode an HS256 JWT only",
        command=[sys.executable, "-m", "uvicorn", "bench.bare_app:app", *UVICORN],
        env={"BARE_SECRET": SECRET},
        me_path="/me",
        login_path="",
        login_script=Path(),
        verify_command=[],
    )


def servers_of(
    args: argparse.Namespace, workdir: Path, postgres_url: str | None, *, peers: bool = True
) -> list[tuple[Server, str]]:
    servers: list[tuple[Server, str]] = []
    servers.append((bare_server(), "bare"))
    if peers and not args.no_peers:
        python = ensure_peers_venv()
        peer = Server(
            name="fastapi-users 15 (its documented SQLAlchemy example)",
            command=[str(python), "-m", "uvicorn", "fastapi_users_app:app", *UVICORN],
            env={
                "PEER_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'peer.db'}",
                "PEER_SECRET": SECRET,
            },
            cwd=ROOT / "bench" / "peers",
            me_path="/users/me",
            login_path="/auth/jwt/login",
            login_script=lua_post(
                workdir,
                "login-peer",
                f"username={EMAIL}&password={PASSWORD.replace(' ', '+')}",
                "application/x-www-form-urlencoded",
            ),
            verify_command=[str(python), "fastapi_users_app.py"],
        )
        servers.append((peer, "peer"))
    servers.append(
        (
            gatehouse(
                "Gatehouse `/api/v1/users/me` (SQLite)",
                f"sqlite+aiosqlite:///{workdir / 'gatehouse.db'}",
                workdir,
            ),
            "gatehouse",
        )
    )
    if peers:  # the same on the asyncio loop: fewer requests per second, a shorter tail
        on_asyncio = gatehouse(
            ASYNCIO_ROW, f"sqlite+aiosqlite:///{workdir / 'gatehouse-asyncio.db'}", workdir
        )
        on_asyncio.command += ["--loop", "asyncio"]
        servers.append((on_asyncio, "gatehouse"))
    if postgres_url is not None:
        servers.append((gatehouse("Gatehouse on PostgreSQL", postgres_url, workdir), "gatehouse"))
    return servers


@contextmanager
def started(server: Server, kind: str, workdir: Path) -> Iterator[tuple[int, str]]:
    port = free_port()
    print(f"starting {server.name} ...", file=sys.stderr)
    with serving(server, port, workdir / f"{kind}-{port}.log"):
        token = {"bare": bare_token, "peer": peer_token, "gatehouse": gatehouse_token}[kind]
        yield port, token(port)


if __name__ == "__main__":
    main()
