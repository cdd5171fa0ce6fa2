"""The second factor in a real browser (Debian's Chromium, JavaScript off) against
`gatehouse serve`: set up TOTP on /account (the QR code, as the browser draws it, read
by a QR decoder; a first code computed by pyotp), keep the recovery codes, sign out, then
sign in with the password and the code step."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from playwright.sync_api import Browser, expect

from tests.helpers import PASSWORD, unique_email
from tests.pages.browsing import chromium, needs_chromium, new_page, register, serve, sign_in
from tests.pages.qr import decode_png

pytestmark = [needs_chromium, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def base_url(start_server: Callable[..., str], tmp_path: Path) -> str:
    return serve(start_server, tmp_path)


def test_set_up_on_the_account_page_then_sign_in_with_a_code(
    browser: Browser, base_url: str
) -> None:
    email = unique_email("browser-mfa")
    register(base_url, email)
    page = new_page(browser, base_url)
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/tasks$"))

    page.get_by_role("banner").get_by_role("link", name="Account").click()
    section = page.get_by_role("region", name="Second factor")
    section.get_by_label("Password", exact=True).fill(PASSWORD)
    section.get_by_role("button", name="Set up").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Set up a second factor")
    qr = page.get_by_role("img", name="QR code of your authenticator key")
    expect(qr).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    [uri] = decode_png(qr.screenshot())
    query = parse_qs(urlsplit(uri).query)
    assert uri.startswith("otpauth://totp/Gatehouse:")
    assert query == {"secret": [secret], "issuer": ["Gatehouse"]}

    totp = pyotp.TOTP(secret)
    page.get_by_label("Code", exact=True).fill(totp.now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = page.locator("ul.recovery-codes li")
    expect(codes).to_have_count(10)
    page.get_by_role("link", name="Back to your account").click()
    expect(page.locator("ul.recovery-codes")).to_have_count(0)
    expect(section.get_by_role("button", name="Turn off")).to_be_visible()

    page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login\?notice=signed-out$"))
    sign_in(page, email)
    expect(page.get_by_text("This account has a second factor.")).to_be_visible()
    # The code of the next step: the current one was used to turn the second factor on.
    page.get_by_label("Code", exact=True).fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/tasks$"))
    page.get_by_role("banner").get_by_role("link", name="Account").click()
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()
