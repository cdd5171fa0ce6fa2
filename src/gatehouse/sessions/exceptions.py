"""Errors of the sessions domain."""

from gatehouse.core.errors import AppError


class SessionNotFound(AppError):
    """Also the answer for another user's session, or one that has ended."""

    code = "NOT_FOUND"
    status = 404
    message = "Session not found"
