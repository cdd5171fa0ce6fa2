"""One error type for every failure the API reports, parsed from its envelope."""

from __future__ import annotations

from typing import Any

import httpx


class ApiError(Exception):
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
        return cls(
            response.status_code,
            code,
            message,
            request_id=request_id,
            details=details,
            retry_after=retry_after_seconds(response),
        )


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
