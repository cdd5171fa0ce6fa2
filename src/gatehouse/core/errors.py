"""Domain errors and the one place that turns every failure into the error envelope."""

from __future__ import annotations

import logging
import math
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from gatehouse.core.middleware import request_id_of, security_headers

logger = logging.getLogger(__name__)


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


class BadRequest(AppError):
    code = "BAD_REQUEST"
    status = 400
    message = "Bad request"


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


class MethodNotAllowed(AppError):
    code = "METHOD_NOT_ALLOWED"
    status = 405
    message = "Method not allowed"


class Conflict(AppError):
    code = "CONFLICT"
    status = 409
    message = "Conflict"


class PayloadTooLarge(AppError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413
    message = "The request body is too large"


class UnsupportedMediaType(AppError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415
    message = "Unsupported media type"


class ValidationFailed(AppError):
    """A request that does not match its schema (also raised by rules such as the password
    policy, so every invalid field answers alike)."""

    code = "VALIDATION_ERROR"
    status = 422
    message = "The request is not valid"


class RateLimited(AppError):
    code = "RATE_LIMITED"
    status = 429
    message = "Too many requests; try again later"

    def __init__(self, *, retry_after: float, limit: int | None = None) -> None:
        seconds = max(1, math.ceil(retry_after))
        headers = {"Retry-After": str(seconds), "RateLimit-Reset": str(seconds)}
        if limit is not None:
            headers["RateLimit-Limit"] = str(limit)
            headers["RateLimit-Remaining"] = "0"
        super().__init__(details={"retry_after": seconds}, headers=headers)


class ServiceUnavailable(AppError):
    code = "SERVICE_UNAVAILABLE"
    status = 503
    message = "Service unavailable"


# The one status -> code table, for failures that carry only a status (routing's 404 and
# 405, Starlette's HTTPException) and for the generic rows of the OpenAPI document.
GENERIC_ERRORS: tuple[type[AppError], ...] = (
    BadRequest,
    NotAuthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    RateLimited,
    ServiceUnavailable,
)
HTTP_CODES: dict[int, str] = {error.status: error.code for error in GENERIC_ERRORS}


# Failures to reach the database (or to get a connection from the pool in time): the
# service is there but cannot answer now, so 503, never a 500. SQLAlchemy wraps the
# driver's errors (OperationalError, InterfaceError, or a DBAPIError that invalidated its
# connection); a refused or timed-out connect can come through as the socket's own error.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
)


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached (rather than a bug)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, DATABASE_UNAVAILABLE)


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
        status=ValidationFailed.status,
        code=ValidationFailed.code,
        message=ValidationFailed.message,
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


def _unavailable_response(request: Request, exc: Exception) -> JSONResponse:
    # Only the type: a driver's message may quote the statement or the server's address.
    logger.warning("unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return error_response(
        request,
        status=ServiceUnavailable.status,
        code=ServiceUnavailable.code,
        message="Service unavailable: the database cannot be reached; try again shortly",
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return _unavailable_response(request, exc)


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    # Runs in Starlette's outermost middleware, outside ours: add our headers here.
    # Raised in a middleware, or a DBAPIError of another kind that lost its connection.
    if is_unavailable(exc):
        response = _unavailable_response(request, exc)
    else:
        response = _internal_error(request, exc)
    response.headers["X-Request-ID"] = request_id_of(request.scope)
    for name, value in security_headers(request.scope):
        response.headers[name.decode()] = value.decode()
    return response


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error(
        "unhandled error on %s %s (request %s): %s",
        request.method,
        request.url.path,
        request_id_of(request.scope),
        type(exc).__name__,
        exc_info=exc,
    )
    return error_response(
        request, status=500, code="INTERNAL_ERROR", message="Internal server error"
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure to the error envelope (described in docs/api.md)."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(Exception, _unhandled_error)
