"""What the HTML pages need around a form: CSRF tokens, the `next` rule, field errors.

Signed-in forms carry a token bound to the browser session (an HMAC of its id); the
signed-out forms (sign-up, sign-in, forgot, reset, verify) carry a token bound to a random
nonce in the short-lived `gh_form` cookie (an HMAC of the nonce and the time it was issued),
the double-submit pattern with a signed token. Both keys are derived from SECRET_KEY for
this purpose alone, so no other signature of the service can pass for one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

FORM_COOKIE = "gh_form"
FORM_COOKIE_MAX_AGE = 2 * 60 * 60  # seconds a signed-out form stays good
_KEY_PURPOSE = b"gatehouse page form tokens v1"
NEXT_MAX_LENGTH = 512


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class FormTokens:
    """Issues and checks the CSRF tokens of the pages."""

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode("utf-8"), _KEY_PURPOSE, hashlib.sha256).digest()

    def _mac(self, message: str) -> str:
        return _b64(hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).digest())

    def for_session(self, session_id: uuid.UUID) -> str:
        """The token of the forms of a signed-in page: bound to the browser session."""
        return self._mac(f"session:{session_id.hex}")

    def session_token_ok(self, token: str, session_id: uuid.UUID) -> bool:
        return hmac.compare_digest(token.encode(), self.for_session(session_id).encode())

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(24)

    def for_visitor(self, nonce: str, *, issued: int) -> str:
        """The token of a signed-out form: bound to the `gh_form` cookie's nonce and the time
        (Unix seconds) the form was issued."""
        return f"{issued}.{self._mac(f'visitor:{nonce}:{issued}')}"

    def visitor_token_ok(self, token: str, nonce: str, *, now: int) -> bool:
        issued_text, _, _ = token.partition(".")
        if not nonce or not issued_text.isdigit() or len(issued_text) > 12:
            return False
        issued = int(issued_text)
        if not 0 <= now - issued <= FORM_COOKIE_MAX_AGE:
            return False
        expected = self.for_visitor(nonce, issued=issued)
        return hmac.compare_digest(token.encode(), expected.encode())


def safe_next(value: str | None) -> str | None:
    """`value` when it is a path on this site (one leading `/`, no scheme, no host, no
    backslash, no control character); otherwise None."""
    if not value or len(value) > NEXT_MAX_LENGTH or not value.startswith("/"):
        return None
    if (
        value.startswith("//")
        or "\\" in value
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    ):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def field_errors(error: ValidationError, names: Mapping[str, str] | None = None) -> dict[str, str]:
    """One message per form field from a Pydantic error (`names` renames schema fields)."""
    found: dict[str, str] = {}
    for item in error.errors():
        loc: Sequence[Any] = item.get("loc", ())
        field = str(loc[0]) if loc else "form"
        field = (names or {}).get(field, field)
        message = str(item.get("msg", "Invalid value"))
        if item.get("type") == "value_error" and message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        found.setdefault(field, _readable(message))
    return found


def _readable(message: str) -> str:
    if "valid email" in message:
        return "Enter a valid email address."
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
