"""The SDK's errors: one base, `GatehouseError`, for everything a call can raise.

- `ApiError`: the server answered with a non-2xx status (parsed from its envelope).
- `TransportError`: no answer came: `GatehouseConnectionError` (also a `ConnectionError`)
  when the connection failed or broke, `GatehouseTimeout` (also a `TimeoutError`) when
  it took too long. The httpx exception is kept as `__cause__`.
  `MfaRequired` is the `ApiError` of a right password for an account with a second
  factor (401 MFA_REQUIRED): it carries the `mfa_token` and the `methods` it accepts.
- `TokenRejected` (raised by the verifier): an access token that must not be accepted.
"""

from __future__ import annotations

from typing import Any

import httpx


class GatehouseError(Exception):
    """Anything the SDK raises."""


class ApiError(GatehouseError):
    """A non-2xx answer: the HTTP status, the envelope's code and message, the request id."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        request_id: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.details = details or {}
        self.retry_after = retry_after

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        request_id = response.headers.get("x-request-id")
        try:
            error = response.json()["error"]
            code, message = str(error["code"]), str(error["message"])
            details = error.get("details") or {}
            request_id = error.get("request_id") or request_id
        except (ValueError, KeyError, TypeError):
            code, message, details = f"HTTP_{response.status_code}", response.text[:200], {}
        kind = MfaRequired if code == MfaRequired.CODE else cls
        return kind(
            response.status_code,
            code,
            message,
            request_id=request_id,
            details=details,
            retry_after=retry_after_seconds(response),
        )


class MfaRequired(ApiError):
    """The password was right, and the account has a second factor: finish the login with
    `client.verify_mfa(code)` (a TOTP or recovery code) within 5 minutes. `mfa_token`
    works once; `methods` are the kinds of code it accepts."""

    CODE = "MFA_REQUIRED"

    @property
    def mfa_token(self) -> str:
        return str(self.details.get("mfa_token", ""))

    @property
    def methods(self) -> list[str]:
        methods = self.details.get("methods")
        return [str(method) for method in methods] if isinstance(methods, list) else []


class TransportError(GatehouseError):
    """The request got no answer (after any retries)."""

    def __init__(self, method: str, path: str, reason: str) -> None:
        super().__init__(f"{method} {path}: {reason}")
        self.method = method
        self.path = path
        self.reason = reason


class GatehouseConnectionError(TransportError, ConnectionError):
    """The connection could not be made, or broke before the answer."""


class GatehouseTimeout(TransportError, TimeoutError):
    """Connecting, sending or reading took longer than the client's timeout."""


class TokenRejected(GatehouseError):
    """An access token the verifier refuses: `code` is INVALID_TOKEN or TOKEN_EXPIRED."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def transport_error(method: str, path: str, exc: httpx.TransportError) -> TransportError:
    """The SDK's error for an httpx transport failure (a timeout or a connection problem)."""
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return GatehouseTimeout(method, path, reason)
    return GatehouseConnectionError(method, path, reason)


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
