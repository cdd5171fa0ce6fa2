"""Passkeys in a real browser: Debian's Chromium with JavaScript on and its virtual
authenticator (DevTools protocol `WebAuthn` domain: CTAP2, internal transport, resident
keys, user verification), against `gatehouse serve` on http://localhost:<port> (an IP
address cannot be a relying party id). A passkey is added on /account, the user signs
out, and signs in again with the passkey alone.

Skipped (with the reason) when Chromium is missing, like tests/pages/test_browser.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.helpers import PASSWORD, unique_email
from tests.servers import free_port

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 10_000

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)",
    ),
    pytest.mark.timeout(90),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def base_url(start_server: Callable[..., str], tmp_path: Path) -> str:
    port = free_port()
    url = f"http://localhost:{port}"
    start_server(
        port=port,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'passkeys.db'}",
        ENVIRONMENT="development",
        PUBLIC_URL=url,
    )
    return url


def test_add_a_passkey_on_the_account_page_then_sign_in_with_it(
    browser: Browser, base_url: str
) -> None:
    email = unique_email("browser-passkey")
    with httpx.Client(base_url=base_url, timeout=10) as client:
        created = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert created.status_code == 201, created.text

    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )["authenticatorId"]

    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.goto("/account")
    passkeys = page.locator("#passkeys")
    expect(passkeys).to_contain_text("You have no passkeys yet.")
    passkeys.get_by_label("Passkey name (optional)").fill("Test laptop")
    passkeys.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("Your passkey is added.")).to_be_visible()
    item = passkeys.locator("li.passkey")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Test laptop")
    expect(item).to_contain_text("not used yet")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(stored["credentials"]) == 1
    assert stored["credentials"][0]["isResidentCredential"] is True
    assert stored["credentials"][0]["rpId"] == "localhost"

    page.get_by_role("button", name="Sign out", exact=True).first.click()
    page.goto("/account")
    expect(page).to_have_url(f"{base_url}/login?next=%2Faccount")

    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(f"{base_url}/account")
    expect(page.locator("#passkeys li.passkey")).to_contain_text("last used")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert stored["credentials"][0]["signCount"] >= 1

    # Delete it: the list is empty again, and the passkey no longer signs in.
    page.locator("#passkeys").get_by_role("button", name="Delete passkey Test laptop").click()
    expect(page.get_by_text("That passkey is deleted.")).to_be_visible()
    expect(page.locator("#passkeys")).to_contain_text("You have no passkeys yet.")
    page.get_by_role("button", name="Sign out", exact=True).first.click()
    page.goto("/login")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("alert")).to_contain_text("That passkey did not sign you in.")
    expect(page).to_have_url(f"{base_url}/login")
    context.close()
