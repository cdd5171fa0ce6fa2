"""Shared by the browser tests of the admin page and the accessibility checks: Debian's
Chromium through Playwright against a real `gatehouse serve` on a fresh SQLite database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.helpers import PASSWORD
from tests.servers import free_port

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 10_000

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)",
)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def serve(start_server: Callable[..., str], tmp_path: Path, **env: str) -> str:
    """Start the service on `http://localhost:<port>` (the origin its pages expect)."""
    port = free_port()
    base_url = f"http://localhost:{port}"
    start_server(
        port=port,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}",
        ENVIRONMENT="development",
        PUBLIC_URL=base_url,
        **env,
    )
    return base_url


def register(base_url: str, email: str, **extra: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        created = client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD, **extra}
        )
        assert created.status_code == 201, created.text


def new_page(
    browser: Browser, base_url: str, *, javascript: bool = False, width: int = 1280
) -> Page:
    """A page in a fresh context (its own cookies)."""
    context = browser.new_context(
        base_url=base_url,
        java_script_enabled=javascript,
        viewport={"width": width, "height": 800},
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def enrol_totp(base_url: str, email: str) -> str:
    """Turn TOTP on for a registered account through the API; its secret. The code used
    to confirm is the current one: sign in with the next step's (`totp.at(now + 30)`)."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        setup = client.post(
            "/api/v1/auth/mfa/totp/setup", json={"password": PASSWORD}, headers=headers
        )
        assert setup.status_code == 200, setup.text
        secret: str = setup.json()["secret"]
        confirm = client.post(
            "/api/v1/auth/mfa/totp/confirm",
            json={"code": pyotp.TOTP(secret).now()},
            headers=headers,
        )
        assert confirm.status_code == 200, confirm.text
        return secret
