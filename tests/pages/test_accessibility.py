"""Every page in a real browser under axe-core (bundled by `axe-playwright-python`, so it
runs offline): no serious or critical violation, in light and dark mode, with and without
form errors on the page; and at 360 px wide no page scrolls sideways.

One server serves every check. A new page is one more line in PAGES (or FORMS_WITH_ERRORS).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.helpers import PASSWORD
from tests.pages.browsing import (
    chromium,
    enrol_totp,
    needs_chromium,
    new_page,
    register,
    serve,
    sign_in,
)

Who = Literal["visitor", "user", "admin", "mfa"]  # mfa: a user with TOTP on
ADMIN_EMAIL = "a11y-admin@example.com"
USER_EMAIL = "a11y-user@example.com"
MFA_EMAIL = "a11y-mfa@example.com"
BLOCKING = ("serious", "critical")
NARROW = 360
WIDE = 1280

# (who looks, path): every page, as a visitor, a user or an admin sees it.
PAGES: list[tuple[Who, str]] = [
    ("visitor", "/"),
    ("visitor", "/signup"),
    ("visitor", "/login"),
    ("visitor", "/forgot-password"),
    ("visitor", "/reset-password?token=x"),
    ("visitor", "/verify?token=x"),
    ("visitor", "/reset-password"),  # a link without its token
    ("user", "/"),
    ("user", "/account"),
    ("user", "/tasks"),
    ("user", "/chat"),
    ("user", "/admin/users"),  # the 403 page
    ("admin", "/"),
    ("admin", "/account"),
    ("admin", "/admin/users"),
    ("mfa", "/account"),  # the second factor on: "Turn off", "New recovery codes"
]


@dataclass(frozen=True)
class FormWithErrors:
    """A form sent so that the page comes back with its errors shown."""

    who: Who
    path: str
    button: str
    shows: str  # a piece of the error the page then shows
    fill: dict[str, str] = field(default_factory=dict)  # by label, or by "#id"
    forget_cookies: bool = False  # sent without the form's cookie: the CSRF refusal page
    then: str | None = None  # a button of the page the form answered, pressed next


FORMS_WITH_ERRORS = [
    FormWithErrors(
        "visitor", "/signup", "Create account", "Enter a valid email", {"Email": "not an email"}
    ),
    FormWithErrors(
        "visitor",
        "/login",
        "Sign in",
        "The email or password is incorrect.",
        {"Email": "nobody@example.com", "Password": "wrong"},
    ),
    FormWithErrors(
        "visitor", "/forgot-password", "Send reset link", "Enter a valid email", {"Email": "x"}
    ),
    FormWithErrors(
        "visitor",
        "/reset-password?token=x",
        "Set password",
        "The two passwords are not the same.",
        {"New password": "one long passphrase", "Confirm password": "another one"},
    ),
    FormWithErrors("user", "/account", "Change password", "Enter your current password."),
    FormWithErrors("user", "/tasks", "Add task", "Enter a title."),
    FormWithErrors("user", "/chat", "Send", "Enter a message."),
    FormWithErrors("user", "/account", "Delete account", "Enter your password."),
    # The only admin may not deactivate themself: the refusal shows beside their row.
    FormWithErrors("admin", f"/admin/users?q={ADMIN_EMAIL}", "Deactivate", "last active admin"),
    FormWithErrors(
        "user", "/account", "Set up", "The password is incorrect.", {"#mfa-setup-password": "x"}
    ),
    FormWithErrors(
        "user",
        "/account",
        "Set up",
        "Enter the code",
        {"#mfa-setup-password": PASSWORD},
        then="Turn on",
    ),
    FormWithErrors("mfa", "/account", "Turn off", "Enter your password."),
    FormWithErrors(
        "visitor",
        "/login",
        "Sign in",
        "Enter the code",
        {"Email": MFA_EMAIL, "Password": PASSWORD},
        then="Verify",
    ),
    FormWithErrors("visitor", "/forgot-password", "Send reset link", "(CSRF)", forget_cookies=True),
]

pytestmark = [needs_chromium, pytest.mark.timeout(300)]


@dataclass
class Site:
    base_url: str
    browser: Browser
    mfa_secret: str
    pages: dict[Who, Page] = field(default_factory=dict)

    def page(self, who: Who) -> Page:
        """One browser page for each kind of visitor, signed in as them."""
        if who not in self.pages:
            page = new_page(self.browser, self.base_url, javascript=True, width=WIDE)
            if who == "mfa":
                sign_in(page, MFA_EMAIL)
                code = pyotp.TOTP(self.mfa_secret).at(time.time() + 30)  # the next step's
                page.get_by_label("Code", exact=True).fill(code)
                page.get_by_role("button", name="Verify").click()
                page.wait_for_url("**/tasks")
            elif who != "visitor":
                sign_in(page, ADMIN_EMAIL if who == "admin" else USER_EMAIL)
                page.wait_for_url("**/tasks")
            self.pages[who] = page
        return self.pages[who]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def site(browser: Browser, start_server: Callable[..., str], tmp_path: Path) -> Site:
    base_url = serve(
        start_server, tmp_path, FIRST_ADMIN_EMAIL=ADMIN_EMAIL, FIRST_ADMIN_PASSWORD=PASSWORD
    )
    register(base_url, USER_EMAIL, full_name="Grace Hopper")
    register(base_url, MFA_EMAIL)
    return Site(base_url, browser, enrol_totp(base_url, MFA_EMAIL))


def blocking_violations(page: Page) -> list[str]:
    """Serious and critical axe violations of the page as shown, light and dark."""
    found: list[str] = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        response: dict[str, Any] = Axe().run(page).response
        found += [
            f"{scheme}: {item['id']} ({item['impact']}) at "
            + ", ".join(str(node["target"]) for node in item["nodes"])
            for item in response["violations"]
            if item["impact"] in BLOCKING
        ]
    page.emulate_media(color_scheme="light")
    return found


def scrolls_sideways(page: Page) -> bool:
    """Whether the page, as shown, is wider than a 360 px wide window."""
    page.set_viewport_size({"width": NARROW, "height": 800})
    try:
        overflow: bool = page.evaluate(
            "() => document.scrollingElement.scrollWidth > document.scrollingElement.clientWidth"
        )
    finally:
        page.set_viewport_size({"width": WIDE, "height": 800})
    return overflow


def check(page: Page, label: str, problems: dict[str, list[str]]) -> None:
    found = blocking_violations(page)
    if scrolls_sideways(page):
        found.append(f"scrolls sideways at {NARROW} px")
    if found:
        problems[label] = found


def test_every_page_passes_axe_and_fits_a_narrow_window(site: Site) -> None:
    problems: dict[str, list[str]] = {}
    for who, path in PAGES:
        page = site.page(who)
        page.goto(path)
        check(page, f"{who} {path}", problems)
    assert problems == {}


def test_pages_with_form_errors_pass_axe_and_fit_a_narrow_window(site: Site) -> None:
    problems: dict[str, list[str]] = {}
    for form in FORMS_WITH_ERRORS:
        page = site.page(form.who)
        page.goto(form.path)
        for label, value in form.fill.items():
            found = (
                page.locator(label)
                if label.startswith("#")
                else page.get_by_label(label, exact=True)
            )
            found.first.fill(value)
        if form.forget_cookies:
            page.context.clear_cookies()
        page.get_by_role("button", name=form.button, exact=True).first.click()
        page.wait_for_load_state()
        if form.then:
            page.get_by_role("button", name=form.then, exact=True).click()
            page.wait_for_load_state()
        expect(page.locator("p.error", has_text=form.shows).first).to_be_visible()
        check(page, f"{form.who} {form.path} after {form.button!r}", problems)
    assert problems == {}
