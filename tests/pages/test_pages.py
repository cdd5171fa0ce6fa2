"""The HTML pages through HTTP: labels, CSRF, `next`, errors beside fields, headers, and
the reset and verification links."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from gatehouse.web.forms import safe_next
from tests.helpers import PASSWORD, deliver_mail, link_token, running, unique_email
from tests.pages.helpers import (
    HTML,
    csrf_of,
    read_page,
    sign_in,
    sign_up,
    submit,
    visible_fields,
)
from tests.smtp import SmtpServer

NEW_PASSWORD = "a different long passphrase"


def assert_page_headers(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["referrer-policy"] == "same-origin"


async def test_home_page_for_browsers_and_greeting_for_json(client: httpx.AsyncClient) -> None:
    assert (await client.get("/")).json() == {"message": "Bienvenue"}
    home = await client.get("/", headers=HTML)
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert_page_headers(home)
    assert 'href="/login"' in home.text
    assert 'href="/signup"' in home.text
    await sign_up(client, unique_email("home"), PASSWORD)
    signed_in = await client.get("/", headers=HTML)
    assert 'href="/account"' in signed_in.text
    assert 'action="/logout"' in signed_in.text


async def test_the_stylesheet_is_served_by_the_app(client: httpx.AsyncClient) -> None:
    css = await client.get("/static/pages.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "prefers-color-scheme: dark" in css.text
    assert ":focus-visible" in css.text


@pytest.mark.parametrize(
    ("path", "labels", "buttons"),
    [
        ("/signup", ["Email", "Password", "Full name"], ["Create account"]),
        ("/login", ["Email", "Password"], ["Sign in"]),
        ("/forgot-password", ["Email"], ["Send reset link"]),
        ("/reset-password?token=abc", ["New password", "Confirm password"], ["Set password"]),
        ("/verify?token=abc", [], ["Confirm email"]),
    ],
)
async def test_signed_out_pages_label_every_field(
    client: httpx.AsyncClient, path: str, labels: list[str], buttons: list[str]
) -> None:
    response = await client.get(path, headers=HTML)
    assert response.status_code == 200
    assert_page_headers(response)
    page = read_page(response.text)
    assert sorted(visible_fields(page).values()) == sorted(labels)
    assert page.buttons == buttons
    assert "gh_form=" in response.headers.get("set-cookie", "")


async def test_the_account_page_labels_every_field(client: httpx.AsyncClient) -> None:
    await sign_up(client, unique_email("labels"), PASSWORD)
    response = await client.get("/account", headers=HTML)
    assert response.status_code == 200
    assert_page_headers(response)
    page = read_page(response.text)
    assert sorted(visible_fields(page).values()) == sorted(
        [
            "Full name",
            "Email",
            "Current password",
            "Current password",
            "New password",
            "Password",
            "Password",  # the second factor's "Set up"
        ]
    )
    for action in (
        "Save name",
        "Change email",
        "Change password",
        "Sign out",
        "Sign out everywhere",
        "Send verification email",
        "Delete account",
        "Set up",
    ):
        assert action in page.buttons


async def test_signup_signs_in_and_lands_on_the_tasks(
    app_factory: Callable[..., FastAPI], smtp_server: SmtpServer
) -> None:
    app = app_factory(EMAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
    email = unique_email("signup")
    async with running(app) as client:
        created = await submit(
            client,
            "/signup",
            "/signup",
            {"email": email, "password": PASSWORD, "full_name": "Ada Lovelace"},
        )
        assert created.status_code == 303
        assert created.headers["location"] == "/tasks?notice=welcome"
        assert "session_id=" in created.headers["set-cookie"]
        landing = await client.get(created.headers["location"], headers=HTML)
        assert "Your account is ready." in landing.text
        account = await client.get("/account", headers=HTML)
        assert email in account.text
        assert "Ada Lovelace" in account.text
        assert "not confirmed yet" in account.text

        await deliver_mail(app)
        (mail,) = smtp_server.inbox.to(email)
        token = link_token(mail, "verify")
        scanned = await client.get(f"/verify?token={token}", headers=HTML)  # a link scanner
        assert scanned.status_code == 200
        confirmed = await client.post(
            "/verify", data={"csrf_token": csrf_of(scanned), "token": token}, headers=HTML
        )
        assert confirmed.status_code == 303
        assert confirmed.headers["location"] == "/tasks?notice=verified"
        landing = await client.get(confirmed.headers["location"], headers=HTML)
        assert "Your email address is confirmed." in landing.text
        account = await client.get("/account", headers=HTML)
        assert "(confirmed)" in account.text
        again = await client.post(
            "/verify", data={"csrf_token": csrf_of(scanned), "token": token}, headers=HTML
        )
        assert again.status_code == 400
        assert "already used" in again.text


async def test_signup_errors_are_shown_beside_the_fields(client: httpx.AsyncClient) -> None:
    email = unique_email("taken")
    await sign_up(client, email, PASSWORD)
    client.cookies.delete("session_id")
    taken = await submit(
        client, "/signup", "/signup", {"email": email, "password": PASSWORD, "full_name": "Bo"}
    )
    assert taken.status_code == 400
    assert_page_headers(taken)
    assert "already exists" in " ".join(read_page(taken.text).errors)
    assert f'value="{email}"' in taken.text
    assert 'value="Bo"' in taken.text
    assert PASSWORD not in taken.text

    invalid = await submit(client, "/signup", "/signup", {"email": "nope", "password": "x"})
    assert invalid.status_code == 422
    assert 'id="email-error"' in invalid.text
    assert "VALIDATION_ERROR" not in invalid.text

    weak = await submit(
        client, "/signup", "/signup", {"email": unique_email("weak"), "password": "short"}
    )
    assert weak.status_code == 422
    assert 'id="password-error"' in weak.text


async def test_wrong_password_and_unknown_email_read_the_same(client: httpx.AsyncClient) -> None:
    email = unique_email("same")
    await sign_up(client, email, PASSWORD)
    client.cookies.delete("session_id")
    wrong = await sign_in(client, email, "wrong password")
    unknown = await sign_in(client, unique_email("nobody"), "wrong password")
    assert wrong.status_code == unknown.status_code == 400
    assert read_page(wrong.text).errors == read_page(unknown.text).errors
    assert read_page(wrong.text).errors == ["The email or password is incorrect."]
    assert f'value="{email}"' in wrong.text
    assert "wrong password" not in wrong.text
    missing = await sign_in(client, "", "")
    assert missing.status_code == 422
    assert 'id="email-error"' in missing.text
    assert 'id="password-error"' in missing.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/account", "/account"),
        ("/account?tab=2", "/account?tab=2"),
        ("//evil.example/x", None),
        ("https://evil.example/", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("account", None),
        ("/a\nb", None),
        ("", None),
        (None, None),
        ("/" + "a" * 600, None),
    ],
)
def test_next_is_followed_only_to_a_path_of_this_site(
    value: str | None, expected: str | None
) -> None:
    assert safe_next(value) == expected


async def test_sign_in_follows_next_and_ignores_an_off_site_one(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email("next")
    await sign_up(client, email, PASSWORD)
    client.cookies.delete("session_id")
    to_login = await client.get("/account", headers=HTML)
    assert to_login.status_code == 303
    assert to_login.headers["location"] == "/login?next=%2Faccount"
    form = await client.get("/login?next=/account", headers=HTML)
    assert 'name="next" value="/account"' in form.text
    followed = await sign_in(client, email, PASSWORD, next_path="/account?from=login")
    assert followed.headers["location"] == "/account?from=login"
    assert (await client.get("/login?next=/account", headers=HTML)).headers[
        "location"
    ] == "/account"
    client.cookies.delete("session_id")
    off_site = await sign_in(client, email, PASSWORD, next_path="//evil.example/")
    assert off_site.status_code == 303
    assert off_site.headers["location"] == "/tasks"
    assert 'name="next"' not in (await client.get("/login?next=//evil.example")).text


async def test_a_post_without_a_valid_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    email = unique_email("csrf")
    for path in ("/signup", "/login", "/forgot-password", "/reset-password", "/verify"):
        refused = await client.post(path, data={"email": email, "password": PASSWORD})
        assert refused.status_code == 403, path
        assert "text/html" in refused.headers["content-type"]
        assert "CSRF" in refused.text
        assert_page_headers(refused)
    form = await client.get("/login", headers=HTML)
    cross_site = await client.post(
        "/login",
        data={"csrf_token": csrf_of(form), "email": email, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    fetch_site = await client.post(
        "/signup",
        data={"csrf_token": csrf_of(form), "email": email, "password": PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert fetch_site.status_code == 403
    other_cookie = await client.post(
        "/login",
        data={"csrf_token": csrf_of(form), "email": email, "password": PASSWORD},
        headers={"Cookie": "gh_form=another-nonce"},
    )
    assert other_cookie.status_code == 403

    await sign_up(client, email, PASSWORD)
    account = await client.get("/account", headers=HTML)
    token = csrf_of(account)
    for action in ("/account/name", "/account/delete", "/logout", "/account/sessions/end-all"):
        refused = await client.post(action, data={"csrf_token": "forged", "password": PASSWORD})
        assert refused.status_code == 403, action
    # A signed-out form's token is no good for a signed-in form, and the reverse.
    assert (
        await client.post("/account/name", data={"csrf_token": csrf_of(form)})
    ).status_code == 403
    assert (await client.get("/account", headers=HTML)).status_code == 200  # still signed in
    saved = await client.post(
        "/account/name", data={"csrf_token": token, "full_name": "Grace"}, headers=HTML
    )
    assert saved.status_code == 303


async def test_forgot_and_reset_by_the_mailed_link(
    app_factory: Callable[..., FastAPI],
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_factory(EMAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
    email = unique_email("reset")
    caplog.set_level(logging.DEBUG)
    async with running(app) as client:
        await sign_up(client, email, PASSWORD)
        other_session = client.cookies["session_id"]
        client.cookies.delete("session_id")
        known = await submit(client, "/forgot-password", "/forgot-password", {"email": email})
        unknown = await submit(
            client, "/forgot-password", "/forgot-password", {"email": unique_email("ghost")}
        )
        assert known.status_code == unknown.status_code == 200
        assert "a reset link is on its way" in known.text
        assert known.text == unknown.text
        await deliver_mail(app)
        resets = [m for m in smtp_server.inbox.to(email) if m["Subject"] == "Reset your password"]
        token = link_token(resets[0], "reset-password")

        form = await client.get(f"/reset-password?token={token}", headers=HTML)
        assert f'name="token" value="{token}"' in form.text
        data = {"csrf_token": csrf_of(form), "token": token}
        mismatch = await client.post(
            "/reset-password",
            data={**data, "new_password": NEW_PASSWORD, "confirm_password": "something else"},
            headers=HTML,
        )
        assert mismatch.status_code == 422
        assert 'id="confirm_password-error"' in mismatch.text
        assert NEW_PASSWORD not in mismatch.text
        weak = await client.post(
            "/reset-password",
            data={**data, "new_password": "short", "confirm_password": "short"},
            headers=HTML,
        )
        assert weak.status_code == 422
        assert 'id="new_password-error"' in weak.text

        done = await client.post(
            "/reset-password",
            data={**data, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
            headers=HTML,
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/login?notice=password-reset"
        assert token not in done.headers["location"]
        notice = await client.get(done.headers["location"], headers=HTML)
        assert "Your password is set" in notice.text

        again = await client.post(
            "/reset-password",
            data={**data, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
            headers=HTML,
        )
        assert again.status_code == 400
        assert 'href="/forgot-password"' in again.text
        assert token not in again.text

        # The other session ended; the new password signs in.
        gone = await client.get("/account", headers={"Cookie": f"session_id={other_session}"})
        assert gone.status_code == 303
        signed_in = await sign_in(client, email, NEW_PASSWORD)
        assert signed_in.headers["location"] == "/tasks"
    for record in caplog.records:
        assert token not in record.getMessage()


async def test_a_reset_or_verify_page_without_a_token_says_the_link_is_invalid(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/reset-password", "/verify"):
        response = await client.get(path, headers=HTML)
        assert response.status_code == 400
        assert "not valid" in response.text


async def test_the_account_page_changes_the_account(client: httpx.AsyncClient) -> None:
    email = unique_email("account")
    await sign_up(client, email, PASSWORD)

    async def post(action: str, **data: str) -> httpx.Response:
        page = await client.get("/account", headers=HTML)
        return await client.post(action, data={"csrf_token": csrf_of(page), **data}, headers=HTML)

    named = await post("/account/name", full_name="Katherine Johnson")
    assert named.headers["location"] == "/account?notice=name-saved"
    assert "Katherine Johnson" in (await client.get("/account", headers=HTML)).text

    new_email = unique_email("moved")
    wrong = await post("/account/email", email=new_email, current_password="wrong password")
    assert wrong.status_code == 400
    assert 'id="email-current_password-error"' in wrong.text
    assert f'value="{new_email}"' in wrong.text
    no_password = await post("/account/email", email=new_email)
    assert no_password.status_code == 422
    assert 'id="email-current_password-error"' in no_password.text
    moved = await post("/account/email", email=new_email, current_password=PASSWORD)
    assert moved.headers["location"] == "/account?notice=email-changed"

    sent = await post("/account/verify")
    assert sent.headers["location"] == "/account?notice=verification-sent"

    bad = await post("/account/password", current_password="wrong password", new_password="x")
    assert bad.status_code == 400
    assert 'id="password-current_password-error"' in bad.text
    empty = await post("/account/password")
    assert empty.status_code == 422
    weak = await post("/account/password", current_password=PASSWORD, new_password="short")
    assert weak.status_code == 422
    assert 'id="password-new_password-error"' in weak.text
    changed = await post("/account/password", current_password=PASSWORD, new_password=NEW_PASSWORD)
    assert changed.headers["location"] == "/account?notice=password-changed"
    assert (await client.get("/account", headers=HTML)).status_code == 200  # this one stays

    missing = await post("/account/sessions/not-a-session/end")
    assert missing.status_code == 404
    assert "already signed out" in missing.text

    no_password = await post("/account/delete")
    assert no_password.status_code == 422
    wrong_password = await post("/account/delete", password=PASSWORD)
    assert wrong_password.status_code == 400
    assert 'id="delete-password-error"' in wrong_password.text
    deleted = await post("/account/delete", password=NEW_PASSWORD)
    assert deleted.headers["location"] == "/login?notice=account-deleted"
    client.cookies.delete("session_id")
    assert (await sign_in(client, new_email, NEW_PASSWORD)).status_code == 400


async def test_sessions_are_listed_and_signed_out_from_the_account_page(
    app: FastAPI,
) -> None:
    email = unique_email("sessions")
    async with running(app) as first, running(app) as second:
        await sign_up(first, email, PASSWORD)
        second.headers["User-Agent"] = "Second Browser/1.0"
        assert (await sign_in(second, email, PASSWORD)).status_code == 303
        page = await first.get("/account", headers=HTML)
        assert "Second Browser/1.0" in page.text
        assert page.text.count("This device") == 1
        sessions = list(page.text.split('data-session="')[1:])
        other = next(item.split('"')[0] for item in sessions if "Second Browser" in item)
        ended = await first.post(
            f"/account/sessions/{other}/end", data={"csrf_token": csrf_of(page)}, headers=HTML
        )
        assert ended.headers["location"] == "/account?notice=session-ended"
        assert (await second.get("/account", headers=HTML)).status_code == 303

        assert (await sign_in(second, email, PASSWORD)).status_code == 303
        second_page = await second.get("/account", headers=HTML)
        (own,) = [
            item.split('"')[0]
            for item in second_page.text.split('data-session="')[1:]
            if "This device" in item.split("</li>")[0]
        ]
        itself = await second.post(
            f"/account/sessions/{own}/end",
            data={"csrf_token": csrf_of(second_page)},
            headers=HTML,
        )
        assert itself.headers["location"] == "/login?notice=signed-out"

        everywhere = await first.post(
            "/account/sessions/end-all", data={"csrf_token": csrf_of(page)}, headers=HTML
        )
        assert everywhere.headers["location"] == "/login?notice=signed-out-everywhere"
        assert (await first.get("/account", headers=HTML)).status_code == 303


async def test_sign_out_ends_the_session(client: httpx.AsyncClient) -> None:
    await sign_up(client, unique_email("out"), PASSWORD)
    page = await client.get("/account", headers=HTML)
    cookie = client.cookies["session_id"]
    out = await client.post("/logout", data={"csrf_token": csrf_of(page)}, headers=HTML)
    assert out.status_code == 303
    assert out.headers["location"] == "/login?notice=signed-out"
    assert (
        await client.get("/account", headers={"Cookie": f"session_id={cookie}"})
    ).status_code == 303
    assert (await client.post("/logout", data={})).headers["location"] == "/login"
    assert (await client.post("/account/name", data={})).headers["location"].startswith("/login")
    assert (await client.get("/signup", headers=HTML)).status_code == 200


async def test_signed_in_visitors_skip_the_sign_in_and_up_pages(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client, unique_email("skip"), PASSWORD)
    assert (await client.get("/signup")).headers["location"] == "/tasks"
    assert (await client.get("/login")).headers["location"] == "/tasks"


async def test_rate_limits_say_how_long_to_wait(app_factory: Callable[..., FastAPI]) -> None:
    app = app_factory(RATE_LIMIT_ENABLED=True, RATE_LIMIT_LOGIN="2/minute")
    email = unique_email("limited")
    async with running(app) as client:
        await sign_up(client, email, PASSWORD)
        client.cookies.delete("session_id")
        answers = [await sign_in(client, email, "wrong password") for _ in range(3)]
        assert [a.status_code for a in answers] == [400, 400, 429]
        assert "Try again in" in answers[-1].text
        assert "second" in read_page(answers[-1].text).errors[0]
