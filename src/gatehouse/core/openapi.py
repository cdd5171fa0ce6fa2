"""OpenAPI helpers: the error envelope's schema and stable operation ids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

_DEFAULT_CODES = {
    400: "BAD_REQUEST",
    401: "NOT_AUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


class ErrorBody(BaseModel):
    code: str = Field(examples=["INVALID_CREDENTIALS"])
    message: str
    path: str
    timestamp: str
    request_id: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorEnvelope(BaseModel):
    """Every non-2xx answer has this body."""

    error: ErrorBody


def error_responses(
    *statuses: int, codes: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the envelope, with the code each status carries."""
    codes = {**_DEFAULT_CODES, **(codes or {})}
    return {
        status: {"model": ErrorEnvelope, "description": f"`{codes.get(status, 'ERROR')}`"}
        for status in statuses
    }


def operation_id(route: APIRoute) -> str:
    """Stable ids (`auth-login`) so generated clients and docs don't churn."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"
