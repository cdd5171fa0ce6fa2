"""The pages in a real browser: Debian's Chromium driven by Playwright, JavaScript off,
against `gatehouse serve` with a real SMTP sink for the mails.

Skipped (with the reason) when Chromium or Playwright is missing; CI installs Chromium
(`.ci/run`). Each journey is bounded: Playwright waits at most TIMEOUT_MS for a step.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.helpers import PASSWORD, unique_email
from tests.servers import free_port
from tests.smtp import SmtpServer

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 10_000
NEW_PASSWORD = "a different long passphrase"


pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)",
    ),
    pytest.mark.timeout(60),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


class Site:
    """A running service, its SMTP sink, and new browser pages on it."""

    def __init__(self, base_url: str, smtp: SmtpServer, browser: Browser) -> None:
        self.base_url = base_url
        self.smtp = smtp
        self.browser = browser

    def page(self, user_agent: str = "Gatehouse browser test") -> Page:
        """A page in a fresh context (its own cookies), with JavaScript off."""
        context = self.browser.new_context(
            base_url=self.base_url, java_script_enabled=False, user_agent=user_agent
        )
        context.set_default_timeout(TIMEOUT_MS)
        return context.new_page()

    def link(self, to: str, subject: str, path: str) -> str:
        """The `{base}/{path}?token=…` link of the newest mail `to` got with `subject`."""
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            found = [m for m in self.smtp.inbox.to(to) if m["Subject"] == subject]
            if found:
                body = found[-1].get_body(("plain",))
                assert body is not None
                text = body.get_content()
                match = re.search(
                    rf"{re.escape(self.base_url)}/{path}\?token=[A-Za-z0-9_\-]+", text
                )
                assert match, text
                return match.group(0)
            time.sleep(0.1)
        raise AssertionError(f"no mail {subject!r} to {to}")

    def register(self, email: str) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            created = client.post(
                "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
            )
            assert created.status_code == 201, created.text


@pytest.fixture
def site(
    browser: Browser,
    start_server: Callable[..., str],
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> Site:
    port = free_port()
    base_url = f"http://localhost:{port}"
    start_server(
        port=port,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}",
        ENVIRONMENT="development",
        PUBLIC_URL=base_url,
        EMAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_server.port),
        MAIL_POLL_SECONDS="0.2",
    )
    return Site(base_url, smtp_server, browser)


def sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_up_then_confirm_the_email_by_its_link(site: Site) -> None:
    email = unique_email("browser-signup")
    page = site.page()
    page.goto("/")
    page.get_by_role("main").get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/tasks\?notice=welcome$"))
    expect(page.get_by_text("Your account is ready.")).to_be_visible()
    page.get_by_role("banner").get_by_role("link", name="Account").click()
    expect(page.get_by_text("(not confirmed yet)")).to_be_visible()

    page.goto(site.link(email, "Confirm your email address", "verify"))
    page.get_by_role("button", name="Confirm email").click()
    expect(page).to_have_url(re.compile(r"/tasks\?notice=verified$"))
    expect(page.get_by_text("Your email address is confirmed.")).to_be_visible()
    page.goto("/account")
    expect(page.get_by_text("(confirmed)")).to_be_visible()


def test_forgot_password_by_mail_then_sign_in_and_the_link_works_once(site: Site) -> None:
    email = unique_email("browser-reset")
    site.register(email)
    page = site.page()
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_text("a reset link is on its way")).to_be_visible()

    link = site.link(email, "Reset your password", "reset-password")
    page.goto(link)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Confirm password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page).to_have_url(re.compile(r"/login\?notice=password-reset$"))
    assert "token" not in page.url
    sign_in(page, email, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/tasks$"))

    again = site.page()
    again.goto(link)
    again.get_by_label("New password").fill(NEW_PASSWORD)
    again.get_by_label("Confirm password").fill(NEW_PASSWORD)
    again.get_by_role("button", name="Set password").click()
    expect(again.get_by_text("already used")).to_be_visible()
    expect(again.get_by_role("link", name="Ask for a new reset link")).to_have_attribute(
        "href", "/forgot-password"
    )


def test_sign_in_errors_read_the_same_and_next_stays_on_this_site(site: Site) -> None:
    email = unique_email("browser-login")
    site.register(email)
    page = site.page()
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Faccount$"))
    sign_in(page, email, "wrong password")
    wrong = page.locator("p.error").inner_text()
    sign_in(page, unique_email("browser-nobody"), "wrong password")
    assert page.locator("p.error").inner_text() == wrong == "The email or password is incorrect."
    sign_in(page, email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account$"))

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login\?notice=signed-out$"))
    page.goto("/login?next=//evil.example/")
    sign_in(page, email, PASSWORD)
    expect(page).to_have_url(f"{site.base_url}/tasks")


def test_one_browser_signs_the_other_out_from_the_account_page(site: Site) -> None:
    email = unique_email("browser-two")
    site.register(email)
    first, second = site.page("First Browser/1.0"), site.page("Second Browser/2.0")
    for page in (first, second):
        page.goto("/login")
        sign_in(page, email, PASSWORD)
        expect(page).to_have_url(re.compile(r"/tasks$"))

    first.goto("/account")
    other = first.locator("li.session", has_text="Second Browser/2.0")
    expect(first.locator("li.session", has_text="First Browser/1.0")).to_contain_text("This device")
    other.get_by_role("button", name="Sign out").click()
    expect(first.get_by_text("That session is signed out.")).to_be_visible()
    expect(first.locator("li.session", has_text="Second Browser/2.0")).to_have_count(0)

    second.goto("/account")
    expect(second).to_have_url(re.compile(r"/login\?next=%2Faccount$"))
