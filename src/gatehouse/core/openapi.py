"""OpenAPI helpers: the error envelope's schema, error responses and stable operation ids."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from gatehouse.core.errors import AppError, PayloadTooLarge, ValidationFailed


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


def input_guard_responses() -> dict[int | str, dict[str, Any]]:
    """`responses=` for the whole app: what the input guard (core/middleware.py) answers on
    any route before the route runs: 413 for a body over MAX_BODY_BYTES, 422 for a control
    character or text that is not UTF-8 in the query string or the body."""
    return error_responses(PayloadTooLarge, ValidationFailed)


def install_error_media_type(app: FastAPI) -> None:
    """Publish every error body as `application/json`, the envelope's media type, also on
    a route whose success is another type (`/metrics` answers `text/plain`): FastAPI puts
    a route's `responses=` models under the route's own media type."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    for status, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if status[:1] in ("4", "5") and content:
                            media = next(iter(content.values()))
                            response["content"] = {"application/json": media}
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def operation_id(route: APIRoute) -> str:
    """Stable ids (`auth-login`) so generated clients and docs don't churn."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"
