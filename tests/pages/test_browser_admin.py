"""The admin page in a real browser (Debian's Chromium, JavaScript off) against `gatehouse
serve`: an admin deactivates a user, who then cannot sign in; a normal user gets 403."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.helpers import PASSWORD, unique_email
from tests.pages.browsing import chromium, needs_chromium, new_page, register, serve, sign_in

ADMIN_EMAIL = "browser-admin@example.com"

pytestmark = [needs_chromium, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def base_url(start_server: Callable[..., str], tmp_path: Path) -> str:
    return serve(
        start_server, tmp_path, FIRST_ADMIN_EMAIL=ADMIN_EMAIL, FIRST_ADMIN_PASSWORD=PASSWORD
    )


def test_an_admin_deactivates_a_user_who_then_cannot_sign_in(
    browser: Browser, base_url: str
) -> None:
    email = unique_email("browser-target")
    register(base_url, email)
    person = new_page(browser, base_url)
    sign_in(person, email)
    expect(person).to_have_url(re.compile(r"/tasks$"))

    admin = new_page(browser, base_url)
    sign_in(admin, ADMIN_EMAIL)
    admin.get_by_role("banner").get_by_role("link", name="Admin").click()
    expect(admin).to_have_url(re.compile(r"/admin/users$"))
    admin.get_by_label("Search").fill(email)
    admin.get_by_role("button", name="Search").click()
    row = admin.locator("li.user", has_text=email)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Deactivate").click()

    expect(admin.get_by_role("status")).to_have_text(
        "The user is deactivated and their sessions are signed out."
    )
    row = admin.locator("li.user", has_text=email)
    expect(row).to_contain_text("deactivated")
    expect(row.get_by_role("button", name="Activate")).to_be_visible()
    expect(admin.get_by_label("Search")).to_have_value(email)  # back to the same list

    person.goto("/account")  # the session ended with the deactivation
    expect(person).to_have_url(re.compile(r"/login\?next=%2Faccount$"))
    sign_in(person, email)
    expect(person.locator("p.error")).to_have_text("This account is disabled.")


def test_a_normal_user_gets_403_on_the_admin_page(browser: Browser, base_url: str) -> None:
    email = unique_email("browser-normal")
    register(base_url, email)
    page = new_page(browser, base_url)
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/tasks$"))
    expect(page.get_by_role("banner").get_by_role("link", name="Admin")).to_have_count(0)
    response = page.goto("/admin/users")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("This page is for admins only.")).to_be_visible()
