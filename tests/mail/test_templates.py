"""What a user typed (their name) in a mail: escaped in HTML, cut in both parts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from gatehouse.mail import service as mail_service
from tests.helpers import deliver_mail, register, running
from tests.smtp import SmtpServer

SCRIPT_NAME = '<script>alert("hi")</script> & <b>Ann</b>'
CONTEXTS: dict[mail_service.Template, dict[str, Any]] = {
    "verify_email": {"link": "http://x/verify?token=t", "ttl_minutes": 30},
    "reset_password": {"link": "http://x/reset-password?token=t", "ttl_minutes": 30},
    "password_changed": {"reset_url": "http://x/reset-password"},
    "email_changed": {"reset_url": "http://x/reset-password", "new_email": "new@example.com"},
    "invitation": {"link": "http://x/reset-password?token=t", "ttl_minutes": 30},
    "welcome": {"login_url": "http://x/login"},
}


def test_every_template_is_checked_here() -> None:
    assert set(CONTEXTS) == set(mail_service.SUBJECTS)


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_a_name_with_markup_is_escaped_in_html(template: mail_service.Template) -> None:
    _, text, html = mail_service.render(template, {**CONTEXTS[template], "name": SCRIPT_NAME})
    assert "<script>" not in html
    assert "<b>" not in html
    assert "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt; &amp; &lt;b&gt;Ann&lt;/b&gt;" in html
    assert SCRIPT_NAME in text  # plain text shows what was typed


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_a_long_name_is_cut_to_100_characters_in_both_parts(
    template: mail_service.Template,
) -> None:
    name = "".join(chr(ord("a") + index % 26) for index in range(300))
    _, text, html = mail_service.render(template, {**CONTEXTS[template], "name": name})
    for part in (text, html):
        assert f"Hello {name[:100]}," in part
        assert name[:101] not in part


def test_no_name_no_greeting_name() -> None:
    _, text, html = mail_service.render(
        "password_changed", {**CONTEXTS["password_changed"], "name": None}
    )
    assert text.startswith("Hello,")
    assert html.startswith("<p>Hello,</p>")


async def test_a_registered_name_reaches_the_mail_escaped_and_cut(
    app_factory: Callable[..., FastAPI], smtp_server: SmtpServer
) -> None:
    app = app_factory(EMAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port)
    full_name = "<script>x</script>" + "n" * 150
    async with running(app) as client:
        user = await register(client, full_name=full_name)
        assert await deliver_mail(app) == 1
    (message,) = smtp_server.inbox.to(user["email"])
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert f"Hello {full_name[:100]}," in text.get_content()
    assert full_name[:101] not in text.get_content()
    html_content = html.get_content()
    assert "<script>" not in html_content
    assert "Hello &lt;script&gt;x&lt;/script&gt;" + "n" * 82 + ",</p>" in html_content
