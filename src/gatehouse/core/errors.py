"""Domain errors and the one place that turns every failure into the error envelope."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gatehouse.core.middleware import request_id_of, security_headers

logger = logging.getLogger("gatehouse.errors")


class AppError(Exception):
    """A failure the client is told about: a stable code, a status and a message."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500
    message: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail_message = message or self.message
        self.details = dict(details or {})
        self.headers = dict(headers or {})
        super().__init__(self.detail_message)


class NotAuthenticated(AppError):
    code = "NOT_AUTHENTICATED"
    status = 401
    message = "Not authenticated"


class InvalidToken(AppError):
    code = "INVALID_TOKEN"
    status = 401
    message = "Invalid token"


class TokenExpired(AppError):
    code = "TOKEN_EXPIRED"
    status = 401
    message = "Token has expired"


class Forbidden(AppError):
    code = "FORBIDDEN"
    status = 403
    message = "You do not have permission to do this"


class NotFound(AppError):
    code = "NOT_FOUND"
    status = 404
    message = "Not found"


class ServiceUnavailable(AppError):
    code = "SERVICE_UNAVAILABLE"
    status = 503
    message = "Service unavailable"


HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "NOT_AUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


def error_response(
    request: Request,
    *,
    status: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The envelope for one failure; used by every handler below."""
    request_id = request_id_of(request.scope)
    body = {
        "error": {
            "code": code,
            "message": message,
            "path": request.url.path,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "request_id": request_id,
            "details": dict(details or {}),
        }
    }
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, status_code=status, headers=all_headers)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(AppError, exc)  # registered for AppError only
    return error_response(
        request,
        status=exc.status,
        code=exc.code,
        message=exc.detail_message,
        details=exc.details,
        headers=exc.headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(RequestValidationError, exc)
    fields = [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in exc.errors()
    ]
    return error_response(
        request,
        status=422,
        code="VALIDATION_ERROR",
        message="The request is not valid",
        details={"fields": fields},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(StarletteHTTPException, exc)
    code = HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    message = exc.detail if isinstance(exc.detail, str) else "Request failed"
    return error_response(
        request,
        status=exc.status_code,
        code=code,
        message=message,
        headers=exc.headers,
    )


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    # Runs in Starlette's outermost middleware, outside ours: add our headers here.
    logger.error(
        "unhandled error on %s %s (request %s): %s",
        request.method,
        request.url.path,
        request_id_of(request.scope),
        type(exc).__name__,
        exc_info=exc,
    )
    response = error_response(
        request, status=500, code="INTERNAL_ERROR", message="Internal server error"
    )
    response.headers["X-Request-ID"] = request_id_of(request.scope)
    for name, value in security_headers(request.scope):
        response.headers[name.decode()] = value.decode()
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure to the error envelope (described in docs/api.md)."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled_error)
