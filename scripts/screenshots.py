"""Screenshots of the main pages for the README, taken from a real server.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--chromium PATH]

Starts `gatehouse serve` on loopback with a fresh SQLite database in a temporary folder,
makes sample accounts through the app's own API, then drives Chromium (Debian's
`/usr/bin/chromium` by default, through Playwright) to each page of SHOTS and saves a
1280 x 800 PNG of what the window shows. The server is stopped by its PID at the end.

Another page is one more `Shot(...)` in SHOTS (with `prepare` when the page needs some
clicks first).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

Who = Literal["visitor", "user", "admin"]

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1280, 800
PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "admin@example.com"
USER_EMAIL = "grace@example.com"
# Sample people (email, full name); the last one is deactivated by the admin.
PEOPLE = [
    (USER_EMAIL, "Grace Hopper"),
    ("katherine@example.com", "Katherine Johnson"),
    ("margaret@example.com", "Margaret Hamilton"),
    ("alan@example.com", "Alan Turing"),
    ("edsger@example.com", "Edsger Dijkstra"),
]
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chromium"


@dataclass(frozen=True)
class Shot:
    """One screenshot: `docs/screenshots/<name>.png` of `path` as `who` sees it."""

    name: str
    path: str
    who: Who
    prepare: Callable[[Page], None] | None = None


SHOTS = [
    Shot("home", "/", "visitor"),
    Shot("signup", "/signup", "visitor"),
    Shot("login", "/login", "visitor"),
    Shot("tasks", "/tasks#list-title", "user"),
    Shot("chat", "/chat", "user", prepare=lambda page: _ask_the_assistant(page)),
    Shot("account", "/account", "user"),
    Shot("admin-users", "/admin/users", "admin"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(folder: Path) -> Iterator[str]:
    """`gatehouse serve` on a free loopback port and a database in `folder`."""
    port = _free_port()
    base_url = f"http://localhost:{port}"
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'screenshots.db'}",
        "PUBLIC_URL": base_url,
        "FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
        "FIRST_ADMIN_PASSWORD": PASSWORD,
        "RATE_LIMIT_ENABLED": "false",
        "ARGON2_MEMORY_COST_KIB": "1024",
        "ARGON2_TIME_COST": "1",
    }
    command = [sys.executable, "-m", "gatehouse", "serve", "--host", "127.0.0.1"]
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=folder, env=env, stdout=log, stderr=log
        )
        try:
            _wait_until_up(base_url, process, folder / "server.log")
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start within 60 seconds")


def make_sample_data(base_url: str) -> None:
    """Accounts made through the API, as any client would."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        ids = []
        for email, name in PEOPLE:
            created = client.post(
                "/api/v1/auth/register",
                json={"email": email, "password": PASSWORD, "full_name": name},
            )
            created.raise_for_status()
            ids.append(created.json()["id"])
        tokens = client.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
        )
        tokens.raise_for_status()
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        client.patch(
            f"/api/v1/users/{ids[-1]}", json={"is_active": False}, headers=headers
        ).raise_for_status()
        _add_sample_tasks(client)


SAMPLE_TASKS = [
    ("Renew the passport", "The form is in the top drawer.", "high", "2026-12-04", False),
    ("Book the dentist", None, "medium", "2026-12-11", False),
    ("Water the plants", None, "low", None, True),
    ("Read the Argon2 paper", "Section 3, the memory-hard function.", "low", None, False),
]


def _add_sample_tasks(client: httpx.Client) -> None:
    """The user's tasks, some done, added through the API."""
    tokens = client.post("/api/v1/auth/login", json={"email": USER_EMAIL, "password": PASSWORD})
    tokens.raise_for_status()
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    for title, description, priority, due, done in SAMPLE_TASKS:
        body = {"title": title, "description": description, "priority": priority}
        if due is not None:
            body["due_date"] = due
        created = client.post("/api/v1/tasks", json=body, headers=headers)
        created.raise_for_status()
        if done:
            client.patch(
                f"/api/v1/tasks/{created.json()['id']}", json={"completed": True}, headers=headers
            ).raise_for_status()


def _ask_the_assistant(page: Page) -> None:
    page.get_by_label("Message").fill("add a task to call the bank tomorrow")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**/chat/*")
    # The reply lands scrolled to the newest message; the shot shows the whole exchange.
    page.goto(page.url.split("#")[0] + "#conversation-title")


def _page_for(browser: Browser, base_url: str, who: Who) -> Page:
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": WIDTH, "height": HEIGHT},
        color_scheme="light",
        java_script_enabled=False,  # the pages need none
        user_agent=USER_AGENT,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    if who != "visitor":
        page.goto("/login")
        page.get_by_label("Email").fill(ADMIN_EMAIL if who == "admin" else USER_EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/tasks")
    return page


def take(shots: list[Shot], out: Path, chromium: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with (
        tempfile.TemporaryDirectory(prefix="gatehouse-shots-") as folder,
        running_server(Path(folder)) as base_url,
        sync_playwright() as playwright,
    ):
        make_sample_data(base_url)
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            pages: dict[Who, Page] = {}
            for shot in shots:
                if shot.who not in pages:
                    pages[shot.who] = _page_for(browser, base_url, shot.who)
                page = pages[shot.who]
                page.goto(shot.path)
                if shot.prepare is not None:
                    shot.prepare(page)
                target = out / f"{shot.name}.png"
                page.screenshot(path=str(target), full_page=False)
                saved.append(target)
        finally:
            browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"Chromium not found at {args.chromium} (apt-get install -y chromium)")
        return 2
    for path in take(SHOTS, args.out, args.chromium):
        print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
