"""The account page's "Second factor" section through HTTP: set up with the password, the
QR code (decoded) and the key, a first code computed by pyotp, the recovery codes shown
once, turn off, new recovery codes, and the errors beside the fields."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pyotp
import pytest
import segno
from fastapi import FastAPI

from gatehouse.auth.throttle import ThrottlePolicy
from tests.helpers import PASSWORD, ManualClock, assert_envelope, running, unique_email
from tests.pages.helpers import HTML, csrf_of, read_page, sign_up, visible_fields
from tests.pages.qr import decode, modules_of, svg_of, without_quiet_zone

LOGIN = "/api/v1/auth/login"
CODE_PATTERN = re.compile(r"<code>([0-9a-z]{4}(?:-[0-9a-z]{4}){3})</code>")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def page_client(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app_factory({"clock": clock})) as client:
        yield client


def code_at(secret: str, clock: ManualClock, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now().timestamp() + 30 * steps)


def wrong_code(secret: str, clock: ManualClock) -> str:
    near = {code_at(secret, clock, steps) for steps in (-1, 0, 1)}
    return next(code for code in ("111111", "222222", "333333") if code not in near)


async def post(
    client: httpx.AsyncClient, action: str, data: dict[str, str], page: httpx.Response | None = None
) -> httpx.Response:
    """POST an account form with the CSRF token of `page` (the account page by default)."""
    page = page or await client.get("/account", headers=HTML)
    return await client.post(action, data={"csrf_token": csrf_of(page), **data}, headers=HTML)


def secret_of(page: httpx.Response) -> str:
    match = re.search(r'<code class="secret" id="totp-secret">([A-Z2-7]+)</code>', page.text)
    assert match, page.text
    return match.group(1)


def recovery_codes_of(page: httpx.Response) -> list[str]:
    return CODE_PATTERN.findall(page.text)


async def enrol(client: httpx.AsyncClient, clock: ManualClock) -> tuple[str, list[str]]:
    """Set up and turn on TOTP through the pages: the secret and the recovery codes. The
    clock then moves one step on, so the confirming code's step is in the past."""
    setup = await post(client, "/account/mfa/setup", {"password": PASSWORD})
    assert setup.status_code == 200, setup.text
    secret = secret_of(setup)
    done = await post(client, "/account/mfa/confirm", {"code": code_at(secret, clock)}, setup)
    assert done.status_code == 200, done.text
    clock.advance(30)
    return secret, recovery_codes_of(done)


async def mfa_required(client: httpx.AsyncClient, email: str) -> bool:
    response = await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    """Whether a login with the password asks for the second factor (else it succeeds)."""
    if response.status_code == 200:
        return False
    assert_envelope(response, 401, "MFA_REQUIRED")
    return True


async def test_setting_up_shows_a_qr_code_of_the_otpauth_uri_then_the_codes_once(
    page_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    email = unique_email("mfa-page")
    await sign_up(page_client, email, PASSWORD)
    account = await page_client.get("/account", headers=HTML)
    assert "Second factor" in account.text
    assert 'action="/account/mfa/setup"' in account.text
    assert 'action="/account/mfa/disable"' not in account.text

    empty = await post(page_client, "/account/mfa/setup", {"password": ""})
    assert empty.status_code == 422
    assert "Enter your password." in read_page(empty.text).errors
    assert 'id="mfa-setup-password" name="password" type="password"' in empty.text
    assert 'aria-describedby="mfa-setup-password-error"' in empty.text
    wrong = await post(page_client, "/account/mfa/setup", {"password": "not the password"})
    assert wrong.status_code == 400
    assert "The password is incorrect." in read_page(wrong.text).errors

    setup = await post(page_client, "/account/mfa/setup", {"password": PASSWORD})
    assert setup.status_code == 200, setup.text
    assert setup.headers["cache-control"] == "no-store"
    assert "<script" not in setup.text
    assert "style=" not in setup.text
    secret = secret_of(setup)
    assert visible_fields(read_page(setup.text)) == {"code": "Code"}
    assert "Turn on" in read_page(setup.text).buttons
    # The QR code is the otpauth URI of the key shown beside it, read by a QR decoder...
    svg = svg_of(setup.text)
    modules = modules_of(svg)
    [uri] = decode(modules)
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == f"/Gatehouse:{email}"
    assert parse_qs(parts.query) == {"secret": [secret], "issuer": ["Gatehouse"]}
    # ... and module for module the QR code segno makes of that URI.
    expected = segno.make_qr(uri, error="m")
    assert without_quiet_zone(modules) == [[bool(cell) for cell in row] for row in expected.matrix]
    assert not await mfa_required(page_client, email)  # not on before a code

    missing = await post(page_client, "/account/mfa/confirm", {"code": ""}, setup)
    assert missing.status_code == 422
    assert "Enter the code your authenticator app shows." in read_page(missing.text).errors
    bad = await post(
        page_client, "/account/mfa/confirm", {"code": wrong_code(secret, clock)}, setup
    )
    assert bad.status_code == 401
    assert "The code is incorrect or was used already." in read_page(bad.text).errors
    assert secret_of(bad) == secret  # the same setup, shown again beside the error
    assert decode(modules_of(svg_of(bad.text))) == [uri]

    done = await post(page_client, "/account/mfa/confirm", {"code": code_at(secret, clock)}, bad)
    assert done.status_code == 200, done.text
    assert done.headers["cache-control"] == "no-store"
    codes = recovery_codes_of(done)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert "shown only now" in done.text
    assert await mfa_required(page_client, email)

    # Sending the form again (a reload) does not show codes again.
    again = await post(page_client, "/account/mfa/confirm", {"code": code_at(secret, clock)}, bad)
    assert again.status_code == 409
    assert recovery_codes_of(again) == []
    account = await page_client.get("/account", headers=HTML)
    assert recovery_codes_of(account) == []
    assert not any(code in account.text for code in codes)
    assert secret not in account.text
    assert 'action="/account/mfa/setup"' not in account.text
    assert {"Turn off", "New recovery codes"} <= set(read_page(account.text).buttons)
    on_already = await post(page_client, "/account/mfa/setup", {"password": PASSWORD})
    assert on_already.status_code == 409
    assert "The second factor is on already." in on_already.text


async def test_confirming_without_a_setup_asks_to_start_again(
    page_client: httpx.AsyncClient,
) -> None:
    await sign_up(page_client, unique_email("mfa-page"), PASSWORD)
    response = await post(page_client, "/account/mfa/confirm", {"code": "123456"})
    assert response.status_code == 409
    assert "Start again with your password." in response.text


async def test_turning_off_takes_the_password_and_a_code(
    page_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    email = unique_email("mfa-page")
    await sign_up(page_client, email, PASSWORD)
    secret, codes = await enrol(page_client, clock)
    action = "/account/mfa/disable"

    missing = await post(page_client, action, {"password": "", "code": ""})
    assert missing.status_code == 422
    assert read_page(missing.text).errors == [
        "Enter your password.",
        "Enter a code from your authenticator app, or a recovery code.",
    ]
    assert 'aria-describedby="mfa-disable-code-error"' in missing.text
    wrong_password = await post(
        page_client, action, {"password": "not it", "code": code_at(secret, clock)}
    )
    assert wrong_password.status_code == 400
    assert read_page(wrong_password.text).errors == ["The password is incorrect."]
    wrong = await post(
        page_client, action, {"password": PASSWORD, "code": wrong_code(secret, clock)}
    )
    assert wrong.status_code == 401
    assert read_page(wrong.text).errors == ["The code is incorrect or was used already."]
    assert 'aria-describedby="mfa-disable-code-error"' in wrong.text
    assert await mfa_required(page_client, email)

    off = await post(page_client, action, {"password": PASSWORD, "code": codes[0]})
    assert off.status_code == 303
    assert off.headers["location"] == "/account?notice=mfa-off"
    account = await page_client.get(off.headers["location"], headers=HTML)
    assert "The second factor is off." in account.text
    assert 'action="/account/mfa/setup"' in account.text
    assert not await mfa_required(page_client, email)
    gone = await post(page_client, action, {"password": PASSWORD, "code": code_at(secret, clock)})
    assert gone.status_code == 409
    assert "The second factor is off already." in gone.text


async def test_new_recovery_codes_are_shown_once_and_replace_the_old_ones(
    page_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    email = unique_email("mfa-page")
    await sign_up(page_client, email, PASSWORD)
    secret, old_codes = await enrol(page_client, clock)
    action = "/account/mfa/recovery-codes"

    wrong = await post(
        page_client, action, {"password": PASSWORD, "code": wrong_code(secret, clock)}
    )
    assert wrong.status_code == 401
    assert recovery_codes_of(wrong) == []
    missing = await post(page_client, action, {"password": PASSWORD, "code": " "})
    assert missing.status_code == 422
    assert 'aria-describedby="mfa-codes-code-error"' in missing.text

    fresh = await post(page_client, action, {"password": PASSWORD, "code": code_at(secret, clock)})
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["cache-control"] == "no-store"
    new_codes = recovery_codes_of(fresh)
    assert len(new_codes) == 10
    assert not set(new_codes) & set(old_codes)
    assert "no longer work" in fresh.text
    account = await page_client.get("/account", headers=HTML)
    assert not any(code in account.text for code in new_codes)

    # The old set is void, the new one works (here to turn the second factor off).
    disable = "/account/mfa/disable"
    old = await post(page_client, disable, {"password": PASSWORD, "code": old_codes[1]})
    assert old.status_code == 401
    assert (
        await post(page_client, disable, {"password": PASSWORD, "code": new_codes[0]})
    ).status_code == 303


async def test_the_forms_need_a_session_and_its_csrf_token(
    page_client: httpx.AsyncClient, clock: ManualClock
) -> None:
    for action in (
        "/account/mfa/setup",
        "/account/mfa/confirm",
        "/account/mfa/disable",
        "/account/mfa/recovery-codes",
    ):
        visitor = await page_client.post(action, data={"password": PASSWORD}, headers=HTML)
        assert visitor.status_code == 303
        assert visitor.headers["location"] == "/login?next=%2Faccount"
    await sign_up(page_client, unique_email("mfa-page"), PASSWORD)
    for action in ("/account/mfa/setup", "/account/mfa/confirm"):
        forged = await page_client.post(
            action, data={"csrf_token": "forged", "password": PASSWORD}, headers=HTML
        )
        assert forged.status_code == 403
        assert "Form refused" in forged.text
    secret, _ = await enrol(page_client, clock)
    forged = await page_client.post(
        "/account/mfa/disable",
        data={"password": PASSWORD, "code": code_at(secret, clock)},
        headers=HTML,
    )
    assert forged.status_code == 403


async def test_wrong_codes_feed_the_login_throttle_shown_on_the_form(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    app = app_factory(
        {"clock": clock, "throttle_policy": ThrottlePolicy(free_failures=1)},
        RATE_LIMIT_ENABLED=True,
    )
    async with running(app) as client:
        await sign_up(client, unique_email("mfa-page"), PASSWORD)
        setup = await post(client, "/account/mfa/setup", {"password": PASSWORD})
        secret = secret_of(setup)
        wrong = await post(
            client, "/account/mfa/confirm", {"code": wrong_code(secret, clock)}, setup
        )
        assert wrong.status_code == 401
        waiting = await post(
            client, "/account/mfa/confirm", {"code": code_at(secret, clock)}, setup
        )
        assert waiting.status_code == 429
        assert "Too many attempts. Try again in" in waiting.text
        assert secret_of(waiting) == secret
        # Starting a setup again checks the password, which waits out the throttle too.
        turn_on_throttled = await post(client, "/account/mfa/setup", {"password": PASSWORD})
        assert turn_on_throttled.status_code == 429
        assert "Too many attempts" in turn_on_throttled.text


async def test_turning_off_waits_out_the_login_throttle_shown_on_the_form(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    app = app_factory(
        {"clock": clock, "throttle_policy": ThrottlePolicy(free_failures=1)},
        RATE_LIMIT_ENABLED=True,
    )
    async with running(app) as client:
        await sign_up(client, unique_email("mfa-page"), PASSWORD)
        secret, codes = await enrol(client, clock)
        action = "/account/mfa/disable"
        wrong = await post(
            client, action, {"password": PASSWORD, "code": wrong_code(secret, clock)}
        )
        assert wrong.status_code == 401
        waiting = await post(client, action, {"password": PASSWORD, "code": codes[0]})
        assert waiting.status_code == 429
        assert "Too many attempts. Try again in" in read_page(waiting.text).errors[0]
        assert 'action="/account/mfa/disable"' in waiting.text


async def test_a_setup_sealed_under_another_key_asks_to_start_again(
    app_factory: Callable[..., FastAPI], clock: ManualClock
) -> None:
    async with running(app_factory({"clock": clock})) as before:
        await sign_up(before, unique_email("mfa-page"), PASSWORD)
        setup = await post(before, "/account/mfa/setup", {"password": PASSWORD})
        secret = secret_of(setup)
        cookies = before.cookies
    # The same database, now with an MFA_ENCRYPTION_KEY: the pending secret does not open.
    rekeyed = app_factory({"clock": clock}, MFA_ENCRYPTION_KEY="a-new-mfa-key-0123456789abcdefghij")
    async with running(rekeyed) as after:
        after.cookies = cookies
        response = await post(after, "/account/mfa/confirm", {"code": code_at(secret, clock)})
        assert response.status_code == 409
        assert "Start again with your password." in response.text
        assert secret not in response.text
