"""Known devices: a client that has signed in as an account keeps an allowance of its own.

A successful login hands the client a device token, `<device id>.<user id>.<signature>`:
a random id, the account's id (hex) and an HMAC-SHA256 of both under a key derived from
SECRET_KEY. The JSON API returns it in the `X-Device-Token` header; the browser API sets
it as the `gh_device` cookie. A login or reset request that presents a genuine token of
the account it names is counted per account and device, apart from the counters that
strangers' guesses fill, so brute force never locks the owner's own clients out.

A device token is not a credential: it opens nothing, and a forged one, or one issued to
another account, simply counts as an unknown client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Cookie, Depends, Header, Response

from gatehouse.core.config import Settings

DEVICE_HEADER = "X-Device-Token"
DEVICE_COOKIE = "gh_device"
DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest lifetime browsers keep a cookie
_MAX_TOKEN_LENGTH = 200
_KEY_PURPOSE = b"gatehouse device token"


@dataclass(frozen=True, slots=True)
class DeviceClaim:
    """What a genuine device token says: its device id and the account it was issued to."""

    device_id: str
    user_id: uuid.UUID


class DeviceTokens:
    """Issues and checks device tokens."""

    def __init__(self, secret_key: str) -> None:
        # A key of its own, derived from SECRET_KEY, so no other signature can pass for one.
        self._key = hmac.new(secret_key.encode("utf-8"), _KEY_PURPOSE, hashlib.sha256).digest()

    @classmethod
    def from_settings(cls, settings: Settings) -> DeviceTokens:
        return cls(settings.secret_key)

    def _signature(self, device_id: str, user_hex: str) -> str:
        mac = hmac.new(self._key, f"{device_id}.{user_hex}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def issue(self, user_id: uuid.UUID) -> str:
        """A new device token for `user_id`."""
        device_id = secrets.token_urlsafe(16)
        return f"{device_id}.{user_id.hex}.{self._signature(device_id, user_id.hex)}"

    def read(self, token: str | None) -> DeviceClaim | None:
        """The claim of a genuine token; None for anything else (absent, malformed, forged)."""
        if not token or len(token) > _MAX_TOKEN_LENGTH or not token.isascii():
            return None
        parts = token.split(".")
        if len(parts) != 3 or not all(parts):
            return None
        device_id, user_hex, signature = parts
        if not hmac.compare_digest(self._signature(device_id, user_hex), signature):
            return None
        try:
            user_id = uuid.UUID(hex=user_hex)
        except ValueError:
            return None
        return DeviceClaim(device_id=device_id, user_id=user_id)

    def device_of(self, token: str | None, user_id: uuid.UUID) -> str | None:
        """The device id of `token` when it is genuine and was issued to `user_id`."""
        claim = self.read(token)
        return claim.device_id if claim is not None and claim.user_id == user_id else None

    def renew(self, token: str | None, user_id: uuid.UUID) -> str:
        """The token to hand back after a successful login: the presented one when it is
        this account's (the device keeps its id), otherwise a new one."""
        if token is not None and self.device_of(token, user_id) is not None:
            return token
        return self.issue(user_id)


async def presented_device_token(
    header: Annotated[
        str | None,
        Header(
            alias=DEVICE_HEADER,
            description="The device token of an earlier login: a separate login allowance.",
        ),
    ] = None,
    cookie: Annotated[
        str | None,
        Cookie(
            alias=DEVICE_COOKIE,
            description="The browser's device token: a separate login allowance.",
        ),
    ] = None,
) -> str | None:
    """The device token a request presents: the `X-Device-Token` header, else the cookie."""
    return header or cookie


DeviceTokenDep = Annotated[str | None, Depends(presented_device_token)]


def set_device_cookie(response: Response, token: str, *, settings: Settings) -> None:
    """Remember the device in the browser: HttpOnly, SameSite=Lax, Secure outside
    development, for every path, as long as browsers keep a cookie."""
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=DEVICE_COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=not settings.is_development,
    )
