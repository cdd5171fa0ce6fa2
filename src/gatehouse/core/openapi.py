"""OpenAPI helpers: the error envelope's schema, error responses and stable operation ids."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from gatehouse.core.errors import AppError


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


def error_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route, derived from the errors it can raise: the envelope under
    each status, with the codes that status carries (`401`: `INVALID_CREDENTIALS`)."""
    codes: dict[int, list[str]] = {}
    for error in errors:
        listed = codes.setdefault(error.status, [])
        if error.code not in listed:
            listed.append(error.code)
    return {
        status: {
            "model": ErrorEnvelope,
            "description": ", ".join(f"`{code}`" for code in codes[status]),
        }
        for status in sorted(codes)
    }


def operation_id(route: APIRoute) -> str:
    """Stable ids (`auth-login`) so generated clients and docs don't churn."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"
